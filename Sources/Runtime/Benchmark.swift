import Foundation
import Grammar

/// Throughput figures measured the way llama-bench measures them.
public struct BenchmarkResult: Sendable, Equatable {
    /// Prompt tokens per chunk (`-p`) and generated tokens (`-n`).
    public var promptTokens: Int
    public var generatedTokens: Int
    public var repetitions: Int
    public var threads: Int
    /// Prompt processing, tokens/s: mean and sample standard deviation over the repetitions.
    public var pp: Double
    public var ppStdDev: Double
    /// Token generation, tokens/s.
    public var tg: Double
    public var tgStdDev: Double
    /// Token generation under a grammar (`bench --schema`), measured interleaved with the plain tg runs;
    /// nil without a format.
    public var constrainedTG: Double? = nil
    public var constrainedTGStdDev: Double? = nil
    /// Milliseconds per token spent choosing under the grammar (masks, sampling, parse) in the timed runs,
    /// and in the first run of the grammar, which also computes its cached masks.
    public var constrainedSampleMilliseconds: Double? = nil
    public var constrainedFirstRunSampleMilliseconds: Double? = nil
}

public enum Benchmark {
    /// Runs llama-bench's two tests on `model`:
    /// - pp: `promptTokens` arbitrary tokens evaluated as one batch into an empty cache;
    /// - tg: `generatedTokens` single-token forward passes from an empty cache.
    ///
    /// Each test has one untimed warm-up run first; tokens/s of each repetition are averaged and their
    /// standard deviation reported. A test with 0 tokens is skipped (reported as 0).
    public static func run(model: LoadedModel, promptTokens: Int = 512, generatedTokens: Int = 128,
                           repetitions: Int = 5, batchSize: Int = 512, format: OutputFormat? = nil,
                           progress: (String) -> Void = { _ in }) throws(RuntimeError) -> BenchmarkResult {
        guard promptTokens >= 0, generatedTokens >= 0, promptTokens + generatedTokens > 0 else {
            throw .invalidOption(name: "-p/-n", value: "\(promptTokens)/\(generatedTokens)", expected: "token counts >= 0, not both 0")
        }
        guard repetitions >= 1 else {
            throw .invalidOption(name: "repetitions", value: String(repetitions), expected: "an integer >= 1")
        }
        let needed = max(promptTokens, generatedTokens)
        let trained = model.trainedContextLength
        if trained > 0, needed > trained { throw .contextOverflow(needed: needed, capacity: trained) }
        let context = try InferenceContext(model: model, contextLength: needed, batchSize: batchSize)
        var rng = Xoshiro256(seed: 1234)
        let vocab = UInt64(model.model.info.vocabSize)
        func randomTokens(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32(rng.next() % vocab) } }

        func promptRun() throws(RuntimeError) -> Double {
            let tokens = randomTokens(promptTokens)
            context.reset()
            let t0 = ContinuousClock.now
            _ = try context.evaluate(tokens, logits: .last)
            return Double(promptTokens) / (ContinuousClock.now - t0).seconds
        }
        // Constrained tg: the same single-token decodes, each token chosen by a greedy sampler under the
        // grammar (masking and parse included); a finished output starts the grammar over.
        let constraint = try format.map { f throws(RuntimeError) in try StructuredOutputCache.constraint(f, tokenizer: model.tokenizer) }
        var samplingTime = Duration.zero, firstRunSampling = Duration.zero
        func constrainedRun(_ n: Int) throws(RuntimeError) -> Double {
            guard let constraint else { return 0 }
            let greedy = SamplingOptions(temperature: 0)
            var sampler = Sampler(options: greedy, constraint: GrammarMatcher(constraint))
            var token = randomTokens(1)[0]
            context.reset()
            let t0 = ContinuousClock.now
            for _ in 0..<n {
                let logits = try context.evaluate([token], logits: .last, kernels: .fastest)
                let s0 = ContinuousClock.now
                token = sampler.sample(logits)
                sampler.accept(token)
                if sampler.constraint?.mustEnd ?? true { sampler = Sampler(options: greedy, constraint: GrammarMatcher(constraint)) }
                samplingTime += ContinuousClock.now - s0
            }
            return Double(n) / (ContinuousClock.now - t0).seconds
        }
        func generationRun(_ n: Int) throws(RuntimeError) -> Double {
            var token = randomTokens(1)[0]
            context.reset()
            let t0 = ContinuousClock.now
            for _ in 0..<n {
                let logits = try context.evaluate([token], logits: .last, kernels: .fastest)
                token = Sampler.argmax(logits)
            }
            return Double(n) / (ContinuousClock.now - t0).seconds
        }

        var pp: [Double] = [], tg: [Double] = [], ctg: [Double] = []
        if promptTokens > 0 {
            progress("warm-up pp\(promptTokens)")
            _ = try promptRun()
            for r in 0..<repetitions {
                progress("pp\(promptTokens) \(r + 1)/\(repetitions)")
                pp.append(try promptRun())
            }
        }
        if generatedTokens > 0 {
            progress("warm-up tg")
            _ = try generationRun(1)
            if constraint != nil {
                progress("warm-up constrained tg")
                _ = try constrainedRun(generatedTokens)
            }
            firstRunSampling = samplingTime
            samplingTime = .zero
            // Plain and constrained runs alternate, so a shared machine's load falls on both alike.
            for r in 0..<repetitions {
                progress("tg\(generatedTokens) \(r + 1)/\(repetitions)")
                tg.append(try generationRun(generatedTokens))
                if constraint != nil {
                    progress("constrained tg\(generatedTokens) \(r + 1)/\(repetitions)")
                    ctg.append(try constrainedRun(generatedTokens))
                }
            }
        }
        context.reset()
        let (ppMean, ppSD) = meanAndStdDev(pp)
        let (tgMean, tgSD) = meanAndStdDev(tg)
        var result = BenchmarkResult(promptTokens: promptTokens, generatedTokens: generatedTokens, repetitions: repetitions,
                                     threads: model.pool.threadCount, pp: ppMean, ppStdDev: ppSD, tg: tgMean, tgStdDev: tgSD)
        if !ctg.isEmpty {
            (result.constrainedTG, result.constrainedTGStdDev) = meanAndStdDev(ctg)
            result.constrainedSampleMilliseconds = samplingTime.seconds * 1000 / Double(generatedTokens * repetitions)
            result.constrainedFirstRunSampleMilliseconds = firstRunSampling.seconds * 1000 / Double(generatedTokens)
        }
        return result
    }

    /// Mean and sample standard deviation (0 for fewer than two values), as llama-bench reports them.
    public static func meanAndStdDev(_ xs: [Double]) -> (Double, Double) {
        guard !xs.isEmpty else { return (0, 0) }
        let mean = xs.reduce(0, +) / Double(xs.count)
        guard xs.count > 1 else { return (mean, 0) }
        let v = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(xs.count - 1)
        return (mean, v.squareRoot())
    }
}
