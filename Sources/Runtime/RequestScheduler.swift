/// One generation to run on a ``RequestScheduler``'s model.
public struct GenerationRequest: Sendable, Equatable {
    /// Token ids, BOS included if wanted (see ``InferenceContext/generate(prompt:options:loadDuration:)``).
    public var prompt: [Int32]
    public var options: GenerationOptions
    /// Positions of KV cache the request wants; nil means ``InferenceContext/defaultContextLength``.
    /// Always capped at the model's trained length (see ``RequestScheduler/effectiveContextLength(_:)``).
    public var contextLength: Int?
    /// Prompt tokens per forward call; nil keeps the context's current value (512 at first).
    public var batchSize: Int?
    /// Reported back in the final statistics (a server passes the time it spent loading the model).
    public var loadDuration: Duration

    public init(prompt: [Int32], options: GenerationOptions = GenerationOptions(), contextLength: Int? = nil,
                batchSize: Int? = nil, loadDuration: Duration = .zero) {
        self.prompt = prompt
        self.options = options
        self.contextLength = contextLength
        self.batchSize = batchSize
        self.loadDuration = loadDuration
    }
}

/// The front door to one loaded model for concurrent callers (the HTTP server): requests go in with
/// ``submit(_:)`` and come back as streams of ``GenerationEvent``.
///
/// Today one sequence runs at a time, on one ``InferenceContext`` that every request shares, behind a
/// bounded first-in-first-out queue. Sharing the context is what makes multi-turn chats cheap: each
/// request rewinds the cache to the longest prefix it shares with the previous one
/// (``InferenceContext/reusePrefix(of:)``) and evaluates only the rest. A continuous-batching engine
/// (several sequences per forward pass) will replace the inside of this type without changing
/// ``submit(_:)``; ``parallel`` is recorded for it but does not run sequences side by side yet.
///
/// Cancellation: when the consumer of a stream goes away (its task is cancelled or it drops the
/// stream), a waiting request leaves the queue and a running one stops after the forward pass in
/// progress: one token while decoding, one chunk of ``GenerationRequest/batchSize`` prompt tokens while
/// evaluating the prompt.
public actor RequestScheduler {
    public nonisolated let model: LoadedModel
    /// Requests allowed to wait behind the running one; ``submit(_:)`` throws ``RuntimeError/queueFull(limit:)`` beyond.
    public nonisolated let maxQueue: Int
    /// Sequences that may run at once, once the engine batches; today they run one at a time.
    public nonisolated let parallel: Int

    private struct Job: Sendable {
        let id: UInt64
        let request: GenerationRequest
        let continuation: AsyncThrowingStream<GenerationEvent, Error>.Continuation
    }

    private var waiting: [Job] = []
    private var runningID: UInt64?
    private var nextID: UInt64 = 0
    private var context: InferenceContext?
    /// Tokens in the KV cache when the last request ended (the gauge a server exports).
    public private(set) var cachedTokens = 0

    public init(model: LoadedModel, maxQueue: Int = 512, parallel: Int = 1) {
        self.model = model
        self.maxQueue = max(0, maxQueue)
        self.parallel = max(1, parallel)
    }

    /// The context size a request asking for `requested` positions gets: the default when nil, always
    /// capped at the model's trained length.
    public nonisolated func effectiveContextLength(_ requested: Int?) -> Int {
        let n = requested ?? InferenceContext.defaultContextLength
        let trained = model.trainedContextLength
        return trained > 0 ? min(n, trained) : n
    }

    /// Queues `request` and returns its event stream, which ends with one ``GenerationEvent/done(_:)``
    /// (or fails with the ``RuntimeError`` that stopped it).
    /// - Throws: ``RuntimeError/queueFull(limit:)`` when ``maxQueue`` requests already wait, or the
    ///   request's own ``RuntimeError/invalidOption(name:value:expected:)``.
    public func submit(_ request: GenerationRequest) throws(RuntimeError) -> AsyncThrowingStream<GenerationEvent, Error> {
        try request.options.validate()
        if let n = request.contextLength, n < 1 {
            throw .invalidOption(name: "num_ctx", value: String(n), expected: "an integer >= 1")
        }
        if let n = request.batchSize, n < 1 {
            throw .invalidOption(name: "num_batch", value: String(n), expected: "an integer >= 1")
        }
        if runningID != nil, waiting.count >= maxQueue { throw .queueFull(limit: maxQueue) }
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: GenerationEvent.self)
        let id = nextID
        nextID += 1
        continuation.onTermination = { [weak self] termination in
            guard case .cancelled = termination, let self else { return }
            Task { await self.cancel(id) }
        }
        waiting.append(Job(id: id, request: request, continuation: continuation))
        startNext()
        return stream
    }

    /// Requests waiting for their turn.
    public var queuedCount: Int { waiting.count }

    /// Requests generating now (0 or 1 until the engine batches).
    public var runningCount: Int { runningID == nil ? 0 : 1 }

    /// True when nothing runs or waits, so the model may be unloaded.
    public var isIdle: Bool { runningID == nil && waiting.isEmpty }

    /// KV cache positions the current context holds (0 before the first request).
    public var contextCapacity: Int { context?.capacity ?? 0 }

    /// Bytes of KV cache allocated.
    public var cacheByteCount: Int { context?.cache.byteCount ?? 0 }

    private func cancel(_ id: UInt64) {
        if let index = waiting.firstIndex(where: { $0.id == id }) {
            waiting.remove(at: index).continuation.finish(throwing: RuntimeError.cancelled)
        } else if runningID == id {
            context?.cancel()
        }
    }

    private func startNext() {
        guard runningID == nil, !waiting.isEmpty else { return }
        let job = waiting.removeFirst()
        let context: InferenceContext
        do {
            context = try self.context(for: job.request)
        } catch {
            job.continuation.finish(throwing: error)
            startNext()
            return
        }
        runningID = job.id
        cachedTokens = context.tokens.count
        let upstream = context.generate(prompt: job.request.prompt, options: job.request.options,
                                        loadDuration: job.request.loadDuration)
        // Detached: forwarding events need not hop onto this actor.
        Task.detached {
            var failure: (any Error)?
            do {
                for try await event in upstream { job.continuation.yield(event) }
            } catch {
                failure = error
            }
            // Free the slot before the consumer sees the end, so a caller that waits for its stream and
            // then reads the queue finds this request gone.
            await self.finished(job.id)
            job.continuation.finish(throwing: failure)
        }
    }

    private func finished(_ id: UInt64) {
        guard runningID == id else { return }
        runningID = nil
        cachedTokens = context?.tokens.count ?? 0
        startNext()
    }

    /// The shared context, rebuilt when a request asks for another size (which drops the cached prefix).
    /// Only called while no generation runs.
    private func context(for request: GenerationRequest) throws(RuntimeError) -> InferenceContext {
        let capacity = effectiveContextLength(request.contextLength)
        let current: InferenceContext
        if let context, context.capacity == capacity {
            current = context
        } else {
            context = nil
            current = try InferenceContext(model: model, contextLength: capacity)
            context = current
        }
        if let batch = request.batchSize { current.batchSize = batch }
        return current
    }
}
