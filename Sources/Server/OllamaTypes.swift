import Foundation
import JSON
import Runtime
import Template

// Request bodies of Ollama's API (docs/api.md), field by field. Unknown fields are ignored, as Ollama
// does; a known field of the wrong type is a 400 naming it.

struct OllamaGenerateRequest: Decodable, Sendable {
    var model: String
    var prompt: String?
    var suffix: String?
    var system: String?
    var template: String?
    var context: [Int]?
    var raw: Bool?
    var stream: Bool?
    var format: JSONValue?
    var options: [String: JSONValue]?
    var keepAlive: JSONValue?
    var images: [String]?
    var logprobs: Bool?
    var topLogprobs: Int?
    var truncate: Bool?
    var think: JSONValue?

    enum CodingKeys: String, CodingKey {
        case model, prompt, suffix, system, template, context, raw, stream, format, options, images, logprobs, truncate, think
        case keepAlive = "keep_alive", topLogprobs = "top_logprobs"
    }
}

struct OllamaMessage: Decodable, Sendable {
    var role: String
    var content: String?
    var images: [String]?
    var toolCalls: [JSONValue]?
    var toolName: String?
    var thinking: String?

    enum CodingKeys: String, CodingKey {
        case role, content, images, thinking
        case toolCalls = "tool_calls", toolName = "tool_name"
    }
}

struct OllamaChatRequest: Decodable, Sendable {
    var model: String
    var messages: [OllamaMessage]?
    var stream: Bool?
    var format: JSONValue?
    var options: [String: JSONValue]?
    var keepAlive: JSONValue?
    var tools: [JSONValue]?
    var logprobs: Bool?
    var topLogprobs: Int?
    var truncate: Bool?
    var think: JSONValue?

    enum CodingKeys: String, CodingKey {
        case model, messages, stream, format, options, tools, logprobs, truncate, think
        case keepAlive = "keep_alive", topLogprobs = "top_logprobs"
    }
}

struct OllamaModelRequest: Decodable, Sendable {
    var model: String?
    /// The older spelling of `model`.
    var name: String?
    var verbose: Bool?
    var stream: Bool?
    var insecure: Bool?

    func requireModel() throws(ServerError) -> String {
        guard let m = model ?? name, !m.isEmpty else { throw .badRequest("missing field 'model'") }
        return m
    }
}

struct OllamaCopyRequest: Decodable, Sendable {
    var source: String
    var destination: String
}

/// Checks shared by every generating endpoint: fields SwiftLM cannot honour yet are refused by name.
enum FieldChecks {
    /// Ollama's `format`: `"json"` (any JSON object) or a JSON Schema object, enforced by constrained
    /// sampling. A schema that cannot be enforced is a 400 naming the keyword.
    static func outputFormat(_ format: JSONValue?, field: String = "format") throws(ServerError) -> OutputFormat? {
        let result: OutputFormat?
        switch format {
        case nil, .null?: return nil
        case let .string(s)? where s.isEmpty: return nil
        case .string("json")?: result = .json
        case let schema? where schema.isObject: result = .jsonSchema(schema.serialized)
        default:
            throw .badRequest("invalid value for field '\(field)': expected \"json\" or a JSON Schema object")
        }
        return try checked(result, field: field)
    }

    /// OpenAI's `response_format`: `{"type":"text"}`, `{"type":"json_object"}` or
    /// `{"type":"json_schema","json_schema":{"name":…,"schema":{…}}}`.
    static func responseFormat(_ format: JSONValue?) throws(ServerError) -> OutputFormat? {
        let field = "response_format"
        guard let format, !format.isNull else { return nil }
        guard format.isObject, case let .string(type)? = format["type"] else {
            throw .badRequest("invalid value for field '\(field)': expected an object with a 'type' of \"text\", \"json_object\" or \"json_schema\"")
        }
        switch type {
        case "text": return nil
        case "json_object": return try checked(.json, field: field)
        case "json_schema":
            guard let spec = format["json_schema"], spec.isObject else {
                throw .badRequest("missing field 'response_format.json_schema' (an object with 'name' and 'schema')")
            }
            guard let schema = spec["schema"] else { return try checked(.json, field: field) }
            guard schema.isObject || schema == .bool(true) else {
                throw .badRequest("invalid value for field 'response_format.json_schema.schema': expected a JSON Schema object")
            }
            return try checked(.jsonSchema(schema.serialized), field: "response_format.json_schema.schema")
        default:
            throw .badRequest("invalid value for field '\(field).type': expected \"text\", \"json_object\" or \"json_schema\", got \"\(type)\"")
        }
    }

    /// Compiles the grammar now, so a bad schema is a 400 before any model loads.
    private static func checked(_ format: OutputFormat?, field: String) throws(ServerError) -> OutputFormat? {
        do {
            _ = try format?.compiledGrammar()
        } catch {
            throw .badRequest("invalid value for field '\(field)': \(error)")
        }
        return format
    }

    static func rejectImages(_ images: [String]?, field: String) throws(ServerError) {
        if let images, !images.isEmpty {
            throw .unsupported(field, "the catalog models read text only")
        }
    }

    /// `think`: false or absent only; no catalog model reasons in a separate channel.
    static func rejectThink(_ think: JSONValue?, model: String) throws(ServerError) {
        switch think {
        case nil, .null?, .bool(false)?: return
        default: throw .badRequest("\"\(model)\" does not support thinking")
        }
    }

    static func keepAlive(_ value: JSONValue?, default fallback: KeepAlive) throws(ServerError) -> KeepAlive {
        guard let value, !value.isNull else { return fallback }
        return try KeepAlive.parse(value)
    }

    static let roles: Set<String> = ["system", "user", "assistant", "tool"]
}

extension OllamaMessage {
    func chatMessage(at index: Int) throws(ServerError) -> ChatMessage {
        guard FieldChecks.roles.contains(role) else {
            throw .badRequest("invalid value for field 'messages[\(index)].role': '\(role)' (expected system, user, assistant or tool)")
        }
        try FieldChecks.rejectImages(images, field: "messages[\(index)].images")
        var calls: [ChatToolCall]?
        if let toolCalls, !toolCalls.isEmpty {
            calls = try toolCalls.enumerated().map { (i, call) throws(ServerError) -> ChatToolCall in
                guard let function = call["function"], case let .string(name)? = function["name"] else {
                    throw .badRequest("invalid value for field 'messages[\(index)].tool_calls[\(i)]': expected {\"function\": {\"name\": ..., \"arguments\": {...}}}")
                }
                return ChatToolCall(name: name, arguments: function["arguments"].map(TemplateValue.init) ?? .object(TemplateObject()))
            }
        }
        return ChatMessage(role: role, content: content ?? "", toolCalls: calls, name: toolName)
    }
}
