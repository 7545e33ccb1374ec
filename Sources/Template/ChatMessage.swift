// Chat messages as transformers passes them to templates (the OpenAI message shape).

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

    private enum CodingKeys: String, CodingKey { case id, type, function }
    private enum FunctionKeys: String, CodingKey { case name, arguments }

    /// Reads the OpenAI / Ollama shape `{"id"?, "type"?, "function": {"name", "arguments"}}`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decodeIfPresent(String.self, forKey: .id)
        let f = try c.nestedContainer(keyedBy: FunctionKeys.self, forKey: .function)
        name = try f.decode(String.self, forKey: .name)
        arguments = try f.decodeIfPresent(TemplateValue.self, forKey: .arguments) ?? .object([:])
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(id, forKey: .id)
        try c.encode("function", forKey: .type)
        var f = c.nestedContainer(keyedBy: FunctionKeys.self, forKey: .function)
        try f.encode(name, forKey: .name)
        try f.encode(arguments, forKey: .arguments)
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

    /// A null or absent `content` (an assistant message that only calls tools) reads as "".
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        role = try c.decode(String.self, forKey: .role)
        content = try c.decodeIfPresent(String.self, forKey: .content) ?? ""
        toolCalls = try c.decodeIfPresent([ChatToolCall].self, forKey: .toolCalls)
        toolCallID = try c.decodeIfPresent(String.self, forKey: .toolCallID)
        name = try c.decodeIfPresent(String.self, forKey: .name)
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
