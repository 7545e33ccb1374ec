import Foundation
import SwiftLM

/// The interactive chat of `swiftlm run MODEL`: Ollama's prompt and slash commands.
struct ChatREPL {
    let session: ChatSession
    let verbose: Bool
    let loadDuration: Duration
    let interrupts: InterruptHandler
    private var firstReply = true

    init(session: ChatSession, verbose: Bool, loadDuration: Duration, interrupts: InterruptHandler) {
        self.session = session
        self.verbose = verbose
        self.loadDuration = loadDuration
        self.interrupts = interrupts
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
        Ctrl-C stops the current reply; Ctrl-D or /bye exits.

        """

    mutating func run() async throws {
        let context = session.context
        interrupts.set {
            if context.isGenerating {
                context.cancel()
            } else {
                writeStandardError("\nUse Ctrl + d or /bye to exit.\n>>> ")
            }
        }
        while let input = readMessage() {
            let trimmed = input.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            if trimmed.hasPrefix("/") {
                if try handleCommand(trimmed) { return }
                continue
            }
            do {
                let stats = try await printStream(session.send(input))
                writeStandardOutput("\n\n")
                if verbose, let stats {
                    printVerboseStats(stats, loadDuration: firstReply ? loadDuration : nil)
                    firstReply = false
                }
            } catch let error as RuntimeError {
                // A full context or a template failure ends the turn, not the chat.
                writeStandardError("error: \(error)\n")
            }
        }
        writeStandardOutput("\n")
    }

    /// One message: a line, or several between lines starting / ending with `"""`. Nil at end of input.
    private func readMessage() -> String? {
        writeStandardOutput(">>> ")
        guard let line = readLine() else { return nil }
        guard line.hasPrefix("\"\"\"") else { return line }
        var text = String(line.dropFirst(3))
        if text.hasSuffix("\"\"\""), !text.isEmpty { return String(text.dropLast(3)) }
        var lines: [String] = text.isEmpty ? [] : [text]
        while true {
            writeStandardOutput("... ")
            guard let next = readLine() else { break }
            if next.hasSuffix("\"\"\"") {
                lines.append(String(next.dropLast(3)))
                break
            }
            lines.append(next)
        }
        text = lines.joined(separator: "\n")
        return text
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
                num_predict \(session.options.maxTokens)  num_ctx \(session.context.capacity)
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
