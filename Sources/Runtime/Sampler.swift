import Foundation
import Kernels
import Grammar

/// Picks the next token from a row of logits, with a fixed chain of stages:
///
/// 1. penalties (repeat / frequency / presence over the last `repeatLastN` accepted tokens)
/// 2. top-k  3. top-p  4. min-p  (all judged on the penalized logits, before temperature, as llama.cpp does)
/// 5. temperature  6. draw with the sampler's own seeded PRNG.
///
/// Temperature 0 short-circuits the chain into argmax over the model's raw logits (no penalties), so greedy
/// output is exactly the model's own top choice — the same tokens llama.cpp's greedy sampler gives.
/// The draw depends only on the logits, the seed and how many tokens were sampled before, never on how the
/// prompt was batched.
///
/// With a `constraint` (a grammar, see ``GrammarMatcher``) the sampler is constrained: ``sample(_:)``
/// first masks every token that cannot continue the parse (only end-of-generation once the output is
/// complete and nothing may follow), and ``accept(_:)`` advances the parse by each generated token. Any
/// decode loop that samples with ``sample(_:)`` and reports generated tokens with ``accept(_:)`` gets
/// structured output; prompt tokens go to ``acceptPrompt(contentsOf:)``, which the grammar never sees.
public struct Sampler: Sendable {
    public let options: SamplingOptions
    private var rng: Xoshiro256
    /// The penalty window, most recent last.
    private var recent: [Int32] = []
    /// The parse of the generated text, when the output must follow a grammar.
    public private(set) var constraint: GrammarMatcher?
    /// Generated tokens allowed in all (`-1`: no limit). A constrained sampler steers the output to
    /// completion before the budget runs out (see ``sample(_:)``).
    public let tokenBudget: Int
    /// Generated tokens accepted so far.
    public private(set) var generatedCount = 0

    /// Creates a sampler; `options.seed == nil` draws a fresh seed from the system generator.
    /// - Parameters:
    ///   - constraint: the grammar the generated text must follow, at its start.
    ///   - tokenBudget: the generation's token limit (`-1` for none), so the grammar can close in time.
    public init(options: SamplingOptions, constraint: GrammarMatcher? = nil, tokenBudget: Int = -1) {
        self.options = options
        var system = SystemRandomNumberGenerator()
        rng = Xoshiro256(seed: options.seed ?? system.next())
        self.constraint = constraint
        self.tokenBudget = tokenBudget
    }

    /// Records a generated token: the penalty window, and the grammar's parse when constrained.
    public mutating func accept(_ token: Int32) {
        record(token)
        generatedCount += 1
        constraint?.accept(token)
    }

    /// Records prompt tokens in the penalty window only; the grammar constrains the generated text alone.
    public mutating func acceptPrompt(contentsOf tokens: some Sequence<Int32>) {
        for t in tokens { record(t) }
    }

    /// Records prompt tokens (the same as ``acceptPrompt(contentsOf:)``: never advances the grammar).
    public mutating func accept(contentsOf tokens: some Sequence<Int32>) {
        acceptPrompt(contentsOf: tokens)
    }

    private mutating func record(_ token: Int32) {
        let limit = options.repeatLastN
        if limit == 0 { return }
        recent.append(token)
        // Trim in batches so accepting stays O(1) amortized.
        if limit > 0, recent.count >= 2 * limit { recent.removeFirst(recent.count - limit) }
    }

    /// Forgets the penalty window (the RNG keeps its position).
    public mutating func resetHistory() { recent.removeAll() }

    /// The tokens the penalties currently look at.
    public var penaltyWindow: ArraySlice<Int32> {
        let n = options.repeatLastN
        return n < 0 ? recent[...] : recent.suffix(n)
    }

