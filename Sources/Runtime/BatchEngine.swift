import Foundation
import Kernels
import Models

/// Continuous batching for one loaded model: `parallel` slots, each one sequence with its own KV cache,
/// advanced together by one thread that owns them (llama.cpp server's `update_slots`).
///
/// Each tick makes one forward pass holding one token of every decoding sequence plus prompt chunks
/// of the sequences still reading their prompt, up to ``tickTokens``; so a long prompt delays the
/// others' next token by one chunk at most. Requests beyond the slots wait in FIFO order.
///
/// Ownership: slots, caches and decoders are local to the owner thread's loop and never shared. Other
/// threads only touch ``Shared`` (the queue, cancellations, gauges) under its lock, and the semaphore
/// that wakes the owner. With two slots or more every row runs with ``MatmulMode/batchInvariant``, so a
/// request's output does not depend on what else is in the batch or on how its prompt was chunked. With
/// one slot nothing else can share a batch, and decode rows take the mat-vec kernels as `swiftlm run` does.
final class BatchEngine: Sendable {
    struct Job: Sendable {
        let id: UInt64
        let request: GenerationRequest
        let capacity: Int
        let continuation: AsyncThrowingStream<GenerationEvent, Error>.Continuation
    }

    /// What other threads may read or change, under `shared`'s lock.
    struct Shared: Sendable {
        var queue: [Job] = []
        var cancelled: Set<UInt64> = []
        var shutdown = false
        var nextID: UInt64 = 0
        /// Gauges published by the owner after each tick.
        var running = 0
        var cachedTokens = 0
        var cacheBytes = 0
        var contextCapacity = 0
    }

    let model: LoadedModel
    let parallel: Int
    let maxQueue: Int
    /// Most rows in one forward pass (decode rows always fit: there are at most `parallel`).
    let tickTokens: Int
    /// How every slot's cache stores keys and values (checked by the scheduler before a job is queued).
    let kvType: KVCacheType
    let shared = LockedState(Shared())
    private let wake = DispatchSemaphore(value: 0)

    init(model: LoadedModel, parallel: Int, maxQueue: Int, tickTokens: Int = 512, kvType: KVCacheType = .default) {
        self.model = model
        self.kvType = kvType
        self.parallel = max(1, parallel)
        self.maxQueue = max(0, maxQueue)
        self.tickTokens = max(1, tickTokens)
        let thread = Thread { [self] in
            var loop = OwnerLoop(engine: self)
            loop.run()
        }
        thread.name = "swiftlm-batch"
        thread.start()
    }

    /// Queues a request (validated by the caller). Throws ``RuntimeError/queueFull(limit:)`` when
    /// `maxQueue` requests already wait beyond the free slots.
    /// `keepAlive` (the scheduler) is held until the stream ends: dropping the scheduler shuts the engine down.
    func submit(_ request: GenerationRequest, capacity: Int,
                keepAlive: (any AnyObject & Sendable)? = nil) throws(RuntimeError) -> (UInt64, AsyncThrowingStream<GenerationEvent, Error>) {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: GenerationEvent.self)
        let id: UInt64? = shared.withLock { s in
            let free = parallel - s.running
            guard !s.shutdown, s.queue.count < maxQueue + max(0, free) else { return nil }
            let id = s.nextID
            s.nextID += 1
            s.queue.append(Job(id: id, request: request, capacity: capacity, continuation: continuation))
            return id
        }
        guard let id else { throw .queueFull(limit: maxQueue) }
        continuation.onTermination = { [weak self] termination in
            withExtendedLifetime(keepAlive) {
                if case .cancelled = termination { self?.cancel(id) }
            }
        }
        wake.signal()
        return (id, stream)
    }

    /// Stops request `id`: a waiting one leaves the queue (its stream fails with ``RuntimeError/cancelled``),
    /// a running one ends after the tick in progress and frees its slot.
    func cancel(_ id: UInt64) {
        let removed: Job? = shared.withLock { s in
            if let i = s.queue.firstIndex(where: { $0.id == id }) { return s.queue.remove(at: i) }
            s.cancelled.insert(id)
            return nil
        }
        removed?.continuation.finish(throwing: RuntimeError.cancelled)
        wake.signal()
    }

    /// Ends the owner thread once its running requests are cancelled (the model is being unloaded).
    func shutdown() {
        shared.withLock { $0.shutdown = true }
        wake.signal()
    }

    fileprivate func waitForWork() { wake.wait() }
}

/// The owner thread's state and loop. Lives and dies on that thread.
private struct OwnerLoop {
    let engine: BatchEngine
    var slots: [Slot]
    var clock: UInt64 = 0

