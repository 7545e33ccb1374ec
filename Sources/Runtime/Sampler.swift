import Foundation

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
public struct Sampler: Sendable {
    public let options: SamplingOptions
    private var rng: Xoshiro256
    /// The penalty window, most recent last.
    private var recent: [Int32] = []

    /// Creates a sampler; `options.seed == nil` draws a fresh seed from the system generator.
    public init(options: SamplingOptions) {
        self.options = options
        var system = SystemRandomNumberGenerator()
        rng = Xoshiro256(seed: options.seed ?? system.next())
    }

    /// Records a token (prompt or generated) in the penalty window.
    public mutating func accept(_ token: Int32) {
        let limit = options.repeatLastN
        if limit == 0 { return }
        recent.append(token)
        // Trim in batches so accepting stays O(1) amortized.
        if limit > 0, recent.count >= 2 * limit { recent.removeFirst(recent.count - limit) }
    }

    /// Records several tokens, e.g. the prompt.
    public mutating func accept(contentsOf tokens: some Sequence<Int32>) {
        for t in tokens { accept(t) }
    }

    /// Forgets the penalty window (the RNG keeps its position).
    public mutating func resetHistory() { recent.removeAll() }

    /// The tokens the penalties currently look at.
    public var penaltyWindow: ArraySlice<Int32> {
        let n = options.repeatLastN
        return n < 0 ? recent[...] : recent.suffix(n)
    }

    /// Runs the chain over one row of logits and returns the chosen token id. Does not `accept` it.
    public mutating func sample(_ logits: [Float]) -> Int32 {
        precondition(!logits.isEmpty, "a logits row has one entry per vocabulary token")
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

    /// Index of the largest logit; the first one wins ties, like llama.cpp's greedy sampler.
    public static func argmax(_ logits: [Float]) -> Int32 {
        var best = 0
        var bestValue = -Float.infinity
        for i in logits.indices where logits[i] > bestValue {
            best = i
            bestValue = logits[i]
        }
        return Int32(best)
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
