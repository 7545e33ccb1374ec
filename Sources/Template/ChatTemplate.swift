import GGUF

/// A compiled Jinja2 chat template, rendered the way Hugging Face transformers' `apply_chat_template`
/// renders it (trim_blocks and lstrip_blocks on, loop controls, `raise_exception`, `strftime_now`,
/// a `tojson` that keeps non-ASCII text).
///
/// Parsing happens once in ``init(source:)``; ``render(_:)`` can be called from any thread.
public struct ChatTemplate: Sendable {
    /// The template text as given.
    public let source: String
    let program: [Node]
    /// Pins the clock `strftime_now` reads, as Unix seconds formatted in UTC, so renders are
    /// reproducible (golden tests, `SWIFTLM_TEMPLATE_NOW`). Nil reads the local clock.
    public var pinnedTime: Double?

    /// Parses `source`. Throws ``TemplateError/syntax(message:line:column:)`` with the position of
    /// the first problem.
    public init(source: String) throws(TemplateError) {
        self.source = source
        var lexer = Lexer(source)
        let tokens = try lexer.tokenize()
        var parser = Parser(tokens: tokens, source: source)
        program = try parser.parseTemplate()
    }

    /// Renders the template with `context` as its variables. Unknown variables are jinja2
    /// `Undefined`s (empty when printed, false when tested).
    public func render(_ context: [String: TemplateValue]) throws(TemplateError) -> String {
        var vars: [String: Value] = [:]
        for (k, v) in context { vars[k] = Value(v) }
        let interpreter = Interpreter(source: source, globals: vars, fixedTime: pinnedTime)
        return try interpreter.run(program)
    }

    /// The chat template stored in a model file: `tokenizer.chat_template`, or the named variant
    /// `tokenizer.chat_template.<variant>` (for example `tool_use`).
    /// Throws ``TemplateError/missingTemplate(model:variant:)`` when the model has none.
    public static func fromModel(_ gguf: GGUFFile, variant: String? = nil) throws(TemplateError) -> ChatTemplate {
        let key = variant.map { GGUFKey.chatTemplate(named: $0) } ?? GGUFKey.chatTemplate
        guard let text = gguf.string(key) else {
            let model = gguf.string(GGUFKey.name) ?? gguf.path
            throw .missingTemplate(model: model, variant: variant)
        }
        return try ChatTemplate(source: text)
    }

    /// The text of the model's BOS and EOS tokens (`tokenizer.ggml.tokens[bos_token_id]`...), which
    /// transformers passes to templates as `bos_token` / `eos_token`. Nil when the model does not say.
    public static func specialTokens(of gguf: GGUFFile) -> (bos: String?, eos: String?) {
        guard case let .strings(tokens)? = gguf.array(GGUFKey.tokens) else { return (nil, nil) }
        func text(_ key: String) -> String? {
            guard let id = gguf.int(key), id >= 0, id < tokens.count else { return nil }
            return tokens[id]
        }
        return (text(GGUFKey.bosID), text(GGUFKey.eosID))
    }
}

/// A tool call made by the assistant, as chat templates expect it inside `message.tool_calls`.
public struct ChatToolCall: Sendable, Codable, Equatable {
    public var id: String?
    public var name: String
    /// Usually an object; some clients send the arguments as a JSON string, which is passed through.
    public var arguments: TemplateValue

    public init(id: String? = nil, name: String, arguments: TemplateValue) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }

    /// `{"id"?, "type": "function", "function": {"name", "arguments"}}`, the OpenAI shape templates read.
    public var templateValue: TemplateValue {
        var o = TemplateObject()
        if let id { o["id"] = .string(id) }
        o["type"] = "function"
        o["function"] = ["name": .string(name), "arguments": arguments]
        return .object(o)
    }
}

/// One chat message. Encodes with the snake_case keys of the OpenAI / transformers format.
public struct ChatMessage: Sendable, Codable, Equatable {
    public var role: String
    public var content: String
    public var toolCalls: [ChatToolCall]?
    /// For `role == "tool"`: the id of the call this message answers.
    public var toolCallID: String?
    /// For `role == "tool"`: the function's name (some templates print it).
    public var name: String?

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    public init(role: String, content: String, toolCalls: [ChatToolCall]? = nil, toolCallID: String? = nil,
                name: String? = nil)
    {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.name = name
    }

    enum CodingKeys: String, CodingKey {
        case role, content, name
        case toolCalls = "tool_calls"
        case toolCallID = "tool_call_id"
    }

    /// The message as a template sees it; absent fields are left out (so `message.name is defined` is false).
    public var templateValue: TemplateValue {
        var o: TemplateObject = ["role": .string(role), "content": .string(content)]
        if let toolCalls { o["tool_calls"] = .array(toolCalls.map(\.templateValue)) }
        if let toolCallID { o["tool_call_id"] = .string(toolCallID) }
        if let name { o["name"] = .string(name) }
        return .object(o)
    }
}

extension ChatTemplate {
    /// Renders a conversation the way `apply_chat_template(messages, tools=..., add_generation_prompt=...)`
    /// does. `extra` adds variables such as `enable_thinking` or `date_string`.
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String, eosToken: String,
                       tools: [TemplateValue]? = nil, extra: [String: TemplateValue] = [:]) throws(TemplateError) -> String
    {
        var context = extra
        context["messages"] = .array(messages.map(\.templateValue))
        context["add_generation_prompt"] = .bool(addGenerationPrompt)
        context["bos_token"] = .string(bosToken)
        context["eos_token"] = .string(eosToken)
        if let tools { context["tools"] = .array(tools) }
        return try render(context)
    }
}
