import ArgumentParser
import Foundation
import SwiftLM

// Numeric options parse their value `.unconditional`ly: the next word is the value even when it
// starts with "-", so documented values such as `--num-predict -1` can be typed, and out-of-range
// ones (`--ctx -5`) get a range error instead of ArgumentParser's "missing value".

/// Sampling and length flags shared by `run` and `explain` (defaults as Ollama's).
struct SamplingFlags: ParsableArguments {
    @Option(parsing: .unconditional, help: "Sampling temperature; 0 is greedy (default 0.8).")
    var temperature: Float?
    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Keep the K most likely tokens; 0 disables (default 40).")
    var topK: Int?
    @Option(name: .customLong("top-p"), parsing: .unconditional, help: "Nucleus sampling threshold; 1 disables (default 0.9).")
    var topP: Float?
    @Option(name: .customLong("min-p"), parsing: .unconditional, help: "Drop tokens below this fraction of the top probability (default 0).")
    var minP: Float?
    @Option(name: .customLong("repeat-penalty"), parsing: .unconditional, help: "Penalty for tokens among the last --repeat-last-n (default 1.1).")
    var repeatPenalty: Float?
    @Option(name: .customLong("repeat-last-n"), parsing: .unconditional, help: "How many recent tokens the penalty looks at; -1 = whole context (default 64).")
    var repeatLastN: Int?
    @Option(parsing: .unconditional, help: "Random seed, for repeatable sampling.")
    var seed: UInt64?
    @Option(name: .customLong("num-predict"), parsing: .unconditional, help: "Maximum tokens to generate; -1 = until end of generation or full context.")
    var numPredict: Int?

    /// True when any sampling flag was given (explain is greedy unless one is).
    var anySamplingFlag: Bool {
        temperature != nil || topK != nil || topP != nil || minP != nil || repeatPenalty != nil || repeatLastN != nil
            || seed != nil
    }

    /// Out-of-range values are usage errors, reported with the command's usage before any loading.
    func validate() throws {
        do {
            _ = try options()
        } catch let RuntimeError.invalidOption(name, value, expected) {
            throw ValidationError("invalid value '\(value)' for --\(name.replacingOccurrences(of: "_", with: "-")): expected \(expected)")
        }
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
    @Option(parsing: .unconditional, help: "Context size in tokens (default 4096, capped at the model's context length).")
    var ctx: Int?
    @Option(parsing: .unconditional, help: "Kernel threads (default: physical cores, or SWIFTLM_THREADS; at most the CPU count).")
    var threads: Int?
    @Option(name: .customLong("kv-type"), help: "KV cache type: f32, f16 or q8_0 (default f16, like llama.cpp).")
    var kvType: KVCacheType = .default

    func validate() throws {
        try validateAtLeastOne(ctx, "--ctx")
        try validateAtLeastOne(threads, "--threads")
    }
}

extension KVCacheType: ExpressibleByArgument {
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

/// A range error for a count option that must be positive.
func validateAtLeastOne(_ value: Int?, _ flag: String) throws {
    if let value, value < 1 { throw ValidationError("invalid value '\(value)' for \(flag): expected an integer >= 1") }
}

/// The kernel thread count to load with: `--threads`, else SWIFTLM_THREADS (an error when it is not
/// a positive integer), else nil for the library's default. More threads than CPUs only contend for
/// them (1,000 threads ran 5.4x slower), so a larger count is capped, with a warning.
func effectiveThreads(_ requested: Int?) throws -> Int? {
    var count = requested
    var source = "--threads"
    if count == nil, let text = ThreadPool.environmentThreadText {
        guard let n = ThreadPool.parseThreadCount(text) else {
            throw CommandFailure("\(ThreadPool.threadsEnvironmentVariable)='\(text)' is not a thread count: "
                + "expected an integer >= 1 (unset it to use the physical core count)")
        }
        count = n
        source = ThreadPool.threadsEnvironmentVariable
    }
    let cpus = ThreadPool.processorCount
    if let n = count, n > cpus {
        writeStandardError("warning: \(source) \(n) is more than the \(cpus) CPU\(cpus == 1 ? "" : "s") here; using \(cpus) threads\n")
        return cpus
    }
    return count
}

/// Loads a model by name or path, pulling it with a progress bar on stderr if it is a catalog model
/// that is not in the store yet. Ctrl-C during that pull stops it and says it can be resumed.
func loadModel(_ nameOrPath: String, threads: Int?) async throws -> LoadedModel {
    let threadCount = try effectiveThreads(threads)
    let printer = SharedProgressPrinter()
    let task = Task {
        try await SwiftLM.load(nameOrPath, threads: threadCount) { printer.update($0) }
    }
    // A pull stops cleanly (and says it can be resumed); loading alone has nothing to keep.
    let trap = SignalTrap {
        task.cancel()
        if !printer.isActive { exitProcess(130) }
    }
    defer { withExtendedLifetime(trap) {} }
    do {
        let model = try await task.value
        printer.finish()
        return model
    } catch {
        printer.finish()
        throw error
    }
}

/// A ``PullProgressPrinter`` that a pulling task and the command share: calls are serialized by a lock.
final class SharedProgressPrinter: @unchecked Sendable {
    private let lock = NSLock()
    private let printer = PullProgressPrinter()
    private var drew = false

    func update(_ progress: PullProgress) {
        lock.withLock {
            drew = true
            printer.update(progress)
        }
    }

    /// Whether a pull has reported progress.
    var isActive: Bool { lock.withLock { drew } }

    /// Ends the progress line, if one was drawn, so later output starts on a fresh line.
    func finish() {
        lock.withLock { if drew { printer.finish() } }
    }
}