    /// One sequence place: a cache that outlives its requests (for prefix reuse) and the request using it.
    struct Slot {
        var cache: KVCache?
        /// The tokens whose keys and values `cache` holds, in order.
        var tokens: [Int32] = []
        var active: Active?
        /// When the slot was last given a request (least recently used is evicted first).
        var lastUsed: UInt64 = 0
    }

    /// A running request.
    struct Active {
        let job: BatchEngine.Job
        var decoder: SequenceDecoder
        /// Tokens to evaluate next: the rest of the prompt, then each sampled token.
        var pending: [Int32]
        var readingPrompt: Bool
        /// Admission order: older prompts get the tick's budget first.
        let order: UInt64
    }

    init(engine: BatchEngine) {
        self.engine = engine
        slots = Array(repeating: Slot(), count: engine.parallel)
    }

    mutating func run() {
        while true {
            let (admitted, cancelled, shutdown) = engine.shared.withLock { s -> ([BatchEngine.Job], Set<UInt64>, Bool) in
                let free = slots.filter { $0.active == nil }.count
                let taken = Array(s.queue.prefix(s.shutdown ? 0 : free))
                s.queue.removeFirst(taken.count)
                // Counted as running at once, so `submit` never sees a request in neither place.
                s.running = engine.parallel - free + taken.count
                let c = s.cancelled
                s.cancelled.removeAll()
                return (taken, c, s.shutdown)
            }
            for i in slots.indices where slots[i].active.map({ shutdown || cancelled.contains($0.job.id) }) ?? false {
                finish(slot: i, output: slots[i].active!.decoder.finish(.cancelled))
            }
            if shutdown {
                let left = engine.shared.withLock { s in defer { s.queue.removeAll() }; return s.queue }
                for job in left { job.continuation.finish(throwing: RuntimeError.cancelled) }
                publish()
                return
            }
            for job in admitted { admit(job) }
            publish()
            if slots.allSatisfy({ $0.active == nil }) {
                engine.waitForWork()
                continue
            }
            tick()
        }
    }

    // MARK: admission and prefix reuse

    /// Puts `job` in the idle slot sharing the longest prefix with its prompt (else the least recently
    /// used), keeping or copying in the longest cached prefix any slot holds.
    mutating func admit(_ job: BatchEngine.Job) {
        let prompt = job.request.prompt
        let tokenizerVocab = engine.model.model.info.vocabSize
        if let bad = prompt.first(where: { $0 < 0 || Int($0) >= tokenizerVocab }) {
            job.continuation.finish(throwing: RuntimeError.model(.invalidInput("token id \(bad) is outside the vocabulary 0..<\(tokenizerVocab)")))
            return
        }
        guard !prompt.isEmpty else { job.continuation.finish(throwing: RuntimeError.emptyPrompt); return }
        guard prompt.count < job.capacity else {
            job.continuation.finish(throwing: RuntimeError.contextOverflow(needed: prompt.count + 1, capacity: job.capacity))
            return
        }
        // At least one prompt token is evaluated, for its logits.
        let usable = prompt.count - 1
        func shared(_ s: Slot) -> Int {
            var n = 0
            let limit = min(usable, s.tokens.count)
            while n < limit, s.tokens[n] == prompt[n] { n += 1 }
            return n
        }
        let idle = slots.indices.filter { slots[$0].active == nil }
        let chosen = idle.max { a, b in
            let pa = slots[a].cache?.capacity == job.capacity ? shared(slots[a]) : -1
            let pb = slots[b].cache?.capacity == job.capacity ? shared(slots[b]) : -1
            return pa != pb ? pa < pb : slots[a].lastUsed > slots[b].lastUsed
        }!
        clock += 1
        var slot = slots[chosen]
        slot.lastUsed = clock
        if slot.cache?.capacity != job.capacity {
            slot.cache = nil // free the old cache before allocating the new one
            slot.tokens = []
            do {
                slot.cache = try engine.model.makeCache(capacity: job.capacity, type: engine.kvType)
            } catch {
                slots[chosen] = slot
                job.continuation.finish(throwing: error)
                return
            }
        }
        let cache = slot.cache!
        var kept = cache.truncate(to: shared(slot))
        // Another slot (running or idle) may hold a longer prefix, e.g. the same system prompt.
        if let donor = slots.indices.filter({ $0 != chosen && slots[$0].cache != nil })
            .max(by: { shared(slots[$0]) < shared(slots[$1]) }),
            shared(slots[donor]) > kept {
            let copied = cache.copyPrefix(from: slots[donor].cache!, count: shared(slots[donor]))
            if copied > 0 {
                kept = copied
                slot.tokens = Array(slots[donor].tokens.prefix(copied))
            } else {
                kept = cache.truncate(to: 0)
            }
        }
        slot.tokens.removeSubrange(kept...)
        let decoder: SequenceDecoder
        do {
            decoder = try SequenceDecoder(prompt: prompt, options: job.request.options, tokenizer: engine.model.tokenizer,
                                          capacity: job.capacity, cachedPromptTokens: kept)
        } catch {
            // submit compiled the format already, so this is not expected; the slot stays idle and usable.
            job.continuation.finish(throwing: error)
            slots[chosen] = slot
            return
        }
        slot.active = Active(job: job, decoder: decoder, pending: Array(prompt[kept...]), readingPrompt: true, order: clock)
        slots[chosen] = slot
    }

