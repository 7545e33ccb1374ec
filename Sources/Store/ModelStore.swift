import Foundation

/// The local model store: a content-addressed directory of GGUF blobs plus one small JSON manifest
/// per model name.
///
/// Layout under ``root``:
/// - `blobs/sha256-<hex>`: the GGUF files, named by their sha256.
/// - `manifests/<model:tag>.json`: ``ModelManifest`` records.
/// - `partial/<model:tag>/`: resumable state of an unfinished pull (never read by ``resolve(_:)``).
///
/// Blobs and manifests appear only through fsync + rename, so a crash or Ctrl-C at any point leaves
/// either a fully registered model or none.
public struct ModelStore: Sendable {
    /// Directory holding `blobs/`, `manifests/` and `partial/`.
    public let root: String

    /// Environment variable that overrides the default store location.
    public static let rootEnvironmentVariable = "SWIFTLM_MODELS"

    /// - Parameter root: the store directory; `nil` means `$SWIFTLM_MODELS`, else `~/.swiftlm/models`.
    public init(root: String? = nil) {
        self.root = root ?? ModelStore.defaultRoot
    }

    /// Fails when ``root`` exists but is not a directory (SWIFTLM_MODELS pointing at a file), which
    /// would otherwise look like an empty store or fail later with a confusing I/O error.
    public func checkRoot() throws(StoreError) {
        guard FileSystem.exists(root), !FileSystem.isDirectory(root) else { return }
        let env = ProcessInfo.processInfo.environment[Self.rootEnvironmentVariable] ?? ""
        throw .rootNotDirectory(path: root, fromEnvironment: !env.isEmpty && Self.expandTilde(env) == root)
    }

