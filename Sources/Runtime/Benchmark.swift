import Foundation
import Grammar
import Kernels

/// Throughput figures measured the way llama-bench measures them.
public struct BenchmarkResult: Sendable, Equatable {
    /// Prompt tokens per chunk (`-p`) and generated tokens (`-n`).
    public var promptTokens: Int
    public var generatedTokens: Int
    /// Tokens already in the cache when each timed test starts (`-d`).
    public var depth: Int = 0
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
    /// Runs llama-bench's two tests on `model`, through a one-slot ``RequestScheduler``: the decode path
    /// `swiftlm run`, the library and the server use, so the figures are theirs.
    /// - pp: `promptTokens` arbitrary tokens evaluated as a prompt (in chunks of `batchSize`), timed from
    ///   the request's admission to the end of its prompt (no token is sampled);
    /// - tg: `generatedTokens` decode steps (one-token forward pass and greedy sampling each), timed as the
    ///   scheduler's own generation time: after the first token, which belongs to the prompt.
    ///
    /// Each run starts from a cache holding `depth` arbitrary tokens (llama-bench's `-d`: attention then
    /// reads that many more positions), evaluated untimed by a request of their own and reused as the
    /// timed request's prefix. Each test has one untimed warm-up run first; tokens/s of each repetition
    /// are averaged and their standard deviation reported. A test with 0 tokens is skipped (reported as 0).
    public static func run(model: LoadedModel, promptTokens: Int = 512, generatedTokens: Int = 128,
                           repetitions: Int = 5, batchSize: Int = 512, depth: Int = 0, format: OutputFormat? = nil,
                           kvType: KVCacheType = .default, progress: (String) -> Void = { _ in }) async throws(RuntimeError) -> BenchmarkResult {
        guard promptTokens >= 0, generatedTokens >= 0, promptTokens + generatedTokens > 0 else {
            throw .invalidOption(name: "-p/-n", value: "\(promptTokens)/\(generatedTokens)", expected: "token counts >= 0, not both 0")
        }
        guard repetitions >= 1 else {
            throw .invalidOption(name: "repetitions", value: String(repetitions), expected: "an integer >= 1")
        }
        guard depth >= 0 else {
            throw .invalidOption(name: "depth", value: String(depth), expected: "an integer >= 0")
        }
        guard batchSize >= 1 else {
            throw .invalidOption(name: "batch-size", value: String(batchSize), expected: "an integer >= 1")
        }
        // tg's prompt is one token after the depth, and its last sampled token is never evaluated: one
        // position more than the evaluated tokens, which the scheduler wants free for that token. Constrained
        // tg restarts its grammar with a request that samples at least one token not run as a timed pass:
        // at most one more position per timed pass.
        let needed = depth + max(promptTokens, generatedTokens * (format == nil ? 1 : 2)) + 1
        let trained = model.trainedContextLength
        if trained > 0, needed > trained { throw .contextOverflow(needed: needed, capacity: trained) }
        let scheduler = RequestScheduler(model: model, maxQueue: 1, parallel: 1, batchSize: batchSize, kvType: kvType)
        var rng = Xoshiro256(seed: 1234)
        let vocab = UInt64(model.model.info.vocabSize)
        func randomTokens(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32(rng.next() % vocab) } }

