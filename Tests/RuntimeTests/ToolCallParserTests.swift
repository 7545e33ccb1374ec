import Foundation
import Runtime
import Template
import Testing

// The streaming tool-call parser: every reply is fed whole, one character at a time, and split at
// every pair of positions; all must give the same events, and no text event may carry call markup.

/// Feeds `pieces` to a parser and returns its events with adjacent text merged.
private func parse(_ format: ToolCallFormat, _ pieces: [String], names: Set<String>? = nil, prefix: String = "") -> [ToolCallEvent] {
    var parser = ToolCallParser(format: format, toolNames: names, makeID: { "call_\($0)" })
    var events: [ToolCallEvent] = []
    if !prefix.isEmpty { events += parser.feed(prefix) }
    for piece in pieces { events += parser.feed(piece) }
    events += parser.finish()
    var merged: [ToolCallEvent] = []
    for event in events {
        if case let .text(t) = event, case let .text(previous)? = merged.last {
            merged[merged.count - 1] = .text(previous + t)
        } else if event != .text("") {
            merged.append(event)
        }
    }
    return merged
}

/// Every way of cutting `text` into one, two or three pieces at character boundaries, plus one
/// character at a time.
private func chunkings(_ text: String) -> [[String]] {
    let chars = Array(text).map(String.init)
    var out: [[String]] = [[text], chars]
    let n = chars.count
    for i in 0...n {
        for j in i...n {
            out.append([chars[..<i].joined(), chars[i..<j].joined(), chars[j...].joined()])
        }
    }
    return out
}

private func call(_ n: Int, _ name: String, _ arguments: TemplateValue, id: String? = nil) -> ToolCallEvent {
    .call(ChatToolCall(id: id ?? "call_\(n)", name: name, arguments: arguments))
}

struct ParserCase: Sendable, CustomStringConvertible {
    var name: String
    var format: ToolCallFormat
    var reply: String
    var expected: [ToolCallEvent]
    var names: Set<String>? = nil
    /// Text that must never appear inside a text event.
    var markup: [String] = []
    var description: String { name }
}

private let paris: TemplateValue = ["city": "Paris"]

let parserCases: [ParserCase] = [
    ParserCase(name: "hermes tagged after text", format: .hermes,
               reply: "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
               expected: [.text("Let me check.\n"), call(0, "get_weather", paris)], markup: ["<tool", "\"name\""]),
    ParserCase(name: "hermes two calls then text", format: .hermes,
               reply: "<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": 1}}\n</tool_call>\n<tool_call>\n{\"arguments\": {}, \"name\": \"b\"}\n</tool_call>\nDone.",
               expected: [call(0, "a", ["x": 1]), call(1, "b", .object([:])), .text("Done.")], markup: ["<tool", "</tool", "\"name\""]),
    ParserCase(name: "bare call as the whole reply (qwen2.5-coder:0.5b)", format: .hermes,
               reply: "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}",
               expected: [call(0, "get_weather", paris)], names: ["get_weather"], markup: ["{"]),
    ParserCase(name: "bare call of an unknown tool is text", format: .hermes,
               reply: "{\"name\": \"rm_rf\", \"arguments\": {}}",
               expected: [.text("{\"name\": \"rm_rf\", \"arguments\": {}}")], names: ["get_weather"]),
    ParserCase(name: "bare JSON that is not a call is text", format: .hermes,
               reply: "{\"city\": \"Paris\", \"n\": [1, {\"a\": \"}\"}]} is JSON",
               expected: [.text("{\"city\": \"Paris\", \"n\": [1, {\"a\": \"}\"}]} is JSON")]),
    ParserCase(name: "angle brackets in text", format: .hermes,
               reply: "if a < b and <tool> or <tool_cal> then <",
               expected: [.text("if a < b and <tool> or <tool_cal> then <")]),
    ParserCase(name: "tag body that is not a call is released", format: .hermes,
               reply: "<tool_call>not json</tool_call> ok",
               expected: [.text("<tool_call>not json</tool_call> ok")]),
    ParserCase(name: "unterminated tag with a complete call", format: .hermes,
               reply: "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"s\": \"}{\\\"]\"}}",
               expected: [call(0, "f", ["s": "}{\"]"])], markup: ["<tool"]),
    ParserCase(name: "arguments as a string of JSON", format: .hermes,
               reply: "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": [1, 2]}\"}</tool_call>",
               expected: [call(0, "f", ["a": [1, 2]])], markup: ["<tool"]),
    ParserCase(name: "non-ASCII text around a call", format: .hermes,
               reply: "早上好 👋 <tool_call>{\"name\": \"f\", \"arguments\": {\"q\": \"é\"}}</tool_call>Ça va",
               expected: [.text("早上好 👋 "), call(0, "f", ["q": "é"]), .text("Ça va")], markup: ["<tool"]),
    ParserCase(name: "leading whitespace before a bare call", format: .hermes,
               reply: "\n  {\"name\": \"f\", \"arguments\": {}}",
               expected: [call(0, "f", .object([:]))]),
    ParserCase(name: "whitespace only", format: .hermes, reply: " \n ", expected: [.text(" \n ")]),
    ParserCase(name: "llama 3 bare JSON call", format: .llama3,
               reply: "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}",
               expected: [call(0, "get_weather", paris)], markup: ["{"]),
    ParserCase(name: "llama 3 python_tag with two calls", format: .llama3,
               reply: "<|python_tag|>{\"type\": \"function\", \"name\": \"a\", \"parameters\": {\"x\": true}}; {\"name\": \"b\", \"parameters\": {}}",
               expected: [call(0, "a", ["x": true]), call(1, "b", .object([:]))], markup: ["<|python", "{"]),
    ParserCase(name: "llama 3 built-in tool syntax stays text", format: .llama3,
               reply: "<|python_tag|>brave_search.call(query=\"x\")",
               expected: [.text("<|python_tag|>brave_search.call(query=\"x\")")]),
    ParserCase(name: "mistral list with ids", format: .mistral,
               reply: "[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {\"x\": 1}, \"id\": \"abcDEF123\"}, {\"name\": \"b\", \"arguments\": {}}]",
               expected: [call(0, "a", ["x": 1], id: "abcDEF123"), call(1, "b", .object([:]))], markup: ["[TOOL", "{"]),
    ParserCase(name: "mistral name[ARGS] calls", format: .mistral,
               reply: "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}[TOOL_CALLS]b[ARGS]{}",
               expected: [call(0, "get_weather", paris), call(1, "b", .object([:]))], markup: ["[TOOL", "[ARGS", "{"]),
    ParserCase(name: "mistral text with brackets", format: .mistral,
               reply: "See [1] and [TOOL] [x",
               expected: [.text("See [1] and [TOOL] [x")]),
    ParserCase(name: "mistral bare list (control token not rendered)", format: .mistral,
               reply: "[{\"name\": \"a\", \"arguments\": {}}]",
               expected: [call(0, "a", .object([:]))], markup: ["{"]),
]