    /// `$SWIFTLM_MODELS` when set and non-empty, else `~/.swiftlm/models`.
    public static var defaultRoot: String {
        let env = ProcessInfo.processInfo.environment
        if let custom = env[rootEnvironmentVariable], !custom.isEmpty { return expandTilde(custom) }
        let home = env["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.swiftlm/models"
    }

    var blobsDirectory: String { root + "/blobs" }
    var manifestsDirectory: String { root + "/manifests" }
    var partialDirectory: String { root + "/partial" }

    /// Where the blob with this sha256 (lowercase hex) lives, whether or not it exists yet.
    public func blobPath(sha256: String) -> String { "\(blobsDirectory)/sha256-\(sha256)" }

    func manifestPath(_ name: String) -> String { "\(manifestsDirectory)/\(name).json" }

    /// Turns what a user typed into the stored `model:tag` name: an explicit tag is kept; without
    /// one, a pulled `name:latest` wins, then the catalog's single entry for that model, else `:latest`.
    public func canonicalName(_ name: String) throws(StoreError) -> String {
        try ModelName.validate(name)
        if ModelName.hasTag(name) { return name }
        let latest = "\(name):\(ModelName.defaultTag)"
        if FileSystem.exists(manifestPath(latest)) { return latest }
        if let catalogName = ModelName.catalogDefault(for: name) { return catalogName }
        return latest
    }

    /// The manifest registered under `name` (already canonical), or nil when there is none.
    func manifest(canonical name: String) throws(StoreError) -> ModelManifest? {
        let path = manifestPath(name)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try ModelManifest.decode(data, path: path)
    }

    /// The manifest of a pulled model, or nil when `name` is not in the store.
    public func manifest(named name: String) throws(StoreError) -> ModelManifest? {
        try manifest(canonical: canonicalName(name))
    }

    /// Whether `name` is registered and its blob is present with the recorded size.
    public func isPulled(_ name: String) -> Bool {
        guard let m = try? manifest(named: name) else { return false }
        return isIntact(m)
    }

    /// Whether the manifest's blob is there with the recorded size (a cheap check: the sha256 was
    /// verified when the blob was stored, and re-hashing gigabytes on every `list` is not).
    public func isIntact(_ manifest: ModelManifest) -> Bool {
        FileSystem.fileSize(blobPath(sha256: manifest.sha256)) == manifest.size
    }

    /// Every readable manifest, most recently pulled first (as `ollama list`), then by name.
    /// Unreadable manifests are left out rather than failing the whole listing; `rm` still removes
    /// them by name.
    public func list() -> [ModelManifest] {
        FileSystem.directoryEntries(manifestsDirectory)
            .filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
            .compactMap { file -> ModelManifest? in
                let path = "\(manifestsDirectory)/\(file)"
                guard let data = FileManager.default.contents(atPath: path) else { return nil }
                return try? ModelManifest.decode(data, path: path)
            }
            .sorted { ($0.pulledAt, $1.name) > ($1.pulledAt, $0.name) }
    }

    /// Registers `source`'s model under the new name `destination` too, as `ollama cp` does: the
    /// blob is shared (content addressed), only a manifest is written.
    /// - Throws: ``StoreError/notInStore(name:)`` for an unknown source,
    ///   ``StoreError/alreadyExists(name:)`` when `destination` is taken.
    @discardableResult
    public func copy(_ source: String, to destination: String) throws(StoreError) -> ModelManifest {
        try checkRoot()
        let from = try canonicalName(source)
        guard var manifest = try self.manifest(canonical: from) else { throw .notInStore(name: source) }
        guard isIntact(manifest) else { throw .missingBlob(name: from, path: blobPath(sha256: manifest.sha256)) }
        try ModelName.validate(destination)
        let to = ModelName.hasTag(destination) ? destination : "\(destination):\(ModelName.defaultTag)"
        guard !FileSystem.exists(manifestPath(to)) else { throw .alreadyExists(name: to) }
        manifest.name = to
        manifest.pulledAt = ModelManifest.now()
        try writeManifest(manifest)
        return manifest
    }

    /// The path of a GGUF file for a model name or a file path, for every command that loads a model.
    ///
    /// - Anything containing "/" or ending in ".gguf" is a file path, returned as is if it exists.
    /// - A pulled model name returns its blob path.
    /// - A catalog name not pulled yet throws ``StoreError/notPulled(name:)`` (call ``pull(_:force:progress:)``).
    /// - Anything else throws ``StoreError/unknownModel(name:available:)`` listing the usable names.
    public func resolve(_ nameOrPath: String) throws(StoreError) -> String {
        if ModelName.isPath(nameOrPath) {
            let path = ModelStore.expandTilde(nameOrPath)
            if FileSystem.isDirectory(path) { throw .isDirectory(path: nameOrPath) }
            guard FileSystem.isRegularFile(path) else { throw .fileNotFound(path: nameOrPath) }
            return path
        }
        try checkRoot()
        let name: String
        do {
            name = try canonicalName(nameOrPath)
        } catch {
            throw .unknownModel(name: nameOrPath, available: availableNames())
        }
        if let manifest = try manifest(canonical: name) {
            let blob = blobPath(sha256: manifest.sha256)
            guard FileSystem.isRegularFile(blob) else { throw .missingBlob(name: name, path: blob) }
            return blob
        }
        if Catalog.allNames.contains(name) { throw .notPulled(name: name) }
        throw .unknownModel(name: nameOrPath, available: availableNames())
    }

    /// Pulled names followed by catalog names not pulled yet.
    public func availableNames() -> [String] {
        let pulled = list().map(\.name)
        return pulled + Catalog.allNames.filter { !pulled.contains($0) }
    }

    /// Unregisters `name` and deletes its blob unless another manifest shares it. Also drops any
    /// unfinished pull of that name.
    @discardableResult
    public func remove(_ name: String) throws(StoreError) -> ModelManifest? {
        try checkRoot()
        let canonical = try canonicalName(name)
        let path = manifestPath(canonical)
        guard FileSystem.exists(path) else { throw .notInStore(name: name) }
        let manifest = try? self.manifest(canonical: canonical)
        try FileSystem.remove(path)
        try FileSystem.sync(manifestsDirectory)
        if let manifest, !list().contains(where: { $0.digest == manifest.digest }) {
            try FileSystem.remove(blobPath(sha256: manifest.sha256))
        }
        FileSystem.removeTree(partialPath(canonical))
        return manifest
    }

    func partialPath(_ name: String) -> String { "\(partialDirectory)/\(name)" }

    static func expandTilde(_ path: String) -> String {
        guard path == "~" || path.hasPrefix("~/") else { return path }
        return NSHomeDirectory() + path.dropFirst()
    }
}