    // MARK: one forward pass

    mutating func tick() {
        var batch = ForwardBatch()
        var members: [Int] = []
        // One token for each decoding sequence first, then prompt chunks, oldest request first.
        for i in slots.indices {
            guard let a = slots[i].active, !a.readingPrompt else { continue }
            batch.append(a.pending, to: slots[i].cache!, outputRows: [0])
            members.append(i)
        }
        let decodeRows = batch.tokens.count
        let readers = slots.indices.filter { slots[$0].active?.readingPrompt ?? false }
            .sorted { slots[$0].active!.order < slots[$1].active!.order }
        for i in readers {
            let budget = engine.tickTokens - batch.tokens.count
            guard budget > 0 else { break }
            let a = slots[i].active!
            let n = min(budget, a.job.request.batchSize ?? engine.tickTokens, a.pending.count)
            let completes = n == a.pending.count
            batch.append(Array(a.pending.prefix(n)), to: slots[i].cache!, outputRows: completes ? [n - 1] : [])
            members.append(i)
        }
        // With one slot a batch is one sequence's prompt chunk or its one decode row, never anything else:
        // decoding may take the mat-vec kernels, the fastest way to run one sequence alone (`swiftlm run`).
        let mode: MatmulMode = engine.parallel == 1 && decodeRows == batch.tokens.count ? .fastest : .batchInvariant
        let logits: [Float]
        do {
            logits = try engine.model.forward(batch, mode: mode)
        } catch {
            // Admission checks what the model would reject, so this is a bug; fail the batch's requests.
            for i in members {
                slots[i].active!.job.continuation.finish(throwing: error)
                slots[i].active = nil
                slots[i].cache?.clear()
                slots[i].tokens = []
            }
            return
        }
        let vocab = engine.model.model.info.vocabSize
        var row = 0
        for (i, segment) in zip(members, batch.segments) {
            let evaluated = Array(batch.tokens[segment.rows])
            slots[i].tokens += evaluated
            slots[i].active!.pending.removeFirst(evaluated.count)
            guard !segment.outputRows.isEmpty else { continue }
            slots[i].active!.readingPrompt = false
            let rowLogits = Array(logits[row * vocab ..< (row + 1) * vocab])
            row += 1
            // Only an observed request (explain) pays for copying its sampler.
            let observer = slots[i].active!.job.request.stepObserver
            let samplerBefore = observer == nil ? nil : slots[i].active!.decoder.currentSampler
            let step = slots[i].active!.decoder.step(rowLogits)
            if let observer, let samplerBefore, let token = slots[i].active!.decoder.lastToken {
                observer.body(ObservedStep(logits: rowLogits, sampler: samplerBefore, token: token))
            }
            switch step {
            case let .next(token, output):
                yield(output, to: slots[i].active!.job.continuation)
                slots[i].active!.pending = [token]
            case let .finished(_, output):
                finish(slot: i, output: output)
            }
        }
    }

    // MARK: events

    private func yield(_ output: SequenceDecoder.Output, to continuation: AsyncThrowingStream<GenerationEvent, Error>.Continuation) {
        if let lp = output.logprobs { continuation.yield(.logprobs(lp)) }
        if !output.text.isEmpty { continuation.yield(.text(output.text)) }
    }

    /// Delivers the last output and the statistics, and frees the slot (its cache stays for reuse).
    mutating func finish(slot i: Int, output: SequenceDecoder.Output) {
        guard let a = slots[i].active else { return }
        slots[i].active = nil
        // Publish the free slot before the consumer sees the end, so a caller that waits for its stream
        // and then reads the gauges finds this request gone.
        publish()
        yield(output, to: a.job.continuation)
        var stats = a.decoder.stats
        stats.loadDuration = a.job.request.loadDuration
        a.job.continuation.yield(.done(stats))
        a.job.continuation.finish()
    }

    func publish() {
        let running = slots.filter { $0.active != nil }.count
        let cached = slots.reduce(0) { $0 + $1.tokens.count }
        let bytes = slots.reduce(0) { $0 + ($1.cache?.byteCount ?? 0) }
        let capacity = slots.compactMap { $0.cache?.capacity }.max() ?? 0
        engine.shared.withLock { s in
            s.running = running
            s.cachedTokens = cached
            s.cacheBytes = bytes
            s.contextCapacity = capacity
        }
    }
}
