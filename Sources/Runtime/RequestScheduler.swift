import Kernels

/// One generation to run on a ``RequestScheduler``'s model.
public struct GenerationRequest: Sendable, Equatable {
    /// Token ids, BOS included if the model wants one (see `LoadedModel.completionTokens` in the SwiftLM library).
    public var prompt: [Int32]
    public var options: GenerationOptions
    /// Positions of KV cache the request wants; nil means ``RequestScheduler/defaultContextLength``.
    /// Always capped at the model's trained length (see ``RequestScheduler/effectiveContextLength(_:)``).
    public var contextLength: Int?
    /// Most prompt tokens of this request per forward pass; nil lets the scheduler use its whole budget (512).
    public var batchSize: Int?
    /// Reported back in the final statistics (a server passes the time it spent loading the model).
    public var loadDuration: Duration
    /// Sees every sampled token's whole row of logits, for `swiftlm explain` (nil for everyone else).
    package var stepObserver: StepObserver?

    public init(prompt: [Int32], options: GenerationOptions = GenerationOptions(), contextLength: Int? = nil,
                batchSize: Int? = nil, loadDuration: Duration = .zero) {
        self.prompt = prompt
        self.options = options
        self.contextLength = contextLength
        self.batchSize = batchSize
        self.loadDuration = loadDuration
    }
}

/// One token the scheduler sampled, with what chose it: handed to a request's ``GenerationRequest/stepObserver``.
package struct ObservedStep: Sendable {
    /// The row of logits the token was sampled from (the whole vocabulary).
    package var logits: [Float]
    /// The sampler as it was before choosing the token (so a caller can trace its chain on `logits`).
    package var sampler: Sampler
    /// The sampled token (an end-of-generation token included).
    package var token: Int32
}

/// A callback the scheduler's owner thread calls after each sampled token of one request, before that
/// token's text is delivered. It runs on the thread that drives the model, so it must be quick (hand the
/// step off, do not process it there): its time counts as decoding time.
///
/// A class so that ``GenerationRequest`` stays `Equatable` (observers compare by identity).
package final class StepObserver: Sendable, Equatable {
    let body: @Sendable (ObservedStep) -> Void

    package init(_ body: @escaping @Sendable (ObservedStep) -> Void) { self.body = body }

    package static func == (a: StepObserver, b: StepObserver) -> Bool { a === b }
}

