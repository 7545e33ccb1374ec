import Foundation
import Grammar
import Runtime
import Template
import Testing

/// The grammar of a forced tool call (`tool_choice` required or named): after the prefix written for
/// the model, only an offered tool's name, arguments valid for its schema, and the end of the call.
@Suite struct ForcedCallTests {
    static let tools: [TemplateValue] = {
        let json = #"""
        [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
           "properties": {"city": {"type": "string", "maxLength": 20}, "unit": {"enum": ["celsius", "fahrenheit"]}},
           "required": ["city"], "additionalProperties": false}}},
         {"type": "function", "function": {"name": "add_event", "parameters": {"type": "object",
           "properties": {"when": {"$ref": "#/$defs/day"}, "title": {"type": "string"}}, "required": ["when", "title"],
           "$defs": {"day": {"type": "string", "format": "date"}}}}},
         {"type": "function", "function": {"name": "ping"}}]
        """#
        guard case let .array(list) = try! TemplateValue(json: json) else { return [] }
        return list
    }()

    static func grammar(_ format: ToolCallFormat, name: String?) throws -> Grammar {
        guard case let .grammar(text) = try format.forcedCallFormat(tools: tools, name: name) else {
            throw RuntimeError.invalidOption(name: "format", value: "", expected: "a grammar")
        }
        return try Grammar(gbnf: text)
    }

    @Test func requiredCallNamesAnOfferedToolWithValidArguments() throws {
        let g = try Self.grammar(.hermes, name: nil)
        // The text after `<tool_call>\n{"name": "`.
        for accepted in [
            "get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>",
            "get_weather\", \"arguments\": {\"city\": \"Oslo\", \"unit\": \"celsius\"}}\n</tool_call>",
            "add_event\", \"arguments\": {\"when\": \"2024-05-01\", \"title\": \"Lunch\"}}\n</tool_call>",
            "ping\", \"arguments\": {}}\n</tool_call>",
            "ping\", \"arguments\": {\"anything\": [1, 2]}}\n</tool_call>",
        ] {
            #expect(Recognizer.matches(g, accepted), "\(accepted)")
        }
        for rejected in [
            "get_time\", \"arguments\": {}}\n</tool_call>", // not offered
            "get_weather\", \"arguments\": {}}\n</tool_call>", // city is required
            "get_weather\", \"arguments\": {\"city\": \"Oslo\", \"unit\": \"kelvin\"}}\n</tool_call>",
            "get_weather\", \"arguments\": {\"city\": \"Oslo\", \"x\": 1}}\n</tool_call>",
            "add_event\", \"arguments\": {\"when\": \"May 1st\", \"title\": \"Lunch\"}}\n</tool_call>",
            "get_weather\", \"arguments\": {\"city\": \"Oslo\"}}", // the call does not end
            "ping\", \"arguments\": \"{}\"}\n</tool_call>",
        ] {
            #expect(!Recognizer.matches(g, rejected), "\(rejected)")
        }
    }

    @Test func namedCallIsOnlyThatToolsArguments() throws {
        // The text after `<tool_call>\n{"name": "get_weather", "arguments": `.
        let g = try Self.grammar(.hermes, name: "get_weather")
        #expect(Recognizer.matches(g, "{\"city\": \"Oslo\"}}\n</tool_call>"))
        #expect(!Recognizer.matches(g, "{\"when\": \"2024-05-01\", \"title\": \"Lunch\"}}\n</tool_call>"))
        #expect(throws: RuntimeError.self) { try ToolCallFormat.hermes.forcedCallFormat(tools: Self.tools, name: "nope") }
    }

    @Test func eachFormatEndsItsOwnWay() throws {
        #expect(Recognizer.matches(try Self.grammar(.llama3, name: nil), #"ping", "parameters": {}}"#))
        #expect(Recognizer.matches(try Self.grammar(.mistral, name: nil), #"ping", "arguments": {}}]"#))
        #expect(Recognizer.matches(try Self.grammar(.mistral, name: "ping"), #"{}}]"#))
        // The whole reply, prefix included, parses back into the call.
        for format in ToolCallFormat.allCases {
            let args = format == .llama3 ? #"ping", "parameters": {}}"# : format == .mistral ? #"ping", "arguments": {}}]"# : "ping\", \"arguments\": {}}\n</tool_call>"
            var parser = ToolCallParser(format: format, makeID: { "call_\($0)" })
            let events = parser.feed(format.forcedCallPrefix(name: nil) + args) + parser.finish()
            #expect(events == [.call(ChatToolCall(id: "call_0", name: "ping", arguments: .object(TemplateObject())))], "\(format)")
        }
    }

    @Test func unsupportedKeywordInAToolIsAnError() throws {
        guard case let .array(tools) = try TemplateValue(json: #"[{"type": "function", "function": {"name": "tag", "parameters": {"type": "object", "properties": {"tags": {"type": "array", "uniqueItems": true}}}}}]"#) else { return }
        #expect(throws: RuntimeError.grammar(.unsupportedSchema(keyword: "uniqueItems", path: "/properties/tags", reason: "unique array items cannot be enforced by a grammar"))) {
            try ToolCallFormat.hermes.forcedCallFormat(tools: tools, name: nil)
        }
    }
}