        /// Runs one request to its end and returns its statistics.
        func generate(_ prompt: [Int32], maxTokens: Int, format: OutputFormat? = nil) async throws(RuntimeError) -> GenerationStats {
            // Greedy, never stopping early: a tg run makes exactly its forward passes, as llama-bench's.
            // Under a grammar the output ends where the grammar does (its end-of-generation token).
            let options = GenerationOptions(sampling: .greedy, maxTokens: maxTokens, stopAtEndOfGeneration: format != nil,
                                            format: format)
            let events = try scheduler.submit(GenerationRequest(prompt: prompt, options: options, contextLength: needed))
            do {
                if let stats = try await events.finalStats() { return stats }
            } catch let error as RuntimeError {
                throw error
            } catch {
                // The scheduler fails a stream with a RuntimeError only; anything else is this task's cancellation.
                throw .cancelled
            }
            // A stream ends without its final event only when the scheduler shut down (cancelled).
            throw .cancelled
        }
        /// `depth` arbitrary tokens in the slot's cache, evaluated untimed; the timed prompt starts with them.
        func prefill() async throws(RuntimeError) -> [Int32] {
            let prefix = randomTokens(depth)
            // The scheduler evaluates every token of a prompt it holds none of (the last one for its
            // logits), and `maxTokens` 0 samples nothing.
            if depth > 0 { _ = try await generate(prefix, maxTokens: 0) }
            return prefix
        }
        func promptRun() async throws(RuntimeError) -> Double {
            let prefix = try await prefill()
            // Only the tokens after the reused depth are evaluated and counted.
            return try await generate(prefix + randomTokens(promptTokens), maxTokens: 0).promptTokensPerSecond
        }
        func generationRun(_ n: Int) async throws(RuntimeError) -> Double {
            let prefix = try await prefill()
            // The first token is sampled from the prompt's logits; the n after it each take one decode
            // pass, which is what the scheduler's generation rate counts.
            return try await generate(prefix + randomTokens(1), maxTokens: n + 1).generationTokensPerSecond
        }
        // Constrained tg: the same greedy decode steps under the grammar (masking, parse and detokenizing
        // included). A finished output starts the grammar over with a new request whose prompt is the
        // sequence so far: the cache is reused, only the last token is evaluated again (untimed, as the
        // prompt pass of a plain tg run), and positions keep growing as in one long output.
        if let format { _ = try StructuredOutputCache.constraint(format, tokenizer: model.tokenizer) }
        var samplingTime = Duration.zero, firstRunSampling = Duration.zero
        func constrainedRun(_ n: Int) async throws(RuntimeError) -> Double {
            guard let format else { return 0 }
            var sequence = try await prefill() + randomTokens(1)
            var passes = 0, time = Duration.zero
            while passes < n {
                let stats = try await generate(sequence, maxTokens: n - passes + 1, format: format)
                // A request sampling nothing (a grammar whose output may be empty) would repeat forever.
                guard stats.generatedTokens > 0 else {
                    throw .invalidOption(name: "schema", value: "a format whose output may be empty",
                                         expected: "a format that makes at least one token")
                }
                // Timed passes: one per step after the first, and the step that sampled the grammar's
                // end-of-generation token (not a generated token) followed one too.
                passes += stats.generatedTokens - 1 + (stats.doneReason == .stop ? 1 : 0)
                time += stats.generationDuration
                samplingTime += stats.stepDuration
                sequence += stats.tokenIDs
            }
            return Double(passes) / time.seconds
        }

