import Foundation
import Tokenizer

/// One sequence's decoding state: its sampler, streaming detokenizer, stop sequences, limits and
/// statistics. It never runs the model: its driver evaluates tokens (alone, or batched with other
/// sequences) and hands it each row of logits with ``step(_:)``.
///
/// Every decode loop drives this one value: the ``RequestScheduler``, which serves `swiftlm run`, chat,
/// `swiftlm explain`, `swiftlm bench`, the library and the server. Its output depends only on
/// the logits it is given and the sampler's seed, so a batch-invariant forward pass makes the whole
/// generation batch-invariant.
public struct SequenceDecoder {
    /// What one ``step(_:)`` produced.
    public enum Step: Equatable {
        /// `token` was sampled: evaluate it and call ``step(_:)`` with its logits.
        case next(token: Int32, output: Output)
        /// Generation is over. `output` holds the last token's text and whatever the detokenizer and
        /// stop-sequence filter still held back.
        case finished(GenerationStats.DoneReason, output: Output)
    }

    /// Text and log-probabilities ready for the consumer.
    public struct Output: Equatable {
        /// Whole UTF-8 characters; may be empty (an unfinished character or a possible stop sequence is held back).
        public var text = ""
        /// The sampled token's log-probabilities, when ``GenerationOptions/logprobs`` asks for them.
        public var logprobs: TokenLogprobs?
    }

    public let options: GenerationOptions
    /// Positions the sequence's KV cache holds: generation stops (`length`) when it is full.
    public let capacity: Int
    /// Counters and timings so far; complete once a step returned ``Step/finished(_:output:)``.
    public private(set) var stats = GenerationStats()
    public private(set) var isFinished = false
    /// The token the last ``step(_:)`` sampled, end-of-generation tokens included (nil before the first,
    /// or when that step sampled nothing because `maxTokens` was already reached).
    public private(set) var lastToken: Int32?

    private let tokenizer: Tokenizer
    private var sampler: Sampler
    /// The sampler as the next ``step(_:)`` will use it (the scheduler hands it to a step observer, for
    /// `explain`'s trace of the sampling chain).
    public var currentSampler: Sampler { sampler }
    private var detokenizer: StreamingDetokenizer
    private var stops: StopSequenceFilter
    private let start: ContinuousClock.Instant
    private var decodeStart: ContinuousClock.Instant?

    /// - Parameters:
    ///   - prompt: the whole prompt (cached part included): it fills the sampler's penalty window.
    ///   - cachedPromptTokens: how much of it the cache already held (reported in the statistics).
    ///   - start: when evaluating the prompt began (prompt time and time to first token count from it).
    /// - Throws: ``RuntimeError/grammar(_:)`` when ``GenerationOptions/format`` does not compile.
    public init(prompt: [Int32], options: GenerationOptions, tokenizer: Tokenizer, capacity: Int,
                cachedPromptTokens: Int = 0, start: ContinuousClock.Instant = .now) throws(RuntimeError) {
        self.options = options
        self.capacity = capacity
        self.tokenizer = tokenizer
        self.start = start
        // The prompt fills the penalty window only: a grammar constrains generated text, not the prompt.
        sampler = try Sampler(generation: options, tokenizer: tokenizer)
        sampler.acceptPrompt(contentsOf: prompt.suffix(max(options.sampling.repeatLastN, 0)))
        if options.sampling.repeatLastN < 0 { sampler.acceptPrompt(contentsOf: prompt) }
        let visible = options.visibleControlTokens.compactMap { text -> Int32? in
            guard let id = tokenizer.tokenID(forText: text), tokenizer.isControl(id) else { return nil }
            return id
        }
        detokenizer = StreamingDetokenizer(tokenizer: tokenizer, rendering: Set(visible))
        stops = StopSequenceFilter(options.stopSequences)
        stats.promptTokens = prompt.count
        stats.cachedPromptTokens = cachedPromptTokens
    }

    /// Samples the next token from `logits` (one row of `vocabularySize`: the prompt's last row first,
    /// then each sampled token's), applying the end-of-generation token, stop sequences, `maxTokens`
    /// and the context limit.
    public mutating func step(_ logits: [Float]) -> Step {
        precondition(!isFinished, "step after the sequence finished")
        let stepStart = ContinuousClock.now
        // Two clock reads per token, negligible beside a forward pass.
        defer { stats.stepDuration += ContinuousClock.now - stepStart }
        lastToken = nil
        if reachedMaxTokens { return .finished(.length, output: finish(.length)) }
        let token = sampler.sample(logits)
        lastToken = token
        if decodeStart == nil {
            let now = ContinuousClock.now
            decodeStart = now
            stats.promptDuration = now - start
        }
        if options.stopAtEndOfGeneration, tokenizer.isEndOfGeneration(token) {
            return .finished(.stop, output: finish(.stop))
        }
        var output = Output()
        if let k = options.logprobs {
            output.logprobs = Self.logprobs(of: token, in: logits, top: k, tokenizer: tokenizer)
        }
        sampler.accept(token)
        stats.generatedTokens += 1
        stats.tokenIDs.append(token)
        let (text, stopped) = stops.feed(detokenizer.append(token))
        output.text = text
        if stopped {
            // The stop sequence and what follows it are never shown: nothing held back is flushed.
            close(.stop)
            return .finished(.stop, output: output)
        }
        // The next step would evaluate `token` at position promptTokens + generatedTokens - 1.
        if reachedMaxTokens || stats.promptTokens + stats.generatedTokens - 1 >= capacity {
            output.text += finish(.length).text
            return .finished(.length, output: output)
        }
        return .next(token: token, output: output)
    }

    /// Ends the sequence from outside (cancellation), flushing the text held back.
    public mutating func finish(_ reason: GenerationStats.DoneReason) -> Output {
        guard !isFinished else { return Output() }
        var (text, stopped) = stops.feed(detokenizer.finish())
        if !stopped { text += stops.flush() }
        close(reason)
        return Output(text: text)
    }

    private var reachedMaxTokens: Bool { options.maxTokens >= 0 && stats.generatedTokens >= options.maxTokens }

    private mutating func close(_ reason: GenerationStats.DoneReason) {
        isFinished = true
        stats.doneReason = reason
        if let decodeStart {
            stats.generationDuration = ContinuousClock.now - decodeStart
        } else {
            stats.promptDuration = ContinuousClock.now - start
        }
    }

    /// The chosen token's log-probability and the `k` most likely alternatives, from one row of logits.
    static func logprobs(of token: Int32, in logits: [Float], top k: Int, tokenizer: Tokenizer) -> TokenLogprobs {
        func entry(_ id: Int32, _ logprob: Float) -> TokenProbability {
            let bytes = tokenizer.pieceBytes(id)
            return TokenProbability(id: id, text: String(decoding: bytes, as: UTF8.self), bytes: bytes, logprob: logprob)
        }
        let lse = Sampler.logSumExp(logits)
        let chosen = entry(token, logits[Int(token)] - lse)
        let top = k > 0 ? Sampler.topLogProbs(logits, k: k).map { entry($0.id, $0.logprob) } : []
        return TokenLogprobs(token: chosen, top: top)
    }
}
