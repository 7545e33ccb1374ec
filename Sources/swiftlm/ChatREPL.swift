import Foundation
import SwiftLM
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The interactive chat of `swiftlm run MODEL`: Ollama's prompt and slash commands.
struct ChatREPL {
    let session: ChatSession
    let verbose: Bool
    let loadDuration: Duration
    let interrupts: InterruptHandler
    /// `--tools`: calls are printed, and answered by `--tool-command` or by the user.
    let tools: ToolRunner?
    /// The line editor on a terminal; nil for plain input (stdin or stdout not a terminal).
    private let editor: LineEditor?
    /// Whether to print `>>> ` in plain mode: only when someone types at a terminal.
    private let plainPrompts: Bool
    private var firstReply = true

    static let placeholder = "Send a message (/? for help)"

    init(session: ChatSession, verbose: Bool, loadDuration: Duration, interrupts: InterruptHandler, tools: ToolRunner? = nil) {
        self.session = session
        self.tools = tools
        self.verbose = verbose
        self.loadDuration = loadDuration
        self.interrupts = interrupts
        editor = LineEditor.isSupported ? LineEditor(history: LineHistory(path: LineHistory.defaultPath)) : nil
        plainPrompts = isatty(STDIN_FILENO) != 0
    }

    static let help = """
        Available commands:
          /set PARAMETER VALUE   Set temperature, top_k, top_p, min_p, repeat_penalty, repeat_last_n, seed, num_predict
          /set system TEXT       Set the system prompt (clears the conversation)
          /show                  Show the current options
          /clear                 Clear the conversation
          /bye                   Exit
          /?, /help              This help

        Use \"\"\" to begin and end a multi-line message.
        Keys: ←/→ move, ↑/↓ history (kept in ~/.swiftlm/history), Ctrl-A/Ctrl-E start/end of line,
        Ctrl-K/Ctrl-U delete to the end/start, Ctrl-W delete the previous word, Ctrl-L clear the screen.
        Ctrl-C stops the current reply; Ctrl-D or /bye exits.
        When the conversation outgrows the context, the oldest turns are dropped (the system prompt stays).

        """

    mutating func run() async throws {
        let session = session
        let plainPrompt = editor == nil && plainPrompts
        interrupts.set {
            if session.isReplying {
                session.cancel()
            } else if plainPrompt {
                // Only reachable in plain mode: the line editor reads Ctrl-C as a key.
                writeStandardError("\nUse Ctrl + d or /bye to exit.\n>>> ")
            }
        }
        while true {
            let input: String
            switch readMessage() {
            case .endOfInput:
                // (The line editor has already ended its line.)
                if editor == nil, plainPrompts { writeStandardOutput("\n") }
                return
            case let .interrupted(discarded):
                if !discarded { writeStandardError("Use Ctrl + d or /bye to exit.\n") }
                continue
            case let .line(text):
                input = text
            }
            let trimmed = input.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            if trimmed.hasPrefix("/") {
                if try handleCommand(trimmed) { return }
                continue
            }
            let options = session.options
            do {
                var shift: ContextShift?
                let stream = session.send(input) { shift = $0 }
                if let shift {
                    let hasSystemPrompt = !(session.system ?? "").isEmpty
                    writeNotice(Self.describe(shift, capacity: session.capacity, hasSystemPrompt: hasSystemPrompt))
                }
                let stats: GenerationStats?
                if let tools {
                    // Ends its own line; a call without --tool-command asks for the result.
                    let reader = self
                    stats = try await tools.converse(session, first: stream) { call in
                        guard case let .line(text) = reader.readLine(prompt: "result of \(call.name)> ") else { return nil }
                        return text
                    }
                } else {
                    stats = try await printStream(stream)
                    writeStandardOutput("\n")
                }
                if let stats, let note = lengthNote(stats, options: options, capacity: session.capacity) {
                    writeNotice(note)
                }
                writeStandardOutput("\n")
                if verbose, let stats {
                    printVerboseStats(stats, loadDuration: firstReply ? loadDuration : nil)
                    firstReply = false
                }
            } catch let RuntimeError.contextOverflow(needed, capacity) {
                // Older turns are dropped on their own; only a message too long by itself gets here.
                writeStandardError("error: this message needs \(needed) tokens with the system prompt, but the "
                                   + "context holds \(capacity): shorten it, or start again with a larger --ctx\n")
            } catch let error as RuntimeError {
                // A template failure ends the turn, not the chat.
                writeStandardError("error: \(error)\n")
            }
        }
    }

