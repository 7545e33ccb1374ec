import Grammar
import JSON
import Template

/// How a model writes a tool call, which its chat template tells: the template that shows the model
/// its tools is also the one that shows it, in past assistant turns, how a call looks.
public enum ToolCallFormat: String, Sendable, Equatable, CaseIterable {
    /// `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`, one block per call: Qwen2.5, Qwen3,
    /// Hermes 2 Pro / Hermes 3, SmolLM3 and the many templates that copied them.
    case hermes
    /// A bare JSON object `{"name": ..., "parameters": {...}}` as the whole reply, several separated by
    /// `;`, optionally after the `<|python_tag|>` token: Llama 3.1, 3.2 and 3.3.
    case llama3
    /// `[TOOL_CALLS][{"name": ..., "arguments": {...}}, ...]` (Mistral v3 to Nemo), or
    /// `[TOOL_CALLS]name[ARGS]{...}` per call (Mistral Small 3.2, Devstral, Ministral 3).
    case mistral

    /// The format a chat template uses, or nil when the template never shows the model its tools
    /// (or shows them in a syntax SwiftLM does not parse).
    public static func detect(template source: String) -> ToolCallFormat? {
        // A template that ignores `tools` would render the request as if it had none.
        guard source.contains("tools") else { return nil }
        if source.contains("[TOOL_CALLS]") { return .mistral }
        if source.contains("<tool_call>") { return .hermes }
        if source.contains("<|python_tag|>") || source.contains("<|start_header_id|>") { return .llama3 }
        return nil
    }

    /// The text that opens a call anywhere in a reply.
    var openTag: String {
        switch self {
        case .hermes: return "<tool_call>"
        case .llama3: return "<|python_tag|>"
        case .mistral: return "[TOOL_CALLS]"
        }
    }

    /// The text that closes one call, for formats that have one.
    var closeTag: String? { self == .hermes ? "</tool_call>" : nil }

    /// The key this format's models write the arguments under (both are accepted when parsing).
    var argumentsKey: String { self == .llama3 ? "parameters" : "arguments" }

    /// Special tokens whose text the parser must see: they are control tokens in these models'
    /// vocabularies, which the detokenizer otherwise drops (Qwen's `<tool_call>` is ordinary text).
    public var markupTokens: [String] {
        switch self {
        case .hermes: return ["<tool_call>", "</tool_call>"]
        case .llama3: return ["<|python_tag|>"]
        case .mistral: return ["[TOOL_CALLS]", "[ARGS]"]
        }
    }

    /// The start of a reply that commits the model to a call (`tool_choice` `required`), or to a call
    /// of `name`: appended to the prompt after the generation prompt, and fed to the parser first.
    public func forcedCallPrefix(name: String?) -> String {
        let head: String
        switch self {
        case .hermes: head = "<tool_call>\n"
        case .llama3: head = ""
        case .mistral: head = "[TOOL_CALLS]["
        }
        guard let name else { return head + #"{"name": ""# }
        return head + #"{"name": "# + TemplateValue.string(name).jsonString + #", ""# + argumentsKey + #"": "#
    }
}

extension ToolCallFormat {
    /// The text that ends a call begun with ``forcedCallPrefix(name:)`` once its arguments are written.
    var forcedCallEnd: String {
        switch self {
        case .hermes: return "}\n</tool_call>"
        case .llama3: return "}"
        case .mistral: return "}]"
        }
    }

    /// The rest of a reply that starts with ``forcedCallPrefix(name:)``, as a grammar: the name of one
    /// of `tools` (or nothing more when `name` is given, the prefix already holds it), arguments that
    /// match that tool's `parameters` JSON Schema, and the end of the call. With it as the
    /// ``GenerationOptions/format``, `tool_choice` `required` or a named function always gives one
    /// call of an offered tool whose arguments validate (as llama.cpp's grammar for forced calls).
    ///
    /// - Throws: ``RuntimeError/grammar(_:)`` when a tool's schema uses a keyword the converter cannot
    ///   enforce (never a silently looser call).
    public func forcedCallFormat(tools: [TemplateValue], name: String?) throws(RuntimeError) -> OutputFormat {
        var alternatives: [(lead: String, schema: JSONValue)] = []
        for tool in tools {
            let function = tool["function"] ?? tool
            guard let toolName = function["name"]?.stringValue, name == nil || toolName == name else { continue }
            // No `parameters`: any object, as OpenAI treats a function without parameters.
            let schemaText = function["parameters"].map(\.jsonString) ?? #"{"type": "object"}"#
            let schema: JSONValue
            do throws(GrammarError) { schema = try JSONSchemaGrammar.parse(schemaText) } catch { throw .grammar(error) }
            // The prefix ends inside the name's string: the rest of the name, then the arguments key.
            let lead = name != nil ? "" : String(TemplateValue.string(toolName).jsonString.dropFirst()) + #", ""# + argumentsKey + #"": "#
            alternatives.append((lead, schema))
        }
        guard !alternatives.isEmpty else {
            throw .invalidOption(name: "tool_choice", value: name ?? "required", expected: "the name of one of the tools")
        }
        do throws(GrammarError) {
            return .grammar(try JSONSchemaGrammar.gbnf(alternatives: alternatives, trailer: forcedCallEnd))
        } catch {
            throw .grammar(error)
        }
    }
}

/// What a ``ToolCallParser`` makes of a model's reply: text for the user, or a call for the program.
public enum ToolCallEvent: Sendable, Equatable {
    case text(String)
    case call(ChatToolCall)
}
