import ArgumentParser
import Foundation
import SwiftLM

struct ExplainCommand: AsyncParsableCommand, CommandErrorHints {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Show the pipeline: the prompt's tokens, then each step's most likely next tokens.",
        discussion: "Greedy unless a sampling option is given; plain completion unless --chat."
    )

    @Argument(help: "Model name or path to a .gguf file.")
    var model: String
    @Argument(help: "The prompt.")
    var prompt: String
    @Option(parsing: .unconditional, help: "Candidates shown per step.")
    var top = 5
    @Flag(help: "Print JSON instead of bars.")
    var json = false
    @Option(help: ArgumentHelp("Also write the explanation as a self-contained web page.", valueName: "file.html"))
    var html: String?
    @Flag(help: "Apply the model's chat template (one user message, plus --system).")
    var chat = false
    @Option(help: "System prompt, with --chat.")
    var system: String?
    @OptionGroup var sampling: SamplingFlags
    @OptionGroup var modelFlags: ModelFlags

    struct Token: Codable { var id: Int32; var piece: String; var logprob: Float?; var bytes: [UInt8]?; var special: Bool? }
    struct Step: Codable {
        var id: Int32; var piece: String; var logprob: Float; var top: [Token]
        var entropy: Float?; var cumulative_logprob: Float?; var sampling: [Stage]?
    }
    struct Report: Codable {
        var prompt_tokens: [Token]
        var steps: [Step]
        // See ExplainDetails.swift.
        var model: String?; var prompt: String?; var chat: Bool?; var message_tokens: [Token]?
        var options: Settings?; var summary: Summary?
    }

    func validate() throws {
        try validateAtLeastOne(top, "--top")
        if let html { try Self.validateOutputPath(html, "--html") }
    }

    func hint(for error: any Error) -> String? {
        switch error {
        case RuntimeError.noChatTemplate: return "drop --chat to continue the prompt as plain text"
        case RuntimeError.contextOverflow: return "raise --ctx, lower --num-predict, or shorten the prompt"
        default: return nil
        }
    }

    func run() async throws {
        var defaults = GenerationOptions(sampling: .greedy, maxTokens: 10)
        if sampling.anySamplingFlag { defaults.sampling = SamplingOptions() }
        let options = try sampling.options(defaults: defaults)
        let loaded = try await loadModel(model, threads: modelFlags.threads)
        // One slot, as `swiftlm run`: the prompt and every decode step run exactly as they do there.
        let scheduler = RequestScheduler(model: loaded, maxQueue: 1, parallel: 1, kvType: modelFlags.kvType)
        let capacity = scheduler.effectiveContextLength(modelFlags.ctx)
        let tokenizer = loaded.tokenizer
        let promptIDs: [Int32]
        if chat {
            let session = try ChatSession(model: loaded, contextLength: capacity, system: system)
            promptIDs = try session.promptTokens(for: [ChatMessage(role: "user", content: prompt)])
        } else {
            promptIDs = loaded.completionTokens(prompt)
        }
        guard !promptIDs.isEmpty else { throw RuntimeError.emptyPrompt }
        let maxSteps = options.maxTokens < 0 ? capacity - promptIDs.count : options.maxTokens
        guard promptIDs.count + max(maxSteps, 1) <= capacity else {
            throw RuntimeError.contextOverflow(needed: promptIDs.count + maxSteps, capacity: capacity)
        }
        func piece(_ id: Int32) -> String { String(decoding: tokenizer.pieceBytes(id), as: UTF8.self) }

        var report = Report(prompt_tokens: promptIDs.map { Self.token($0, tokenizer: tokenizer) }, steps: [],
                            model: model, prompt: prompt, chat: chat,
                            message_tokens: tokenizer.encode(prompt, addSpecial: false, parseSpecial: false).map { Self.token($0, tokenizer: tokenizer) },
                            options: Self.settings(options))
        if !json { printPromptTokens(report.prompt_tokens) }

        var stepOptions = options
        stepOptions.maxTokens = maxSteps
        stepOptions.stopAtEndOfGeneration = true
        // The scheduler's thread hands over each sampled token's logits and sampler; the candidates,
        // entropy and sampling trace are computed here, so they do not count as decoding time.
        let (observed, sink) = AsyncStream.makeStream(of: ObservedStep.self)
        var request = GenerationRequest(prompt: promptIDs, options: stepOptions, contextLength: capacity)
        request.stepObserver = StepObserver { sink.yield($0) }
        let events = try scheduler.submit(request)
        async let finished = Self.statistics(of: events, thenFinish: sink)
        for await step in observed {
            let logits = step.logits
            let lse = Sampler.logSumExp(logits)
            let candidates = Sampler.topLogProbs(logits, k: top).map { Token(id: $0.id, piece: piece($0.id), logprob: $0.logprob) }
            var s = Step(id: step.token, piece: piece(step.token), logprob: logits[Int(step.token)] - lse, top: candidates)
            Self.annotate(&s, logits: logits, sampler: step.sampler, cumulative: report.steps.last?.cumulative_logprob ?? 0)
            report.steps.append(s)
            if !json { printStep(report.steps.count, s) }
        }
        let stats = try await finished
        let passes = max(report.steps.count - 1, 0)
        let decodeTime = stats.generationDuration
        report.summary = Summary(prompt_tokens: promptIDs.count, generated_tokens: report.steps.count, prompt_seconds: stats.promptDuration.seconds,
                                 decode_seconds: decodeTime.seconds, tokens_per_second: passes > 0 ? Double(passes) / decodeTime.seconds : nil)
        if let html { try writeHTML(report, to: html) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            writeStandardOutput(String(decoding: try encoder.encode(report), as: UTF8.self) + "\n")
        } else {
            let text = tokenizer.decode(report.steps.map(\.id))
            writeStandardOutput("\nContinuation: \(quoted(text))\n")
        }
    }

    /// The final statistics of `events`; ends `sink` when the stream ends (every step is observed before
    /// the final event, so none is lost), also when it fails.
    private static func statistics(of events: AsyncThrowingStream<GenerationEvent, Error>,
                                   thenFinish sink: AsyncStream<ObservedStep>.Continuation) async throws -> GenerationStats {
        defer { sink.finish() }
        return try await events.finalStats() ?? GenerationStats()
    }

    private func printPromptTokens(_ tokens: [Token]) {
        var out = "Prompt: \(tokens.count) token(s)\n"
        for t in tokens { out += String(format: "%8d  ", t.id) + quoted(t.piece) + "\n" }
        writeStandardOutput(out + "\n")
    }

    private func printStep(_ n: Int, _ s: Step) {
        let width = 30
        var out = "Step \(n): \(quoted(s.piece)) (id \(s.id), p = \(String(format: "%.3f", exp(s.logprob))))\n"
        for c in s.top {
            let p = exp(Double(c.logprob ?? -.infinity))
            let cells = p * Double(width)
            var bar = String(repeating: "█", count: Int(cells))
            // Eighth blocks show the remainder, so small differences stay visible.
            let eighths = Int((cells - cells.rounded(.down)) * 8)
            if eighths > 0 { bar += String(["▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths - 1]) }
            let marker = c.id == s.id ? "▶" : " "
            out += "  \(marker) " + String(format: "%6.2f%% ", p * 100) + bar.padding(toLength: width + 1, withPad: " ", startingAt: 0)
                + " " + quoted(c.piece) + "  \(c.id)\n"
        }
        writeStandardOutput(out)
    }

    /// The text as a JSON string literal: control characters escaped, so whitespace tokens are visible.
    private func quoted(_ s: String) -> String { JSONValue.quote(s) }
}