/// The front door to one loaded model for concurrent callers (the HTTP server): requests go in with
/// ``submit(_:)`` and come back as streams of ``GenerationEvent``.
///
/// Continuous batching: up to ``parallel`` sequences run at once, each in its own slot with its own KV
/// cache, advanced together by one thread that owns the model's slots. Each forward pass holds one
/// token of every decoding sequence plus prompt chunks of new ones, so a long prompt delays the others
/// by one chunk at most. Requests beyond the slots wait in a bounded first-in-first-out queue.
///
/// Prefix reuse: a new request takes the idle slot whose cache shares the longest prefix with its
/// prompt, and copies a longer one from any other slot (a shared system prompt); only the rest is
/// evaluated. Results are batch-invariant: a request's output with a given seed is bit-identical
/// whatever else runs beside it and however its prompt was split into chunks. (With ``parallel`` 1 the
/// one sequence decodes with the mat-vec kernels: faster, but not bit-identical to a scheduler with
/// more slots. `swiftlm run` and the library's one-shot completions and chat sessions use one slot.)
///
/// Cancellation: when the consumer of a stream goes away (its task is cancelled or it drops the
/// stream), a waiting request leaves the queue and a running one stops after the forward pass in
/// progress and frees its slot.
public actor RequestScheduler {
    public nonisolated let model: LoadedModel
    /// Requests allowed to wait when every slot is busy; ``submit(_:)`` throws ``RuntimeError/queueFull(limit:)`` beyond.
    public nonisolated let maxQueue: Int
    /// Sequences that run at once (slots).
    public nonisolated let parallel: Int
    /// KV cache positions a request gets when it asks for none: 4096, capped at the model's trained length.
    public static let defaultContextLength = 4096
    /// Slots used when the caller gives none (llama.cpp's server and this one's `--parallel` default).
    public static let defaultParallel = 4
    /// How every slot's KV cache stores keys and values.
    public nonisolated let kvType: KVCacheType
    private nonisolated let engine: BatchEngine

    /// - Parameters:
    ///   - batchSize: most tokens in one forward pass (prompt chunks of all slots together).
    ///   - kvType: how the slots' KV caches store keys and values (f16, llama.cpp's default, unless given).
    public init(model: LoadedModel, maxQueue: Int = 512, parallel: Int = RequestScheduler.defaultParallel,
                batchSize: Int = 512, kvType: KVCacheType = .default) {
        self.model = model
        self.maxQueue = max(0, maxQueue)
        self.parallel = max(1, parallel)
        self.kvType = kvType
        engine = BatchEngine(model: model, parallel: parallel, maxQueue: maxQueue, tickTokens: batchSize, kvType: kvType)
    }

    deinit { engine.shutdown() }

    /// The context size a request asking for `requested` positions gets: the default when nil, always
    /// capped at the model's trained length.
    public nonisolated func effectiveContextLength(_ requested: Int?) -> Int {
        let n = requested ?? Self.defaultContextLength
        let trained = model.trainedContextLength
        return trained > 0 ? min(n, trained) : n
    }

    /// Queues `request` and returns its event stream, which ends with one ``GenerationEvent/done(_:)``
    /// (or fails with the ``RuntimeError`` that stopped it).
    ///
    /// The stream keeps the scheduler alive until it ends, so a caller may drop the scheduler right after
    /// submitting (the library's one-shot ``LoadedModel`` completions do).
    /// - Throws: ``RuntimeError/queueFull(limit:)`` when ``maxQueue`` requests already wait and every slot
    ///   is busy, the request's own ``RuntimeError/invalidOption(name:value:expected:)``, or
    ///   ``RuntimeError/grammar(_:)`` when its format does not compile.
    public nonisolated func submit(_ request: GenerationRequest) throws(RuntimeError) -> AsyncThrowingStream<GenerationEvent, Error> {
        try start(request).events
    }

    /// A submitted request: its events, and the identity ``cancel(_:)`` takes.
    public struct Submission: Sendable {
        public let id: RequestID
        /// See ``submit(_:)``.
        public let events: AsyncThrowingStream<GenerationEvent, Error>
    }

    /// Identifies one submitted request on its scheduler.
    public struct RequestID: Sendable, Hashable {
        let value: UInt64
    }

    /// ``submit(_:)``, also returning the request's identity, for a caller that wants to stop it while
    /// still reading its events (Ctrl-C in a chat).
    /// - Throws: as ``submit(_:)``.
    public nonisolated func start(_ request: GenerationRequest) throws(RuntimeError) -> Submission {
        try request.options.validate()
        if let n = request.contextLength, n < 1 {
            throw .invalidOption(name: "num_ctx", value: String(n), expected: "an integer >= 1")
        }
        if let n = request.batchSize, n < 1 {
            throw .invalidOption(name: "num_batch", value: String(n), expected: "an integer >= 1")
        }
        if model.isEmbeddingModel {
            throw .embeddingModel(model: model.name, architecture: model.model.info.architecture)
        }
        try model.checkCacheType(kvType)
        // A format that does not compile fails here, as a bad request, not later on the engine's thread;
        // the compiled constraint is cached for the engine.
        if let format = request.options.format {
            _ = try StructuredOutputCache.constraint(format, tokenizer: model.tokenizer)
        }
        let (id, events) = try engine.submit(request, capacity: effectiveContextLength(request.contextLength), keepAlive: self)
        return Submission(id: RequestID(value: id), events: events)
    }

    /// Stops request `id` as the consumer going away would, except that a running request still delivers
    /// its text so far and a ``GenerationEvent/done(_:)`` with reason ``GenerationStats/DoneReason/cancelled``
    /// (after the forward pass in progress). A waiting one leaves the queue and its stream fails with
    /// ``RuntimeError/cancelled``. A finished request is left alone.
    public nonisolated func cancel(_ id: RequestID) {
        engine.cancel(id.value)
    }

    /// Requests waiting for a slot.
    public var queuedCount: Int { engine.shared.withLock { $0.queue.count } }

    /// Requests generating now (at most ``parallel``).
    public var runningCount: Int { engine.shared.withLock { $0.running } }

    /// True when nothing runs or waits, so the model may be unloaded.
    public var isIdle: Bool { engine.shared.withLock { $0.running == 0 && $0.queue.isEmpty } }

    /// KV cache positions of the largest slot (0 before the first request).
    public var contextCapacity: Int { engine.shared.withLock { $0.contextCapacity } }

    /// Bytes of KV cache allocated, over every slot.
    public var cacheByteCount: Int { engine.shared.withLock { $0.cacheBytes } }

    /// Tokens held in the slots' KV caches (the gauge a server exports).
    public var cachedTokens: Int { engine.shared.withLock { $0.cachedTokens } }
}
