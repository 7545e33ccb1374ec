import ArgumentParser
import Foundation
import SwiftLM
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct RunCommand: AsyncParsableCommand, CommandErrorHints {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model: answer a prompt, or chat interactively.",
        discussion: """
            With a PROMPT the reply is streamed and the command exits; without one (and stdin a terminal) an \
            interactive chat starts (/? for its commands). With stdin not a terminal, stdin is the prompt. \
            The model is pulled first if it is a catalog name not in the store yet.
            """
    )

    @Argument(help: "Model name (e.g. qwen2.5-coder:0.5b) or path to a .gguf file.")
    var model: String
    @Argument(help: "The prompt. Omit it for an interactive chat.")
    var prompt: String?
    @OptionGroup var sampling: SamplingFlags
    @OptionGroup var modelFlags: ModelFlags
    @OptionGroup var structured: StructuredFlags
    @Option(help: "System prompt for chat mode.")
    var system: String?
    @Option(help: "A Jinja chat template file to use instead of the model's own.")
    var template: String?
    @Flag(help: "Plain completion: no chat template; stdout carries only the generated text.")
    var raw = false
    @Option(help: ArgumentHelp("A JSON file of tools the model may call (OpenAI's function shape); each call is printed as a line of JSON.",
                               valueName: "file"))
    var tools: String?
    @Option(name: .customLong("tool-command"),
            help: ArgumentHelp("With --tools: a shell command run for each call (the call's JSON on stdin); its output is the result given back to the model.",
                               valueName: "command"))
    var toolCommand: String?
    @Option(name: .customLong("max-tool-rounds"), parsing: .unconditional,
            help: "With --tool-command: the most rounds of calls and results in one turn (default 8).")
    var maxToolRounds: Int?
    @Flag(help: "Print load time and prompt / generation speed to stderr.")
    var verbose = false

    /// `--num-predict` when none is given for a base model: such models rarely emit EOS, and an
    /// unbounded completion would run to the full context (4,096 tokens, minutes on a CPU).
    static let baseModelTokenLimit = 256

    func run() async throws {
        _ = try sampling.options() // reject bad flags before loading anything
        let format = try structured.outputFormat()
        try validateAtLeastOne(maxToolRounds, "--max-tool-rounds")
        if toolCommand != nil, tools == nil { throw ValidationError("--tool-command needs --tools FILE") }
        if tools != nil, raw { throw ValidationError("--tools needs the chat template; it cannot be used with --raw") }
        let toolList = try tools.map(ToolRunner.loadTools)
        let overrideTemplate = try template.map { path throws -> ChatTemplate in
            try ChatTemplate(source: decodeText(readFile(path, what: "template file"), from: path))
        }
        var promptText = prompt
        if promptText == nil, !Terminal.stdinIsTerminal {
            let input = decodeText(FileHandle.standardInput.readDataToEndOfFile(), from: "standard input")
            // Empty piped input is no prompt; without a terminal there is no chat to fall back to.
            guard !input.isEmpty else {
                throw ValidationError("standard input is empty: give a PROMPT, pipe some text, or run in a terminal to chat")
            }
            promptText = input
        }
        let loaded = try await loadModel(model, threads: modelFlags.threads)
        // A created model's Modelfile settings apply under the command-line flags.
        let defaults = ModelDefaults(gguf: loaded.gguf)
        var options = try sampling.options(defaults: defaults.options)
        options.format = format
        // One slot: a one-shot run is one sequence, and a chat keeps its conversation cached in that slot
        // between turns (the scheduler's prefix reuse), exactly as the server keeps a client's.
        try loaded.checkCacheType(modelFlags.kvType)
        let scheduler = RequestScheduler(model: loaded, parallel: 1, kvType: modelFlags.kvType)
        let contextLength = modelFlags.ctx ?? defaults.contextLength
        let capacity = scheduler.effectiveContextLength(contextLength)
        let interrupts = InterruptHandler()

        // Ollama runs a model without a chat template through a plain `{{ .Prompt }}` template:
        // a one-shot run does the same, and says so.
        let baseModel = overrideTemplate == nil && loaded.chatTemplate == nil && loaded.chatTemplateError == nil
        if baseModel, sampling.numPredict == nil { options.maxTokens = Self.baseModelTokenLimit }
        if raw || (baseModel && promptText != nil) {
            guard let promptText else { throw ValidationError("--raw needs a PROMPT (or text on stdin)") }
            if baseModel && !raw {
                let limit = sampling.numPredict == nil ? ", up to \(options.maxTokens) tokens (--num-predict to change)" : ""
                Terminal.notice("\(loaded.name) has no chat template (a base model): continuing the prompt as plain text\(limit)")
            }
            let submission = try scheduler.start(GenerationRequest(prompt: loaded.completionTokens(promptText), options: options,
                                                                   contextLength: contextLength, loadDuration: loaded.loadDuration))
            interrupts.set { scheduler.cancel(submission.id) }
            let (stats, endsWithNewline) = try await printStreamTrackingNewline(submission.events)
            // A terminal prompt should not be glued to the text; a pipe gets exactly the generated text.
            if Terminal.stdoutIsTerminal && !endsWithNewline { writeStandardOutput("\n") }
            reportCut(stats, options: options, capacity: capacity)
            if verbose, let stats { printVerboseStats(stats, loadDuration: loaded.loadDuration) }
            return
        }

        let session = try ChatSession(scheduler: scheduler, contextLength: contextLength, system: system ?? defaults.system,
                                      options: options, template: overrideTemplate)
        interrupts.set { session.cancel() }
        var runner: ToolRunner?
        if let toolList {
            if session.toolCallFormat == nil { throw RuntimeError.toolsUnsupported(model: loaded.name) }
            session.tools = toolList
            runner = ToolRunner(tools: toolList, command: toolCommand, maxRounds: maxToolRounds ?? ToolRunner.defaultMaxRounds)
        }
        if let promptText, let runner {
            let stats = try await runner.converse(session, first: session.send(promptText), ask: nil)
            reportCut(stats, options: options, capacity: capacity)
            if verbose, let stats { printVerboseStats(stats, loadDuration: loaded.loadDuration) }
            return
        }
        if let promptText {
            let stats = try await printStream(session.send(promptText))
            writeStandardOutput("\n")
            reportCut(stats, options: options, capacity: capacity)
            if verbose, let stats { printVerboseStats(stats, loadDuration: loaded.loadDuration) }
            return
        }
        var repl = ChatREPL(session: session, verbose: verbose, loadDuration: loaded.loadDuration, interrupts: interrupts,
                            tools: runner)
        try await repl.run()
    }

    /// One dim line when a reply did not end by itself, so a cut is never mistaken for an answer.
    private func reportCut(_ stats: GenerationStats?, options: GenerationOptions, capacity: Int) {
        guard let stats, stats.doneReason == .length else { return }
        if options.maxTokens >= 0, stats.generatedTokens >= options.maxTokens {
            Terminal.notice("[reply cut at the \(options.maxTokens)-token limit: --num-predict N allows more, -1 for no limit]")
        } else {
            Terminal.notice("[reply cut: the context of \(capacity) tokens is full; --ctx raises it]")
        }
    }

    func hint(for error: any Error) -> String? {
        switch error {
        case RuntimeError.contextOverflow:
            return "raise --ctx (up to the model's context length, see 'swiftlm show') or shorten the prompt"
        case RuntimeError.noChatTemplate:
            return "give a PROMPT to continue it as plain text, or --template FILE to chat with a Jinja chat template"
        case RuntimeError.template:
            return template == nil ? "--raw skips the chat template, or --template FILE replaces it" : nil
        case RuntimeError.toolsUnsupported:
            return "use a model whose chat template renders tools (such as qwen2.5-coder:0.5b), or --template FILE with one"
        default:
            return nil
        }
    }
}

/// Streams to stdout like ``printStream(_:)``, and tells whether the text ended with a newline.
private func printStreamTrackingNewline(_ stream: AsyncThrowingStream<GenerationEvent, Error>) async throws
    -> (GenerationStats?, Bool)
{
    var stats: GenerationStats?
    var last: Character?
    for try await event in stream {
        switch event {
        case let .text(piece):
            writeStandardOutput(piece)
            if let c = piece.last { last = c }
        case let .done(s): stats = s
        case .logprobs, .toolCall: break
        }
    }
    return (stats, last == nil || last == "\n")
}