    /// Runs the chain over one row of logits and returns the chosen token id. Does not `accept` it.
    ///
    /// Constrained, the chain runs on the logits of the tokens the grammar allows. With a token budget, a
    /// choice that would leave more bytes to finish the output than tokens remain is replaced by the most
    /// likely allowed token that brings the end closer, so the output completes within the budget (each such
    /// token shortens the shortest completion by at least one byte, and single-byte tokens always exist).
    public mutating func sample(_ logits: [Float]) -> Int32 {
        precondition(!logits.isEmpty, "a logits row has one entry per vocabulary token")
        guard var matcher = constraint else { return sampleUnconstrained(logits) }
        defer { constraint = matcher }
        let mask = matcher.allowedTokens()
        var masked = [Float](repeating: -.infinity, count: logits.count)
        var any = false
        for (w, word) in mask.words.enumerated() where word != 0 {
            var bits = word
            while bits != 0 {
                let i = w << 6 | bits.trailingZeroBitCount
                bits &= bits - 1
                if i < logits.count { masked[i] = logits[i]; any = true }
            }
        }
        // A dead parse (a token the grammar rejected was accepted): end the output.
        guard any else { return matcher.constraint.vocabulary.endOfGeneration.first ?? Sampler.argmax(logits) }
        var token = sampleUnconstrained(masked)
        guard tokenBudget >= 0, !matcher.mustEnd else { return token }
        let remaining = tokenBudget - generatedCount
        let isEnd = matcher.constraint.vocabulary.endOfGeneration.contains(token)
        if !isEnd, let after = matcher.distance(after: token), after <= remaining - 1 { return token }
        if isEnd { return token }
        // Steer to completion: the most likely allowed token that shortens the way to the end.
        let now = matcher.distanceToEnd
        var order = (0..<masked.count).filter { masked[$0] > -.infinity }
        order.sort { masked[$0] > masked[$1] }
        for i in order {
            let t = Int32(i)
            if matcher.constraint.vocabulary.endOfGeneration.contains(t) { return t }
            if let after = matcher.distance(after: t), after < now { token = t; break }
        }
        return token
    }

    private mutating func sampleUnconstrained(_ logits: [Float]) -> Int32 {
        if options.isGreedy { return Sampler.argmax(logits) }
        var adjusted = logits
        PenaltyStage(
            repeatPenalty: options.repeatPenalty, frequencyPenalty: options.frequencyPenalty,
            presencePenalty: options.presencePenalty
        ).apply(to: &adjusted, window: penaltyWindow)
        var c = Candidates(logits: adjusted)
        TopKStage(k: options.topK).apply(&c)
        TopPStage(p: options.topP).apply(&c)
        MinPStage(p: options.minP).apply(&c)
        TemperatureStage(temperature: options.temperature).apply(&c)
        return DrawStage().apply(c, using: &rng)
    }

    /// Index of the largest logit; the first one wins ties, like llama.cpp's greedy sampler (NaNs are
    /// skipped; 0 when nothing exceeds -infinity). Vectorized (``Ops/argmax(_:count:)``): the scalar loop
    /// took ~80 us per 151936-logit row, serial on the batch engine's thread for every decoding sequence.
    public static func argmax(_ logits: [Float]) -> Int32 {
        logits.withUnsafeBufferPointer { b in b.isEmpty ? 0 : Int32(Ops.argmax(b.baseAddress!, count: b.count)) }
    }

    /// The `k` most likely tokens under the model's own distribution (temperature 1, no penalties),
    /// with natural-log probabilities, most likely first. For `explain` and API log-probs.
    public static func topLogProbs(_ logits: [Float], k: Int) -> [(id: Int32, logprob: Float)] {
        var c = Candidates(logits: logits)
        TopKStage(k: max(k, 1)).apply(&c)
        c.sort()
        let lse = logSumExp(logits)
        return zip(c.ids, c.logits).map { ($0, $1 - lse) }
    }

    /// log Σ exp(logits), computed stably in double precision.
    public static func logSumExp(_ logits: [Float]) -> Float {
        guard let m = logits.max() else { return -.infinity }
        var sum = 0.0
        for l in logits { sum += exp(Double(l - m)) }
        return m + Float(log(sum))
    }
}
