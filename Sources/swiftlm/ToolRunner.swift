import Foundation
import SwiftLM

/// Tool calling on the command line: `--tools FILE` gives the model its tools, each call it makes is
/// printed on stdout as one line of JSON, and `--tool-command CMD` runs the call and feeds its output
/// back to the model (in the interactive chat, without a command, the user types the result).
struct ToolRunner {
    /// The tools, in OpenAI's function shape.
    let tools: [TemplateValue]
    /// Run with `/bin/sh -c` once per call: the call's JSON on stdin, its stdout the result.
    let command: String?

    /// At most this many replies in one turn (each but the last answering calls with results), so a
    /// model that keeps calling cannot loop for ever.
    var maxRounds = defaultMaxRounds
    static let defaultMaxRounds = 8

    /// Reads `--tools FILE`: a JSON list of tools, or an object with a `tools` list (an OpenAI request
    /// body). A tool given as a bare function (`{"name", "parameters"}`) is wrapped in
    /// `{"type": "function", "function": ...}`.
    static func loadTools(_ path: String) throws -> [TemplateValue] {
        let text = decodeText(try readFile(path, what: "tools file"), from: path)
        let value: TemplateValue
        do {
            value = try TemplateValue(json: text)
        } catch {
            throw CommandFailure("\(path) is not valid JSON: \(error)")
        }
        let list: [TemplateValue]
        switch value {
        case let .array(items): list = items
        case let .object(o):
            guard case let .array(items)? = o["tools"] else {
                throw CommandFailure("\(path): expected a JSON list of tools, or an object with a \"tools\" list")
            }
            list = items
        default:
            throw CommandFailure("\(path): expected a JSON list of tools, or an object with a \"tools\" list")
        }
        return try list.enumerated().map { i, tool in
            if tool["function"]?["name"]?.stringValue != nil { return tool }
            if tool["name"]?.stringValue != nil { return ["type": "function", "function": tool] }
            throw CommandFailure("\(path): tool \(i) has no name; expected {\"type\": \"function\", \"function\": {\"name\": ..., \"parameters\": {...}}}")
        }
    }

    /// One call as the CLI prints it and gives it to the command: `{"id", "name", "arguments"}`.
    static func json(_ call: ChatToolCall) -> String {
        var o = TemplateObject()
        if let id = call.id { o["id"] = .string(id) }
        o["name"] = .string(call.name)
        o["arguments"] = call.arguments
        return TemplateValue.object(o).jsonString
    }

    /// Runs `command` for `call`: the call's JSON on stdin, SWIFTLM_TOOL_NAME and SWIFTLM_TOOL_CALL_ID
    /// in the environment. Its stdout, without the trailing newline, is the result; a failure is
    /// reported to the model as the result, so it can say so.
    static func run(_ command: String, for call: ChatToolCall) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFTLM_TOOL_NAME"] = call.name
        environment["SWIFTLM_TOOL_CALL_ID"] = call.id ?? ""
        process.environment = environment
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        do {
            try process.run()
        } catch {
            throw CommandFailure("cannot run --tool-command '\(command)': \(error.localizedDescription)")
        }
        input.fileHandleForWriting.write(Data((json(call) + "\n").utf8))
        try? input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var text = decodeText(data, from: "--tool-command")
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        if process.terminationStatus != 0 {
            writeNotice("[--tool-command exited with status \(process.terminationStatus) for \(call.name)]")
            return text.isEmpty ? "error: the tool failed (exit status \(process.terminationStatus))" : text
        }
        return text
    }

    /// The results of `calls`: from the command, or (interactive chat) typed by the user through `ask`.
    /// Nil when there is no way to get them (a one-shot run without a command: the calls were printed,
    /// which is the output).
    func results(for calls: [ChatToolCall], ask: ((ChatToolCall) -> String?)?) throws -> [ChatMessage]? {
        var results: [ChatMessage] = []
        for call in calls {
            let content: String
            if let command {
                content = try Self.run(command, for: call)
                writeNotice("[\(call.name) → \(content.count > 200 ? String(content.prefix(200)) + "…" : content)]")
            } else if let ask, let typed = ask(call) {
                content = typed
            } else {
                return nil
            }
            results.append(.toolResult(for: call, content: content))
        }
        return results
    }

    /// Streams one turn to stdout, answering tool calls until the model replies without one (or
    /// ``maxRounds`` is reached). Returns the last reply's statistics.
    func converse(_ session: ChatSession, first: AsyncThrowingStream<GenerationEvent, Error>,
                  ask: ((ChatToolCall) -> String?)?) async throws -> GenerationStats? {
        var stream = first
        for round in 1...max(maxRounds, 1) {
            let (stats, calls) = try await printReply(stream)
            guard !calls.isEmpty, stats?.doneReason == .stop else { return stats }
            if round == maxRounds {
                writeNotice("[stopped after \(maxRounds) rounds of tool calls: --max-tool-rounds allows more]")
                return stats
            }
            guard let results = try results(for: calls, ask: ask) else { return stats }
            stream = session.send(toolResults: results)
        }
        return nil
    }
}

/// Streams a reply to stdout: its text as it comes, each tool call as one line of JSON. Returns the
/// statistics and the calls.
func printReply(_ stream: AsyncThrowingStream<GenerationEvent, Error>) async throws -> (GenerationStats?, [ChatToolCall]) {
    var stats: GenerationStats?
    var calls: [ChatToolCall] = []
    var atLineStart = true
    for try await event in stream {
        switch event {
        case let .text(piece):
            writeStandardOutput(piece)
            if let last = piece.last { atLineStart = last == "\n" }
        case let .toolCall(call):
            writeStandardOutput((atLineStart ? "" : "\n") + ToolRunner.json(call) + "\n")
            atLineStart = true
            calls.append(call)
        case let .done(s): stats = s
        case .logprobs: break
        }
    }
    return (stats, calls)
}
