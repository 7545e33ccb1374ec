import ArgumentParser
import SwiftLM

/// Sampling and length flags shared by `run` and `explain` (defaults as Ollama's).
struct SamplingFlags: ParsableArguments {
    @Option(help: "Sampling temperature; 0 is greedy (default 0.8).")
    var temperature: Float?
    @Option(name: .customLong("top-k"), help: "Keep the K most likely tokens; 0 disables (default 40).")
    var topK: Int?
    @Option(name: .customLong("top-p"), help: "Nucleus sampling threshold; 1 disables (default 0.9).")
    var topP: Float?
    @Option(name: .customLong("min-p"), help: "Drop tokens below this fraction of the top probability (default 0).")
    var minP: Float?
    @Option(name: .customLong("repeat-penalty"), help: "Penalty for tokens among the last --repeat-last-n (default 1.1).")
    var repeatPenalty: Float?
    @Option(name: .customLong("repeat-last-n"), help: "How many recent tokens the penalty looks at; -1 = whole context (default 64).")
    var repeatLastN: Int?
    @Option(help: "Random seed, for repeatable sampling.")
    var seed: UInt64?
    @Option(name: .customLong("num-predict"), help: "Maximum tokens to generate; -1 = until end of generation or full context.")
    var numPredict: Int?

    /// True when any sampling flag was given (explain is greedy unless one is).
    var anySamplingFlag: Bool {
        temperature != nil || topK != nil || topP != nil || minP != nil || repeatPenalty != nil || repeatLastN != nil
            || seed != nil
    }

    func apply(to options: inout GenerationOptions) {
        if let temperature { options.sampling.temperature = temperature }
        if let topK { options.sampling.topK = topK }
        if let topP { options.sampling.topP = topP }
        if let minP { options.sampling.minP = minP }
        if let repeatPenalty { options.sampling.repeatPenalty = repeatPenalty }
        if let repeatLastN { options.sampling.repeatLastN = repeatLastN }
        if let seed { options.sampling.seed = seed }
        if let numPredict { options.maxTokens = numPredict }
    }

    func options(defaults: GenerationOptions = GenerationOptions()) throws -> GenerationOptions {
        var o = defaults
        apply(to: &o)
        try o.validate()
        return o
    }
}

/// Flags choosing how the model is loaded.
struct ModelFlags: ParsableArguments {
    @Option(help: "Context size in tokens (default 4096, capped at the model's context length).")
    var ctx: Int?
    @Option(help: "Kernel threads (default: physical cores, or SWIFTLM_THREADS).")
    var threads: Int?
}

/// Loads a model by name or path, pulling it with a progress bar on stderr if it is a catalog model
/// that is not in the store yet.
func loadModel(_ nameOrPath: String, threads: Int?) async throws -> LoadedModel {
    let printer = PullProgressPrinter()
    var pulled = false
    let model = try await SwiftLM.load(nameOrPath, threads: threads) { progress in
        pulled = true
        printer.update(progress)
    }
    if pulled { printer.finish() }
    return model
}