        var pp: [Double] = [], tg: [Double] = [], ctg: [Double] = []
        if promptTokens > 0 {
            progress("warm-up pp\(promptTokens)")
            _ = try await promptRun()
            for r in 0..<repetitions {
                progress("pp\(promptTokens) \(r + 1)/\(repetitions)")
                pp.append(try await promptRun())
            }
        }
        if generatedTokens > 0 {
            progress("warm-up tg")
            _ = try await generationRun(1)
            if format != nil {
                progress("warm-up constrained tg")
                _ = try await constrainedRun(generatedTokens)
            }
            firstRunSampling = samplingTime
            samplingTime = .zero
            // Plain and constrained runs alternate, so a shared machine's load falls on both alike.
            for r in 0..<repetitions {
                progress("tg\(generatedTokens) \(r + 1)/\(repetitions)")
                tg.append(try await generationRun(generatedTokens))
                if format != nil {
                    progress("constrained tg\(generatedTokens) \(r + 1)/\(repetitions)")
                    ctg.append(try await constrainedRun(generatedTokens))
                }
            }
        }
        let (ppMean, ppSD) = meanAndStdDev(pp)
        let (tgMean, tgSD) = meanAndStdDev(tg)
        var result = BenchmarkResult(promptTokens: promptTokens, generatedTokens: generatedTokens, depth: depth, repetitions: repetitions,
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

/// Throughput of ``RequestScheduler`` with several sequences at once (llama-batched-bench's S_TG).
public struct ParallelBenchmarkResult: Sendable, Equatable {
    public var parallel: Int
    public var promptTokens: Int
    public var generatedTokens: Int
    public var repetitions: Int
    public var threads: Int
    /// Aggregate generation tokens/s over all sequences: mean and standard deviation over the repetitions.
    public var tg: Double
    public var tgStdDev: Double
    /// Time to first token over every request of every repetition, in seconds.
    public var ttftP50: Double
    public var ttftP99: Double
}

extension Benchmark {
    /// Runs `parallel` requests at once through a ``RequestScheduler`` with as many slots: each a
    /// different prompt of `promptTokens` arbitrary tokens (nothing to reuse), then `generatedTokens`
    /// greedy tokens, never stopping early.
    ///
    /// tg is every token after each request's first, divided by the time from the first request's
    /// first token to the last request's end (llama-batched-bench's S_TG, which also times decoding
    /// alone). Time to first token is from a request's admission (at once: there are as many slots as
    /// requests) to its first sampled token. One untimed warm-up
    /// round runs first.
    ///
    /// The scheduler's tick budget holds every prompt, so all of them are read in the first tick and
    /// every request samples its first token at the end of it, as llama-batched-bench decodes all its
    /// prompts in one batch before timing generation. With the server's 512-token budget, 8 prompts of
    /// 128 would take two ticks and the second one's 512-row prefill would fall inside the tg window
    /// (a third of it, at 8 x pp128+tg64): tg would time prefill as well as decoding.
    public static func parallel(model: LoadedModel, parallel: Int, promptTokens: Int = 128, generatedTokens: Int = 128,
                                repetitions: Int = 3, kvType: KVCacheType = .default, progress: @Sendable (String) -> Void = { _ in }) async throws -> ParallelBenchmarkResult {
        guard parallel >= 1 else {
            throw RuntimeError.invalidOption(name: "parallel", value: String(parallel), expected: "an integer >= 1")
        }
        guard promptTokens >= 1, generatedTokens >= 2 else {
            throw RuntimeError.invalidOption(name: "-p/-n", value: "\(promptTokens)/\(generatedTokens)",
                                             expected: "at least 1 prompt token and 2 generated tokens")
        }
        guard repetitions >= 1 else {
            throw RuntimeError.invalidOption(name: "repetitions", value: String(repetitions), expected: "an integer >= 1")
        }
        let context = promptTokens + generatedTokens
        let trained = model.trainedContextLength
        if trained > 0, context > trained { throw RuntimeError.contextOverflow(needed: context, capacity: trained) }
        let scheduler = RequestScheduler(model: model, maxQueue: parallel, parallel: parallel,
                                         batchSize: max(512, parallel * promptTokens), kvType: kvType)
        var rng = Xoshiro256(seed: 4321)
        let vocab = UInt64(model.model.info.vocabSize)
        let options = GenerationOptions(sampling: .greedy, maxTokens: generatedTokens, stopAtEndOfGeneration: false)

        func round() async throws -> (tg: Double, ttft: [Double]) {
            let requests = (0 ..< parallel).map { _ in
                GenerationRequest(prompt: (0 ..< promptTokens).map { _ in Int32(rng.next() % vocab) }, options: options,
                                  contextLength: context)
            }
            let t0 = ContinuousClock.now
            var streams: [AsyncThrowingStream<GenerationEvent, Error>] = []
            for r in requests { streams.append(try scheduler.submit(r)) }
            let runs = try await withThrowingTaskGroup(of: (GenerationStats, ContinuousClock.Instant).self) { group in
                for s in streams {
                    group.addTask {
                        (try await s.finalStats() ?? GenerationStats(), ContinuousClock.now)
                    }
                }
                var out: [(GenerationStats, ContinuousClock.Instant)] = []
                for try await r in group { out.append(r) }
                return out
            }
            // Every request was admitted at once (as many slots as requests), so its prompt time counts from t0.
            let ttft = runs.map { $0.0.promptDuration.seconds }
            let firstToken = runs.map { t0 + $0.0.promptDuration }.min()!
            let end = runs.map(\.1).max()!
            let tokens = runs.reduce(0) { $0 + max(0, $1.0.generatedTokens - 1) }
            return (Double(tokens) / (end - firstToken).seconds, ttft)
        }

        progress("warm-up parallel \(parallel)")
        _ = try await round()
        var tg: [Double] = [], ttft: [Double] = []
        for r in 0 ..< repetitions {
            progress("parallel \(parallel) pp\(promptTokens)+tg\(generatedTokens) \(r + 1)/\(repetitions)")
            let (t, f) = try await round()
            tg.append(t)
            ttft += f
        }
        let (mean, sd) = meanAndStdDev(tg)
        ttft.sort()
        func percentile(_ q: Double) -> Double { ttft[min(ttft.count - 1, Int((q * Double(ttft.count - 1)).rounded(.up)))] }
        return ParallelBenchmarkResult(parallel: parallel, promptTokens: promptTokens, generatedTokens: generatedTokens,
                                       repetitions: repetitions, threads: model.pool.threadCount, tg: mean, tgStdDev: sd,
                                       ttftP50: percentile(0.5), ttftP99: percentile(0.99))
    }
}
