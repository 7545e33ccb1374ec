import ArgumentParser
import Foundation
import SwiftLM

struct PerplexityCommand: AsyncParsableCommand, CommandErrorHints {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Measure a model's perplexity on a text file, as llama-perplexity does.",
        discussion: """
            The text is split into non-overlapping chunks of --ctx tokens (BOS first in each chunk when the \
            model adds one); the second half of every chunk is scored. Needs at least 2 x ctx tokens.
            """
    )

    @Argument(help: "Model name or path to a .gguf file.")
    var model: String
    @Option(help: "The text file to score.")
    var file: String
    @Option(parsing: .unconditional, help: "Tokens per chunk (default 512, capped at the model's context length).")
    var ctx = 512
    @Option(parsing: .unconditional, help: "Kernel threads (default: physical cores, or SWIFTLM_THREADS; at most the CPU count).")
    var threads: Int?
    @Flag(help: "Print {\"perplexity\":…,\"tokens\":…,\"chunks\":…} on stdout.")
    var json = false

    func validate() throws {
        try validateAtLeastOne(ctx, "--ctx")
        try validateAtLeastOne(threads, "--threads")
    }

    @Option(name: .customLong("kv-type"), help: "KV cache type: f32, f16 or q8_0 (default f16, like llama-perplexity's -ctk/-ctv).")
    var kvType: KVCacheType = .default

    func hint(for error: any Error) -> String? {
        if case RuntimeError.notEnoughText = error { return "use a longer --file or a smaller --ctx" }
        return nil
    }

    func run() async throws {
        let data = try readFile(file, what: "text file")
        let text = decodeText(data, from: file)
        let loaded = try await loadModel(model, threads: threads)
        let context = try InferenceContext(model: loaded, contextLength: ctx, kvType: kvType)
        let tokens = loaded.tokenizer.encode(text, addSpecial: true, parseSpecial: false)
        let start = ContinuousClock.now
        let result = try context.perplexity(tokens: tokens, chunkLength: context.capacity) { done, ppl in
            if !json { writeStandardError("[\(done)]\(String(format: "%.4f", ppl)) ") }
        }
        let seconds = (ContinuousClock.now - start).seconds
        if json {
            let object: [String: Any] = [
                "perplexity": result.perplexity, "tokens": result.tokens, "chunks": result.chunks,
                "ctx": result.contextLength, "scored_tokens": result.scoredTokens, "standard_error": result.standardError,
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            writeStandardOutput(String(decoding: data, as: UTF8.self) + "\n")
        } else {
            writeStandardError("\n")
            writeStandardOutput(String(format: "Final estimate: PPL = %.4f +/- %.5f\n", result.perplexity, result.standardError)
                + "\(result.tokens) tokens, \(result.chunks) chunks of \(result.contextLength), "
                + "\(result.scoredTokens) scored, \(String(format: "%.1f", seconds)) s\n")
        }
    }
}
