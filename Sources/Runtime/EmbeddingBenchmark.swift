import Foundation

/// Embedding throughput for one batch size.
public struct EmbeddingBenchmarkResult: Sendable, Equatable {
    /// Sentences per ``LoadedModel/embed(_:)`` call.
    public var batchSize: Int
    /// Mean tokens per sentence, [CLS] / [SEP] or BOS included.
    public var tokensPerSentence: Double
    public var repetitions: Int
    public var threads: Int
    /// Sentences per second, tokenization included: mean and sample standard deviation.
    public var sentencesPerSecond: Double
    public var sentencesPerSecondStdDev: Double
}

extension Benchmark {
    /// `swiftlm bench --embed`: sentences per second of ``LoadedModel/embed(_:)`` for each batch size,
    /// on distinct synthetic English sentences of `words` words (about 20 tokens for 18 words).
    /// One untimed warm-up call per batch size, then `repetitions` timed calls.
    public static func embed(model: LoadedModel, batchSizes: [Int] = [1, 32, 256], words: Int = 18, repetitions: Int = 5,
                             progress: (String) -> Void = { _ in }) throws(RuntimeError) -> [EmbeddingBenchmarkResult] {
        guard repetitions >= 1 else {
            throw .invalidOption(name: "repetitions", value: String(repetitions), expected: "an integer >= 1")
        }
        if let bad = batchSizes.first(where: { $0 < 1 }) {
            throw .invalidOption(name: "batch size", value: String(bad), expected: "an integer >= 1")
        }
        var rng = Xoshiro256(seed: 42)
        var results: [EmbeddingBenchmarkResult] = []
        for size in batchSizes {
            func batch() -> [String] { (0 ..< size).map { _ in sentence(words: words, &rng) } }
            progress("warm-up embed x\(size)")
            _ = try model.embed(batch())
            var rates: [Double] = []
            var tokens = 0
            for r in 0 ..< repetitions {
                progress("embed x\(size) \(r + 1)/\(repetitions)")
                let texts = batch()
                tokens += texts.reduce(0) { $0 + model.embeddingTokens($1).count }
                let t0 = ContinuousClock.now
                _ = try model.embed(texts)
                rates.append(Double(size) / (ContinuousClock.now - t0).seconds)
            }
            let (mean, sd) = meanAndStdDev(rates)
            results.append(EmbeddingBenchmarkResult(
                batchSize: size, tokensPerSentence: Double(tokens) / Double(size * repetitions), repetitions: repetitions,
                threads: model.pool.threadCount, sentencesPerSecond: mean, sentencesPerSecondStdDev: sd))
        }
        return results
    }

    /// A fresh pseudo-random sentence, so no call can reuse another's work.
    static func sentence(words: Int, _ rng: inout Xoshiro256) -> String {
        var out: [String] = []
        for _ in 0 ..< max(1, words) { out.append(benchmarkWords[Int(rng.next() % UInt64(benchmarkWords.count))]) }
        return out.joined(separator: " ").capitalizedFirst + "."
    }

    static let benchmarkWords = [
        "the", "model", "runs", "on", "a", "laptop", "and", "answers", "questions", "about", "documents", "with", "care",
        "search", "finds", "similar", "sentences", "quickly", "every", "morning", "team", "ships", "new", "features",
        "users", "ask", "for", "better", "results", "in", "their", "own", "language", "data", "stays", "local", "fast",
        "vectors", "compare", "meaning", "city", "river", "weather", "report", "market", "price", "rises", "falls",
    ]
}

private extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
