import Foundation
import JSON
import Runtime
import Template

/// The tools of a chat request, ready to render and to parse the reply with.
///
/// Tools and the arguments of past calls are read from the raw body with an order-keeping JSON parser:
/// templates print them with `tojson`, and the model should see the keys in the order the client wrote
/// them, as transformers' `apply_chat_template` shows them (``JSONValue`` sorts keys).
struct RequestTools: Sendable {
    var tools: [TemplateValue]
    var choice: ToolChoice
    var format: ToolCallFormat
    /// The start of the reply written for the model, when `tool_choice` forces a call.
    var forcedPrefix: String
    /// The grammar of the rest of a forced call (the tool's name and schema-valid arguments); nil for `auto`.
    var forcedFormat: OutputFormat? = nil

    var names: Set<String> { ToolChoice.names(of: tools) }

    /// A parser for the reply, already past the forced prefix.
    func parser() -> ToolCallParser {
        var parser = ToolCallParser(format: format, toolNames: names)
        if !forcedPrefix.isEmpty { _ = parser.feed(forcedPrefix) }
        return parser
    }

    /// The tools and `tool_choice` a request asks for, checked before any model is loaded.
    struct Requested: Sendable {
        var tools: [TemplateValue]
        var choice: ToolChoice
    }

    /// Reads `tools` and `tool_choice` from the raw body; nil when the request has no tools.
    static func requested(raw: TemplateValue) throws(ServerError) -> Requested? {
        guard case let .array(tools)? = raw["tools"], !tools.isEmpty else {
            if raw["tool_choice"] != nil, raw["tool_choice"] != .null, raw["tool_choice"] != .string("none"),
               raw["tool_choice"] != .string("auto") {
                throw .badRequest("invalid value for field 'tool_choice': there are no tools to choose from")
            }
            return nil
        }
        for (i, tool) in tools.enumerated() {
            let type = tool["type"]?.stringValue ?? "function"
            guard type == "function" else {
                throw .unsupported("tools[\(i)].type", "only \"function\" tools exist in SwiftLM, not '\(type)'")
            }
            guard let name = tool["function"]?["name"]?.stringValue, !name.isEmpty else {
                throw .badRequest("invalid value for field 'tools[\(i)]': expected {\"type\": \"function\", \"function\": {\"name\": ..., \"parameters\": {...}}}")
            }
        }
        return Requested(tools: tools, choice: try choice(raw["tool_choice"], names: ToolChoice.names(of: tools)))
    }

    /// The tools as `template` renders them, or nil when there are none or `tool_choice` is `none`
    /// (the tools are then not shown to the model and the reply is plain text).
    static func resolve(_ requested: Requested?, template: ChatTemplate?, model: String) throws(ServerError) -> RequestTools? {
        guard let requested, requested.choice != .none else { return nil }
        guard let template, let format = ToolCallFormat.detect(template: template.source) else {
            throw .badRequest("\"\(model)\" does not support tools (its chat template does not render them)")
        }
        let forced: String
        switch requested.choice {
        case .none, .auto: forced = ""
        case .required: forced = format.forcedCallPrefix(name: nil)
        case let .function(name): forced = format.forcedCallPrefix(name: name)
        }
        var forcedFormat: OutputFormat?
        if requested.choice != .auto {
            let name: String? = if case let .function(n) = requested.choice { n } else { nil }
            do {
                let grammar = try format.forcedCallFormat(tools: requested.tools, name: name)
                _ = try grammar.compiledGrammar()
                forcedFormat = grammar
            } catch {
                throw .badRequest("invalid value for field 'tools': the arguments of a forced call cannot be constrained: \(error)")
            }
        }
        return RequestTools(tools: requested.tools, choice: requested.choice, format: format, forcedPrefix: forced,
                            forcedFormat: forcedFormat)
    }

    /// OpenAI's `tool_choice`: `"none"`, `"auto"`, `"required"`, or `{"type": "function", "function": {"name": ...}}`.
    static func choice(_ value: TemplateValue?, names: Set<String>) throws(ServerError) -> ToolChoice {
        switch value {
        case nil, .null?, .string("auto")?: return .auto
        case .string("none")?: return .none
        case .string("required")?: return .required
        case let .object(o)?:
            guard o["type"]?.stringValue ?? "function" == "function", let name = o["function"]?["name"]?.stringValue else {
                throw .badRequest(#"invalid value for field 'tool_choice': expected "none", "auto", "required" or {"type": "function", "function": {"name": ...}}"#)
            }
            guard names.contains(name) else {
                throw .badRequest("invalid value for field 'tool_choice': '\(name)' is not one of the tools (\(names.sorted().joined(separator: ", ")))")
            }
            return .function(name)
        default:
            throw .badRequest(#"invalid value for field 'tool_choice': expected "none", "auto", "required" or {"type": "function", "function": {"name": ...}}"#)
        }
    }

    /// Replaces the arguments of past tool calls in `messages` by their order-keeping parse from `raw`
    /// (an OpenAI string of JSON, or an Ollama object).
    static func restoreArgumentOrder(_ messages: inout [ChatMessage], raw: TemplateValue) {
        guard case let .array(rawMessages)? = raw["messages"], rawMessages.count == messages.count else { return }
        for (i, rawMessage) in rawMessages.enumerated() {
            guard var calls = messages[i].toolCalls, case let .array(rawCalls)? = rawMessage["tool_calls"],
                  rawCalls.count == calls.count else { continue }
            for (j, rawCall) in rawCalls.enumerated() {
                switch rawCall["function"]?["arguments"] {
                case let .object(o)?: calls[j].arguments = .object(o)
                case let .string(s)?: if let parsed = try? TemplateValue(json: s) { calls[j].arguments = parsed }
                default: break
                }
            }
            messages[i].toolCalls = calls
        }
    }

    /// The body as ordered JSON; nil when it does not parse (the typed decoder has already accepted it,
    /// so this only loses key order).
    static func rawBody(_ bytes: [UInt8]) -> TemplateValue? {
        try? TemplateValue(jsonData: bytes)
    }
}

extension ChatToolCall {
    /// Ollama's `message.tool_calls` item: arguments as an object.
    func ollamaJSON(index: Int) -> JSONValue {
        object(("id", id.map(JSONValue.string)),
               ("function", object(("index", .int(index)), ("name", .string(name)), ("arguments", JSONValue(arguments)))))
    }

    /// The arguments as OpenAI sends them: a string of JSON.
    var argumentsString: String { JSONValue(arguments).serialized }

    /// OpenAI's `message.tool_calls` item: arguments as a string of JSON.
    var openAIJSON: JSONValue {
        object(("id", .string(id ?? "")), ("type", .string("function")),
               ("function", object(("name", .string(name)), ("arguments", .string(argumentsString)))))
    }
}