    /// The one dim line that says what a context shift dropped and kept.
    static func describe(_ shift: ContextShift, capacity: Int, hasSystemPrompt: Bool) -> String {
        let dropped = shift.droppedMessages == 1 ? "the oldest message" : "the \(shift.droppedMessages) oldest messages"
        var kept: [String] = hasSystemPrompt ? ["the system prompt"] : []
        if shift.keptMessages > 0 { kept.append("the last \(shift.keptMessages)") }
        let keeping = kept.isEmpty ? "" : "; kept " + kept.joined(separator: " and ")
        return "context full (\(capacity) tokens): dropped \(dropped)\(keeping)"
    }

    private enum Input {
        case line(String)
        case interrupted(discarded: Bool)
        case endOfInput
    }

    private func readLine(prompt: String, placeholder: String? = nil) -> Input {
        if let editor {
            switch editor.readLine(prompt: prompt, placeholder: placeholder) {
            case let .line(text): return .line(text)
            case let .interrupted(discarded): return .interrupted(discarded: discarded)
            case .endOfInput: return .endOfInput
            }
        }
        if plainPrompts { writeStandardOutput(prompt) }
        guard let line = Swift.readLine() else { return .endOfInput }
        return .line(line)
    }

    /// One message: a line, or several between lines starting / ending with `"""`. Ctrl-C abandons a
    /// multi-line message.
    private func readMessage() -> Input {
        let first = readLine(prompt: ">>> ", placeholder: Self.placeholder)
        guard case let .line(line) = first, line.hasPrefix("\"\"\"") else { return first }
        let text = String(line.dropFirst(3))
        if text.hasSuffix("\"\"\""), !text.isEmpty { return .line(String(text.dropLast(3))) }
        var lines: [String] = text.isEmpty ? [] : [text]
        while true {
            switch readLine(prompt: "... ") {
            case .endOfInput:
                return .line(lines.joined(separator: "\n"))
            case .interrupted:
                return .interrupted(discarded: true)
            case let .line(next):
                if next.hasSuffix("\"\"\"") {
                    lines.append(String(next.dropLast(3)))
                    return .line(lines.joined(separator: "\n"))
                }
                lines.append(next)
            }
        }
    }

    /// Runs a slash command; returns true to exit.
    private func handleCommand(_ command: String) throws -> Bool {
        var words = command.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let name = words.removeFirst()
        switch name {
        case "/bye", "/exit", "/quit":
            return true
        case "/clear":
            session.clear()
            writeStandardOutput("Cleared session context\n")
        case "/?", "/help":
            writeStandardOutput(Self.help)
        case "/show":
            let s = session.options.sampling
            writeStandardOutput("""
                temperature \(s.temperature)  top_k \(s.topK)  top_p \(s.topP)  min_p \(s.minP)
                repeat_penalty \(s.repeatPenalty)  repeat_last_n \(s.repeatLastN)  seed \(s.seed.map(String.init) ?? "random")
                num_predict \(session.options.maxTokens)  num_ctx \(session.capacity)
                system \(session.system ?? "(none)")

                """)
        case "/set":
            if words.first == "parameter" { words.removeFirst() }
            guard words.count >= 2 else {
                writeStandardOutput("Usage: /set PARAMETER VALUE (see /?)\n")
                return false
            }
            let key = words.removeFirst()
            let value = words.joined(separator: " ")
            if key == "system" {
                session.system = value
                session.clear()
                writeStandardOutput("Set system message.\n")
                return false
            }
            do {
                var options = session.options
                try Self.set(key, value, in: &options)
                try options.validate()
                session.options = options
                writeStandardOutput("Set parameter '\(key)' to '\(value)'\n")
            } catch {
                writeStandardOutput("\(error)\n")
            }
        default:
            writeStandardOutput("Unknown command '\(name)'. Type /? for help\n")
        }
        return false
    }

    private static func set(_ key: String, _ value: String, in o: inout GenerationOptions) throws {
        func float() throws -> Float {
            guard let v = Float(value) else { throw RuntimeError.invalidOption(name: key, value: value, expected: "a number") }
            return v
        }
        func int() throws -> Int {
            guard let v = Int(value) else { throw RuntimeError.invalidOption(name: key, value: value, expected: "an integer") }
            return v
        }
        switch key.replacingOccurrences(of: "-", with: "_") {
        case "temperature": o.sampling.temperature = try float()
        case "top_k": o.sampling.topK = try int()
        case "top_p": o.sampling.topP = try float()
        case "min_p": o.sampling.minP = try float()
        case "repeat_penalty": o.sampling.repeatPenalty = try float()
        case "repeat_last_n": o.sampling.repeatLastN = try int()
        case "seed":
            guard let v = UInt64(value) else { throw RuntimeError.invalidOption(name: key, value: value, expected: "an unsigned integer") }
            o.sampling.seed = v
        case "num_predict": o.maxTokens = try int()
        default:
            throw RuntimeError.invalidOption(name: key, value: value,
                                             expected: "a known parameter (temperature, top_k, top_p, min_p, repeat_penalty, repeat_last_n, seed, num_predict)")
        }
    }
}
