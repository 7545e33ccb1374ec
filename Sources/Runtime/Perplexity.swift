import Foundation

/// The outcome of a perplexity run.
public struct PerplexityResult: Sendable, Equatable {
    /// exp(mean negative log-likelihood) over the scored tokens.
    public var perplexity: Double
    /// Tokens in the whole text.
    public var tokens: Int
    /// Chunks evaluated.
    public var chunks: Int
    /// Tokens per chunk.
    public var contextLength: Int
    /// Tokens scored (the second half of every chunk).
    public var scoredTokens: Int
    /// Standard error of the perplexity estimate, as llama-perplexity prints it after "+/-".
    public var standardError: Double
}

extension InferenceContext {
    /// Perplexity of `tokens` with llama-perplexity's default method, so the numbers compare directly:
    /// floor(n / ctx) non-overlapping chunks of `ctx` tokens, each evaluated from an empty cache with its
    /// first token replaced by BOS when the model adds BOS; only the second half of each chunk is scored
    /// (the logits at positions ctx/2 ... ctx-2 predict the tokens after them), so every scored token has
    /// at least ctx/2 tokens of context.
    ///
    /// `tokens` should be the text tokenized with special tokens added (BOS) but not parsed.
    /// - Parameter progress: called after each chunk with (chunks done, running perplexity).
    /// - Throws: ``RuntimeError/notEnoughText(tokens:needed:context:)`` with fewer than 2 × ctx tokens.
    public func perplexity(tokens: [Int32], chunkLength: Int? = nil,
                           progress: (Int, Double) -> Void = { _, _ in }) throws(RuntimeError) -> PerplexityResult {
        let n = chunkLength ?? capacity
        guard n >= 2, n <= capacity else {
            throw .invalidOption(name: "ctx", value: String(n), expected: "2 ... \(capacity)")
        }
        guard tokens.count >= 2 * n else { throw .notEnoughText(tokens: tokens.count, needed: 2 * n, context: n) }
        let tokenizer = model.tokenizer
        let vocab = model.model.info.vocabSize
        let chunks = tokens.count / n
        let first = n / 2
        var nll = 0.0, nll2 = 0.0
        var count = 0
        for c in 0..<chunks {
            var chunk = Array(tokens[(c * n)..<((c + 1) * n)])
            if tokenizer.addBOS, let bos = tokenizer.bosID { chunk[0] = bos }
            reset()
            // Evaluate in batches and score rows as they come, so memory stays at one batch of logits
            // (a whole chunk of a 150k vocabulary would be gigabytes).
            var start = 0
            while start < n {
                let end = min(start + batchSize, n)
                let from = max(first - start, 0)
                let logits = try evaluate(Array(chunk[start..<end]), logits: from < end - start ? .all(from: from) : .none)
                let rows = logits.count / vocab
                for r in 0..<rows {
                    let position = start + from + r
                    guard position < n - 1 else { continue } // the last position predicts past the chunk
                    let row = Array(logits[(r * vocab)..<((r + 1) * vocab)])
                    let v = Double(Sampler.logSumExp(row) - row[Int(chunk[position + 1])])
                    nll += v
                    nll2 += v * v
                    count += 1
                }
                start = end
            }
            progress(c + 1, exp(nll / Double(count)))
        }
        let mean = nll / Double(count)
        let ppl = exp(mean)
        let variance = nll2 / Double(count) - mean * mean
        let stderr = variance > 0 && count > 1 ? (variance / Double(count - 1)).squareRoot() * ppl : 0
        reset()
        return PerplexityResult(perplexity: ppl, tokens: tokens.count, chunks: chunks, contextLength: n,
                                scoredTokens: count, standardError: stderr)
    }
}
