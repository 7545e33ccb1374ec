import Foundation
import GGUF

extension ModelStore {
    /// Downloads a GGUF file over HTTP(S) and registers it under `name`.
    ///
    /// Bytes go to `partial/<name>/data`; an interrupted download (connection cut, Ctrl-C, kill -9)
    /// resumes with `Range: bytes=N-` on the next call, and connection drops are retried
    /// `retries` times within this call. The file is registered only after it parses as GGUF and,
    /// when `sha256` is given, its digest matches.
    ///
    /// - Parameters:
    ///   - name: `model` or `model:tag`; defaults to the file name without `.gguf`; no tag means `:latest`.
    ///   - sha256: expected digest (hex, optionally `sha256:`-prefixed).
    ///   - retries: how many times a dropped connection is resumed within this call (an attempt that
    ///     made progress resets the count to one); 0 fails on the first drop, leaving the bytes for the next pull.
    public func pull(url: String, name: String? = nil, sha256: String? = nil, force: Bool = false, retries: Int = 3,
                     progress: (PullProgress) -> Void = { _ in }) async throws(StoreError) -> PullResult {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased() else { throw .badURL(url) }
        guard scheme == "http" || scheme == "https" else { throw .unsupportedScheme(url: url, scheme: scheme) }
        guard parsed.host != nil else { throw .badURL(url) }
        try checkRoot()
        let expected = try sha256.map { (s) throws(StoreError) in try Digest.normalize(s) }
        var modelName = name ?? Self.stem(of: parsed)
        try ModelName.validate(modelName)
        if !ModelName.hasTag(modelName) { modelName += ":\(ModelName.defaultTag)" }
        if !force, let present = try present(modelName) { return present }
        // The promised bytes are already stored: register without downloading.
        if !force, let expected, let result = try registerExisting(sha256: expected, name: modelName, source: url) {
            return result
        }

        var snapshot = PullProgress(name: modelName, phase: .resuming, part: 1, partCount: 1, partLabel: url,
                                    partCompleted: 0, partTotal: nil, completed: 0, total: nil)
        let partial = try PartialPull(directory: partialPath(modelName), name: modelName, source: "url:\(url)",
                                      keepUncommitted: true) { done, total in
            snapshot.partCompleted = done
            snapshot.completed = done
            snapshot.partTotal = total
            progress(snapshot)
        }
        snapshot.phase = .downloading
        do {
            try await download(parsed, into: partial, retries: retries, snapshot: &snapshot, progress: progress)
        } catch {
            // Nothing worth resuming: leave no empty partial directory behind.
            if partial.length == 0 { partial.discard() }
            throw error
        }
        snapshot.phase = .verifying
        progress(snapshot)
        let (architecture, quantization) = try Self.describeGGUF(at: partial.dataPath, source: url, partial: partial)
        let manifest = ModelManifest(name: modelName, digest: "", size: partial.length, source: url, pulledAt: ModelManifest.now(),
                                     architecture: architecture, quantization: quantization)
        return try register(partial, expectedSize: nil, expectedSHA256: expected, manifest: manifest) {
            snapshot.phase = .done
            progress(snapshot)
        }
    }

    /// Runs GETs until the body is complete, resuming after drops (see `retries` on the caller).
    private func download(_ parsed: URL, into partial: PartialPull, retries: Int, snapshot: inout PullProgress,
                          progress: (PullProgress) -> Void) async throws(StoreError) {
        let url = parsed.absoluteString
        var failures = 0
        while true {
            let lengthBefore = partial.length
            let transfer = HTTPTransfer(url: parsed, partial: partial)
            transfer.start(timeout: 60)
            var status = transfer.status
            while status.outcome == nil {
                if Task.isCancelled {
                    transfer.cancel()
                    throw .cancelled(name: snapshot.name)
                }
                snapshot.partCompleted = status.length
                snapshot.completed = status.length
                snapshot.partTotal = status.total
                snapshot.total = status.total
                progress(snapshot)
                try? await Task.sleep(nanoseconds: 100_000_000)
                status = transfer.status
            }
            snapshot.total = status.total ?? snapshot.total
            let dropped: String
            switch status.outcome {
            case .finished?, nil:
                guard let total = status.total, partial.length != total else { return }
                dropped = "connection closed after \(partial.length) of \(total) bytes"
            case let .rangeNotSatisfiable(total)?:
                // The partial file already holds the whole body (killed just before registering).
                if let total, total == partial.length, total > 0 { return }
                try partial.reset(etag: nil)
                dropped = "the server refused to resume (HTTP 416)"
            case let .transport(reason)?:
                dropped = reason
            case let .failed(error)?:
                throw error
            }
            try? partial.commit(parts: 0)
            // An attempt that made progress counts once; only attempts stuck at one offset add up.
            failures = partial.length > lengthBefore ? 1 : failures + 1
            if failures > retries { throw .download(url: url, reason: dropped) }
            try? await Task.sleep(nanoseconds: UInt64(200_000_000 * failures))
        }
    }

    /// Registers `name` for an already-stored blob with this digest, if there is one.
    private func registerExisting(sha256: String, name: String, source: String) throws(StoreError) -> PullResult? {
        let blob = blobPath(sha256: sha256)
        guard let size = FileSystem.fileSize(blob), let file = try? GGUFFile(path: blob) else { return nil }
        let manifest = ModelManifest(name: name, digest: "sha256:\(sha256)", size: size, source: source, pulledAt: ModelManifest.now(),
                                     architecture: file.architecture ?? "unknown", quantization: GGUFFileType.name(of: file))
        try writeManifest(manifest)
        return PullResult(manifest: manifest, path: blob, alreadyPresent: false)
    }

    /// Architecture and quantization from the downloaded file's metadata; a file that is not GGUF
    /// is discarded instead of registered.
    private static func describeGGUF(at path: String, source: String, partial: PartialPull) throws(StoreError) -> (String, String) {
        do {
            let file = try GGUFFile(path: path)
            return (file.architecture ?? "unknown", GGUFFileType.name(of: file))
        } catch {
            partial.discard()
            throw .notGGUF(source: source, reason: error.description)
        }
    }

    /// `https://host/dir/Model-Q4.gguf?x=1` → `Model-Q4`.
    static func stem(of url: URL) -> String {
        var file = url.lastPathComponent
        if file.lowercased().hasSuffix(".gguf") { file.removeLast(".gguf".count) }
        return file
    }
}
