import ArgumentParser
import Foundation
import SwiftLM

struct BenchCommand: AsyncParsableCommand, CommandErrorHints {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure prompt processing (pp) and token generation (tg) speed, as llama-bench does.",
        discussion: """
            pp: one batch of -p arbitrary tokens into an empty cache. tg: -n single-token decodes from an \
            empty cache. With -d N, both start after N arbitrary tokens already in the cache (as llama-bench \
            -d). One warm-up run each, then the mean ± standard deviation over --repetitions.
            --parallel N instead runs N requests at once through the batching scheduler (-p prompt tokens \
            each, then -n generated), as llama-batched-bench does: aggregate generation tokens/s and time to \
            first token (p50, p99).
            --embed instead measures embedding: sentences per second for batches of 1, 32 and 256 distinct \
            sentences of about 20 tokens (tokenization included).
            """
    )

    @Argument(help: "Model name or path to a .gguf file.")
    var model: String
    @Option(name: .short, parsing: .unconditional, help: "Prompt tokens for the pp test (0 skips it).")
    var p = 512
    @Option(name: .short, parsing: .unconditional, help: "Generated tokens for the tg test (0 skips it).")
    var n = 128
    @Option(name: [.customShort("d"), .long], parsing: .unconditional, help: "Tokens already in the cache before each test (llama-bench -d).")
    var depth = 0
    @Option(parsing: .unconditional, help: "Kernel threads (default: physical cores, or SWIFTLM_THREADS; at most the CPU count).")
    var threads: Int?
    @Option(name: [.customShort("r"), .long], parsing: .unconditional, help: "Timed repetitions of each test.")
    var repetitions = 5
    @Flag(help: "Print JSON: {\"pp\":…,\"pp_sd\":…,\"tg\":…,\"tg_sd\":…,…}.")
    var json = false
    @Option(parsing: .unconditional, help: "Concurrent sequences: measure aggregate tg and time to first token through the scheduler.")
    var parallel: Int?
    @Flag(help: "Measure embedding throughput (sentences/s for batches of 1, 32 and 256) instead of pp / tg.")
    var embed = false
    @Option(help: "Also measure tg constrained by this JSON Schema file (runs alternate with plain tg).")
    var schema: String?

    @Option(name: .customLong("kv-type"), help: "KV cache type: f32, f16 or q8_0 (default f16, like llama-bench's -ctk/-ctv).")
    var kvType: KVCacheType = .default

    func validate() throws {
        if p < 0 || n < 0 || p + n == 0 {
            throw ValidationError("invalid values -p \(p) -n \(n): expected token counts >= 0, not both 0")
        }
        if depth < 0 { throw ValidationError("invalid value -d \(depth): expected an integer >= 0") }
        try validateAtLeastOne(repetitions, "--repetitions")
        try validateAtLeastOne(threads, "--threads")
        try validateAtLeastOne(parallel, "--parallel")
        if parallel != nil, p < 1 || n < 2 { throw ValidationError("--parallel needs -p >= 1 and -n >= 2") }
    }

    func hint(for error: any Error) -> String? {
        if case RuntimeError.contextOverflow = error { return "use smaller -p / -n / -d values" }
        return nil
    }

    func run() async throws {
        let loaded = try await loadModel(model, threads: threads)
        if embed { return try runEmbed(loaded) }
        if let parallel { return try await runParallel(loaded, parallel) }
        let quiet = json
        let format = try schema.map { path in OutputFormat.jsonSchema(decodeText(try readFile(path, what: "JSON Schema file"), from: path)) }
        let r = try await Benchmark.run(model: loaded, promptTokens: p, generatedTokens: n, repetitions: repetitions,
                                  depth: depth, format: format, kvType: kvType) { step in
            if !quiet { Terminal.redrawStatus(step) }
        }
        if json {
            var object: [String: Any] = [
                "model": loaded.name, "threads": r.threads, "repetitions": r.repetitions,
                "n_prompt": r.promptTokens, "n_gen": r.generatedTokens, "n_depth": r.depth, "type_kv": kvType.rawValue,
                "pp": r.pp, "pp_sd": r.ppStdDev, "tg": r.tg, "tg_sd": r.tgStdDev,
            ]
            if let c = r.constrainedTG {
                object["tg_schema"] = c
                object["tg_schema_sd"] = r.constrainedTGStdDev ?? 0
                object["schema_sample_ms"] = r.constrainedSampleMilliseconds ?? 0
                object["schema_first_run_sample_ms"] = r.constrainedFirstRunSampleMilliseconds ?? 0
            }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            writeStandardOutput(String(decoding: data, as: UTF8.self) + "\n")
            return
        }
        Terminal.clearStatus()
        var out = "| model | threads | type_kv | test | t/s |\n|---|---|---|---|---|\n"
        let at = depth > 0 ? " @ d\(depth)" : "", kv = kvType.rawValue
        if p > 0 { out += "| \(loaded.name) | \(r.threads) | \(kv) | pp\(p)\(at) | \(String(format: "%.2f ± %.2f", r.pp, r.ppStdDev)) |\n" }
        if n > 0 { out += "| \(loaded.name) | \(r.threads) | \(kv) | tg\(n)\(at) | \(String(format: "%.2f ± %.2f", r.tg, r.tgStdDev)) |\n" }
        if let c = r.constrainedTG, let sd = r.constrainedTGStdDev, r.tg > 0 {
            out += "| \(loaded.name) | \(r.threads) | tg\(n)\(at) schema | \(String(format: "%.2f ± %.2f", c, sd)) "
                + "(\(String(format: "%+.1f%%", (c / r.tg - 1) * 100))) |\n"
            out += "\nchoosing a token under the schema: \(String(format: "%.2f", r.constrainedSampleMilliseconds ?? 0)) ms "
                + "(first run, computing the cached masks: \(String(format: "%.2f", r.constrainedFirstRunSampleMilliseconds ?? 0)) ms); "
                + "a plain tg token takes \(String(format: "%.1f", 1000 / r.tg)) ms\n"
        }
        writeStandardOutput(out)
    }
}

