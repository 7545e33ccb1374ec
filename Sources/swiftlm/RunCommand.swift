import ArgumentParser
import Foundation
import SwiftLM
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct RunCommand: AsyncParsableCommand {
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
    @Option(help: "System prompt for chat mode.")
    var system: String?
    @Option(help: "A Jinja chat template file to use instead of the model's own.")
    var template: String?
    @Flag(help: "Plain completion: no chat template; stdout carries only the generated text.")
    var raw = false
    @Flag(help: "Print load time and prompt / generation speed to stderr.")
    var verbose = false

    func run() async throws {
        _ = try sampling.options() // reject bad flags before loading anything
        let overrideTemplate = try template.map { path throws -> ChatTemplate in
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ValidationError("cannot read the template file \(path)")
            }
            return try ChatTemplate(source: text)
        }
        var promptText = prompt
        if promptText == nil, isatty(STDIN_FILENO) == 0 {
            let input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            if !input.isEmpty { promptText = input }
        }
        let loaded = try await loadModel(model, threads: modelFlags.threads)
        // A created model's Modelfile settings apply under the command-line flags.
        let defaults = ModelDefaults(gguf: loaded.gguf)
        let options = try sampling.options(defaults: defaults.options)
        let context = try InferenceContext(model: loaded, contextLength: modelFlags.ctx ?? defaults.contextLength)
        let interrupts = InterruptHandler()
        interrupts.set { context.cancel() }

        if raw {
            guard let promptText else { throw ValidationError("--raw needs a PROMPT (or text on stdin)") }
            let stream = context.generate(prompt: loaded.completionTokens(promptText), options: options,
                                          loadDuration: loaded.loadDuration)
            let stats = try await printStream(stream)
            if verbose, let stats { printVerboseStats(stats, loadDuration: loaded.loadDuration) }
            return
        }

        let session = try ChatSession(context: context, system: system ?? defaults.system, options: options,
                                      template: overrideTemplate)
        if let promptText {
            let stats = try await printStream(session.send(promptText))
            writeStandardOutput("\n")
            if verbose, let stats { printVerboseStats(stats, loadDuration: loaded.loadDuration) }
            return
        }
        var repl = ChatREPL(session: session, verbose: verbose, loadDuration: loaded.loadDuration, interrupts: interrupts)
        try await repl.run()
    }
}
