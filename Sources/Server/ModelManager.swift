import Foundation
import Kernels
import Logging
import Runtime
import Store

/// The models in memory, managed as Ollama does: loaded on first use, kept for each request's
/// `keep_alive` after it ends, at most ``ServerConfiguration/maxLoaded`` at once (loading one more
/// evicts the least recently used idle one), each behind its own ``RequestScheduler``.
public actor ModelManager {
    /// A model in use by one request. Hand it back with ``release(_:keepAlive:)``.
    public struct Lease: Sendable {
        /// The canonical store name (`qwen2.5-coder:0.5b`) or the file path.
        public let name: String
        public let model: LoadedModel
        public let scheduler: RequestScheduler
        /// Time spent loading the model for this request (zero when it was already loaded).
        public let loadDuration: Duration
    }

    /// A loaded model as `/api/ps` lists it.
    public struct Loaded: Sendable {
        public let name: String
        public let path: String
        public let digest: String
        public let fileSize: Int
        public let cacheBytes: Int
        public let contextLength: Int
        /// How the slots' KV caches store keys and values, how many slots there are, and the bytes one
        /// slot's cache takes at ``contextLength`` (allocated when a request first uses the slot).
        public let kvType: KVCacheType
        public let parallel: Int
        public let cacheBytesPerSlot: Int
        /// nil: kept until evicted or the server stops.
        public let expiresAt: Date?
        public let model: LoadedModel
    }

    private struct Entry {
        let name: String
        let path: String
        let digest: String
        let model: LoadedModel
        let scheduler: RequestScheduler
        var leases = 0
        var lastUsed: ContinuousClock.Instant
        /// Applies once `leases` is 0; nil means never.
        var expiresAt: ContinuousClock.Instant?
    }

    private let configuration: ServerConfiguration
    private let store: ModelStore
    private let logger: Logger
    private var entries: [String: Entry] = [:]
    private var loading: [String: Task<Entry, any Error>] = [:]

    public init(configuration: ServerConfiguration, store: ModelStore, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.logger = logger
    }

    /// True while some model is being loaded (`/health` answers 503 then).
    public var isLoading: Bool { !loading.isEmpty }

    /// Resolves `requested` (a store name or a .gguf path) without loading it: the canonical name and
    /// the file. Throws ``StoreError`` (404 for unknown models).
    nonisolated func locate(_ requested: String) throws(StoreError) -> (name: String, path: String) {
        let path = try store.resolve(requested)
        let name = ModelName.isPath(requested) ? requested : try store.canonicalName(requested)
        return (name, path)
    }

    /// The model named `requested`, loaded if needed; the caller must ``release(_:keepAlive:)`` it.
    public func acquire(_ requested: String) async throws -> Lease {
        let (name, path) = try locate(requested)
        if var entry = entries[name] {
            entry.leases += 1
            entry.lastUsed = .now
            entries[name] = entry
            return Lease(name: name, model: entry.model, scheduler: entry.scheduler, loadDuration: .zero)
        }
        let start = ContinuousClock.now
        let task: Task<Entry, any Error>
        if let pending = loading[name] {
            task = pending
        } else {
            try makeRoom()
            let threads = configuration.threads
            let maxQueue = configuration.maxQueue
            let parallel = configuration.parallel
            let kvType = configuration.kvType
            let digest = (try? store.manifest(named: name)).map { $0.sha256 } ?? ""
            let logger = self.logger
            task = Task.detached {
                logger.info("loading model", metadata: ["model": "\(name)", "path": "\(path)"])
                let model = try LoadedModel(path: path, threads: threads, name: name)
                logger.info("model loaded", metadata: ["model": "\(name)", "seconds": "\(model.loadDuration.seconds)"])
                return Entry(name: name, path: path, digest: digest, model: model,
                             scheduler: RequestScheduler(model: model, maxQueue: maxQueue, parallel: parallel, kvType: kvType),
                             lastUsed: .now, expiresAt: nil)
            }
            loading[name] = task
        }
        let loaded: Entry
        do {
            loaded = try await task.value
        } catch {
            loading[name] = nil
            throw error
        }
        loading[name] = nil
        var entry = entries[name] ?? loaded
        entry.leases += 1
        entry.lastUsed = .now
        entries[name] = entry
        return Lease(name: name, model: entry.model, scheduler: entry.scheduler, loadDuration: ContinuousClock.now - start)
    }

    /// Hands a lease back; the model then stays loaded for `keepAlive` (``KeepAlive/unloadNow`` unloads
    /// it as soon as no other request uses it).
    public func release(_ lease: Lease, keepAlive: KeepAlive) {
        guard var entry = entries[lease.name] else { return }
        entry.leases = max(0, entry.leases - 1)
        entry.lastUsed = .now
        entry.expiresAt = keepAlive.expiry(from: .now)
        entries[lease.name] = entry
        if entry.leases == 0, keepAlive == .unloadNow { unloadIfIdle(lease.name) }
    }

    /// Marks a model for unloading (`keep_alive: 0` with an empty prompt): now if idle, else when its
    /// requests finish. Returns false when it was not loaded.
    @discardableResult
    public func unload(_ requested: String) -> Bool {
        guard let name = try? locate(requested).name, var entry = entries[name] else { return false }
        entry.expiresAt = .now
        entries[name] = entry
        unloadIfIdle(name)
        return true
    }

    /// Unloads a model whatever its keep-alive (it was deleted from the store), once idle.
    public func forget(name: String) {
        guard var entry = entries[name] else { return }
        entry.expiresAt = .now
        entries[name] = entry
        unloadIfIdle(name)
    }

    /// The loaded models, most recently used first.
    public func loaded() async -> [Loaded] {
        let now = ContinuousClock.now
        var out: [Loaded] = []
        for entry in entries.values.sorted(by: { $0.lastUsed > $1.lastUsed }) {
            let expires: Date?
            if entry.leases > 0 {
                expires = nil
            } else if let at = entry.expiresAt {
                expires = Date(timeIntervalSinceNow: (at - now).seconds)
            } else {
                expires = nil
            }
            let capacity = await entry.scheduler.contextCapacity
            let context = capacity > 0 ? capacity : entry.scheduler.effectiveContextLength(configuration.defaultContextLength)
            let kvType = entry.scheduler.kvType
            out.append(Loaded(name: entry.name, path: entry.path, digest: entry.digest, fileSize: entry.model.gguf.fileSize,
                              cacheBytes: await entry.scheduler.cacheByteCount, contextLength: context, kvType: kvType,
                              parallel: entry.scheduler.parallel,
                              cacheBytesPerSlot: entry.model.cacheBytes(capacity: context, type: kvType) ?? 0,
                              expiresAt: expires, model: entry.model))
        }
        return out
    }

    /// Running and queued requests over every model, and KV cache positions in use.
    public func load() async -> (running: Int, queued: Int, models: Int, cachedTokens: Int) {
        var running = 0, queued = 0, cached = 0
        for entry in entries.values {
            running += await entry.scheduler.runningCount
            queued += await entry.scheduler.queuedCount
            cached += await entry.scheduler.cachedTokens
        }
        return (running, queued, entries.count, cached)
    }

    /// Unloads every idle model whose keep-alive has run out. Called periodically by ``runExpiryLoop()``.
    func expire(now: ContinuousClock.Instant = .now) {
        for (name, entry) in entries where entry.leases == 0 {
            if let at = entry.expiresAt, at <= now { unloadIfIdle(name) }
        }
    }

    /// Checks keep-alive expiries four times a second until the task is cancelled.
    func runExpiryLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(250))
            expire()
        }
    }

    /// Drops every model (shutdown).
    func unloadAll() {
        entries.removeAll()
    }

    private func unloadIfIdle(_ name: String) {
        guard let entry = entries[name], entry.leases == 0 else { return }
        entries[name] = nil
        logger.info("model unloaded", metadata: ["model": "\(name)"])
    }

    /// Evicts least recently used idle models until one more fits under the limit.
    private func makeRoom() throws(ServerError) {
        while entries.count + loading.count >= max(configuration.maxLoaded, 1) {
            let idle = entries.values.filter { $0.leases == 0 }.min { $0.lastUsed < $1.lastUsed }
            guard let victim = idle else {
                throw ServerError(status: .serviceUnavailable,
                                  message: "server busy, please try again (\(entries.count) models loaded and all in use; raise the max-loaded limit)")
            }
            entries[victim.name] = nil
            logger.info("model evicted (least recently used)", metadata: ["model": "\(victim.name)"])
        }
    }
}