extension BenchCommand {
    /// `--parallel N`: one row.
    func runParallel(_ loaded: LoadedModel, _ parallel: Int) async throws {
        let quiet = json
        let r = try await Benchmark.parallel(model: loaded, parallel: parallel, promptTokens: p, generatedTokens: n,
                                             repetitions: repetitions, kvType: kvType) { step in
            if !quiet { writeStandardError("\r\u{1B}[K\(step)") }
        }
        if json {
            let object: [String: Any] = [
                "model": loaded.name, "threads": r.threads, "repetitions": r.repetitions, "parallel": r.parallel,
                "n_prompt": r.promptTokens, "n_gen": r.generatedTokens, "tg": r.tg, "tg_sd": r.tgStdDev,
                "type_kv": kvType.rawValue,
                "ttft_p50": r.ttftP50, "ttft_p99": r.ttftP99,
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            writeStandardOutput(String(decoding: data, as: UTF8.self) + "\n")
            return
        }
        writeStandardError("\r\u{1B}[K")
        writeStandardOutput("""
            | model | threads | parallel | test | aggregate tg t/s | ttft p50 s | ttft p99 s |
            |---|---|---|---|---|---|---|
            | \(loaded.name) | \(r.threads) | \(r.parallel) | pp\(p)+tg\(n) | \(String(format: "%.2f ± %.2f", r.tg, r.tgStdDev)) | \
            \(String(format: "%.3f", r.ttftP50)) | \(String(format: "%.3f", r.ttftP99)) |

            """)
    }

    /// `--embed`: one row per batch size.
    func runEmbed(_ loaded: LoadedModel) throws {
        let quiet = json
        let results = try Benchmark.embed(model: loaded, repetitions: repetitions) { step in
            if !quiet { writeStandardError("\r\u{1B}[K\(step)") }
        }
        if json {
            let rows: [[String: Any]] = results.map {
                ["batch": $0.batchSize, "tokens_per_sentence": $0.tokensPerSentence, "sentences_per_s": $0.sentencesPerSecond,
                 "sentences_per_s_sd": $0.sentencesPerSecondStdDev]
            }
            let object: [String: Any] = ["model": loaded.name, "threads": loaded.pool.threadCount, "repetitions": repetitions,
                                         "pooling": loaded.embeddingPooling.rawValue, "embed": rows]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            writeStandardOutput(String(decoding: data, as: UTF8.self) + "\n")
            return
        }
        writeStandardError("\r\u{1B}[K")
        var out = "| model | threads | test | tokens/sentence | sentences/s |\n|---|---|---|---|---|\n"
        for r in results {
            out += "| \(loaded.name) | \(r.threads) | embed x\(r.batchSize) | \(String(format: "%.1f", r.tokensPerSentence)) | "
                + "\(String(format: "%.2f ± %.2f", r.sentencesPerSecond, r.sentencesPerSecondStdDev)) |\n"
        }
        writeStandardOutput(out)
    }
}