@Test(arguments: parserCases)
func parsesEveryChunking(_ c: ParserCase) {
    for pieces in chunkings(c.reply) {
        let events = parse(c.format, pieces, names: c.names)
        #expect(events == c.expected, "\(c.name) fed as \(pieces)")
        for case let .text(t) in events where !c.expected.contains(.text(t)) {
            Issue.record("\(c.name): unexpected text \(t.debugDescription)")
        }
        // No partial markup ever reaches the text (the expected text itself aside).
        let expectedText = c.expected.compactMap { if case let .text(t) = $0 { t } else { nil } }.joined()
        for marker in c.markup where !expectedText.contains(marker) {
            for case let .text(t) in events { #expect(!t.contains(marker), "\(c.name): text leaked \(marker)") }
        }
    }
}

/// Streaming: what a piece releases is never taken back; a text event never holds a prefix of the tag
/// once the next character shows it is none.
@Test func releasesHeldTextAsSoonAsItIsNotMarkup() {
    var parser = ToolCallParser(format: .hermes)
    #expect(parser.feed("Hello <tool") == [.text("Hello ")])
    #expect(parser.feed("s>") == [.text("<tools>")])
    #expect(parser.feed(" {") == [.text(" {")]) // not at the start of the reply: plain text
    #expect(parser.finish() == [])
    var bare = ToolCallParser(format: .hermes, makeID: { "id\($0)" })
    #expect(bare.feed("  {\"name\": \"f\",") == [])
    #expect(bare.feed(" \"arguments\": {}}") == [.call(ChatToolCall(id: "id0", name: "f", arguments: .object([:])))])
    #expect(bare.feed("\n\nThen") == [.text("Then")])
    #expect(bare.callsParsed == 1)
}

@Test func forcedPrefixesParseAsCalls() {
    for format in ToolCallFormat.allCases {
        let named = format.forcedCallPrefix(name: "get_weather")
        let continuation = format == .hermes ? "{\"city\": \"Paris\"}}\n</tool_call>" : format == .mistral ? "{\"city\": \"Paris\"}}]" : "{\"city\": \"Paris\"}}"
        #expect(parse(format, [continuation], prefix: named) == [call(0, "get_weather", paris)], "\(format) named")
        let required = format.forcedCallPrefix(name: nil)
        let rest = "get_weather\", \"\(format == .llama3 ? "parameters" : "arguments")\": {\"city\": \"Paris\"}}" + (format == .hermes ? "</tool_call>" : format == .mistral ? "]" : "")
        #expect(parse(format, [rest], prefix: required) == [call(0, "get_weather", paris)], "\(format) required")
    }
}

@Test func formatFromTemplates() throws {
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("TemplateTests/Fixtures/templates")
    func format(_ name: String) throws -> ToolCallFormat? {
        ToolCallFormat.detect(template: try String(contentsOf: dir.appendingPathComponent(name + ".jinja"), encoding: .utf8))
    }
    #expect(try format("model-qwen2.5-coder-0.5b") == .hermes)
    #expect(try format("Qwen-Qwen2.5-7B-Instruct") == .hermes)
    #expect(try format("NousResearch-Hermes-3-Llama-3.1-8B-tool_use") == .hermes)
    #expect(try format("meta-llama-Llama-3.1-8B-Instruct") == .llama3)
    #expect(try format("meta-llama-Llama-3.2-3B-Instruct") == .llama3)
    #expect(try format("mistralai-Mistral-Nemo-Instruct-2407") == .mistral)
    #expect(try format("Mistral-Small-3.2-24B-Instruct-2506") == .mistral)
    #expect(try format("model-smollm2-135m") == nil)
    #expect(try format("google-gemma-2-2b-it") == nil)
}
