import Foundation
import Hummingbird
import JSON
import Runtime
import Store
import Template

// OpenAI's API as Ollama serves it (ollama's openai/openai.go): the same models, options mapped onto
// Ollama's, SSE streams that end with `data: [DONE]`, and OpenAI's error object.

struct OpenAIStreamOptions: Decodable, Sendable {
    var includeUsage: Bool?
    enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
}

/// A message's `content`: a string, or a list of parts of which SwiftLM reads the text ones.
struct OpenAIContent: Decodable, Sendable {
    var text: String

    struct Part: Decodable, Sendable {
        var type: String
        var text: String?
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            text = ""
        } else if let s = try? c.decode(String.self) {
            text = s
        } else {
            let parts = try c.decode([Part].self)
            var out = ""
            for (i, part) in parts.enumerated() {
                switch part.type {
                case "text", "input_text": out += part.text ?? ""
                default:
                    throw DecodingError.dataCorrupted(.init(
                        codingPath: c.codingPath + [IndexKey(intValue: i)],
                        debugDescription: "content parts of type '\(part.type)' are not supported (the catalog models read text only)"))
                }
            }
            text = out
        }
    }

    struct IndexKey: CodingKey {
        var intValue: Int?
        var stringValue: String { String(intValue ?? 0) }
        init(intValue: Int) { self.intValue = intValue }
        init?(stringValue: String) { nil }
    }
}

struct OpenAIMessage: Decodable, Sendable {
    var role: String
    var content: OpenAIContent?
    var name: String?
    var toolCalls: [JSONValue]?
    var toolCallID: String?

    enum CodingKeys: String, CodingKey {
        case role, content, name
        case toolCalls = "tool_calls", toolCallID = "tool_call_id"
    }

    func chatMessage(at index: Int) throws(ServerError) -> ChatMessage {
        // "developer" is OpenAI's newer name for the system role.
        let role = self.role == "developer" ? "system" : self.role
        guard FieldChecks.roles.contains(role) else {
            throw .badRequest("invalid value for field 'messages[\(index)].role': '\(self.role)' (expected system, developer, user, assistant or tool)")
        }
        var calls: [ChatToolCall]?
        if let toolCalls, !toolCalls.isEmpty {
            calls = try toolCalls.enumerated().map { (i, call) throws(ServerError) -> ChatToolCall in
                guard let function = call["function"], case let .string(name)? = function["name"] else {
                    throw .badRequest("invalid value for field 'messages[\(index)].tool_calls[\(i)]': expected {\"function\": {\"name\": ..., \"arguments\": ...}}")
                }
                // OpenAI sends the arguments as a string of JSON (parsed, in key order, by RequestTools).
                let arguments = function["arguments"]
                return ChatToolCall(id: call["id"].flatMap { if case let .string(s) = $0 { s } else { nil } }, name: name,
                                    arguments: arguments.map(TemplateValue.init) ?? .object(TemplateObject()))
            }
        }
        return ChatMessage(role: role, content: content?.text ?? "", toolCalls: calls, toolCallID: toolCallID, name: name)
    }
}

/// The sampling fields both OpenAI endpoints share.
struct OpenAISampling: Decodable, Sendable {
    var maxTokens: Int?
    var maxCompletionTokens: Int?
    var temperature: Double?
    var topP: Double?
    var frequencyPenalty: Double?
    var presencePenalty: Double?
    var seed: Int?
    var stop: StringOrStrings?
    var n: Int?

    enum CodingKeys: String, CodingKey {
        case temperature, seed, stop, n
        case maxTokens = "max_tokens", maxCompletionTokens = "max_completion_tokens", topP = "top_p"
        case frequencyPenalty = "frequency_penalty", presencePenalty = "presence_penalty"
    }

    /// Ollama's mapping: temperature and top_p default to 1 (OpenAI's defaults), the rest as Ollama's.
    func options(defaultContext: Int?) throws(ServerError) -> RequestOptions {
        var o = RequestOptions()
        o.contextLength = defaultContext
        o.generation.sampling.temperature = Float(temperature ?? 1)
        o.generation.sampling.topP = Float(topP ?? 1)
        if let frequencyPenalty { o.generation.sampling.frequencyPenalty = Float(frequencyPenalty) }
        if let presencePenalty { o.generation.sampling.presencePenalty = Float(presencePenalty) }
        if let seed { o.generation.sampling.seed = UInt64(bitPattern: Int64(seed)) }
        if let stop { o.generation.stopSequences = stop.values }
        if let max = maxCompletionTokens ?? maxTokens {
            guard max >= 0 else { throw .badRequest("invalid value for field 'max_tokens': expected an integer >= 0") }
            o.generation.maxTokens = max
        }
        if let n, n != 1 { throw .unsupported("n", "one choice per request; send n = 1 or leave it out") }
        return o
    }
}

struct OpenAIChatRequest: Decodable, Sendable {
    var model: String
    var messages: [OpenAIMessage]
    var stream: Bool?
    var streamOptions: OpenAIStreamOptions?
    var logprobs: Bool?
    var topLogprobs: Int?
    var responseFormat: JSONValue?
    var tools: [JSONValue]?
    var toolChoice: JSONValue?
    var truncate: Bool?
    var keepAlive: JSONValue?
    var sampling: OpenAISampling

    enum CodingKeys: String, CodingKey {
        case model, messages, stream, logprobs, tools, truncate
        case streamOptions = "stream_options", topLogprobs = "top_logprobs", responseFormat = "response_format", keepAlive = "keep_alive"
        case toolChoice = "tool_choice"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        messages = try c.decode([OpenAIMessage].self, forKey: .messages)
        stream = try c.decodeIfPresent(Bool.self, forKey: .stream)
        streamOptions = try c.decodeIfPresent(OpenAIStreamOptions.self, forKey: .streamOptions)
        logprobs = try c.decodeIfPresent(Bool.self, forKey: .logprobs)
        topLogprobs = try c.decodeIfPresent(Int.self, forKey: .topLogprobs)
        responseFormat = try c.decodeIfPresent(JSONValue.self, forKey: .responseFormat)
        tools = try c.decodeIfPresent([JSONValue].self, forKey: .tools)
        toolChoice = try c.decodeIfPresent(JSONValue.self, forKey: .toolChoice)
        truncate = try c.decodeIfPresent(Bool.self, forKey: .truncate)
        keepAlive = try c.decodeIfPresent(JSONValue.self, forKey: .keepAlive)
        sampling = try OpenAISampling(from: decoder)
    }
}

struct OpenAICompletionRequest: Decodable, Sendable {
    var model: String
    var prompt: StringOrStrings?
    var suffix: String?
    var stream: Bool?
    var streamOptions: OpenAIStreamOptions?
    var logprobs: Int?
    var echo: Bool?
    var raw: Bool?
    var truncate: Bool?
    var keepAlive: JSONValue?
    var sampling: OpenAISampling

    enum CodingKeys: String, CodingKey {
        case model, prompt, suffix, stream, logprobs, echo, raw, truncate
        case streamOptions = "stream_options", keepAlive = "keep_alive"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        prompt = try c.decodeIfPresent(StringOrStrings.self, forKey: .prompt)
        suffix = try c.decodeIfPresent(String.self, forKey: .suffix)
        stream = try c.decodeIfPresent(Bool.self, forKey: .stream)
        streamOptions = try c.decodeIfPresent(OpenAIStreamOptions.self, forKey: .streamOptions)
        logprobs = try c.decodeIfPresent(Int.self, forKey: .logprobs)
        echo = try c.decodeIfPresent(Bool.self, forKey: .echo)
        raw = try c.decodeIfPresent(Bool.self, forKey: .raw)
        truncate = try c.decodeIfPresent(Bool.self, forKey: .truncate)
        keepAlive = try c.decodeIfPresent(JSONValue.self, forKey: .keepAlive)
        sampling = try OpenAISampling(from: decoder)
    }
}

struct OpenAIRoutes {
    let state: ServerState

    func register(on router: Router<ServerRequestContext>) {
        router.post("/v1/chat/completions") { request, context in try await chat(request, context) }
        router.post("/v1/completions") { request, context in try await completion(request, context) }
        router.post("/apply-template") { request, _ in try await applyTemplate(request) }
        router.get("/v1/models") { _, _ in models() }
        router.get("/v1/models/{id}") { _, context in try model(context.parameters.require("id")) }
    }

    static func modelObject(_ name: String, created: Date) -> JSONValue {
        object(("id", .string(name)), ("object", .string("model")), ("created", .int(Int(created.timeIntervalSince1970))),
               ("owned_by", .string("library")))
    }

    func models() -> Response {
        .json(object(("object", .string("list")),
                     ("data", .array(state.store.list().map { Self.modelObject($0.name, created: $0.pulledAt) }))))
    }

    func model(_ id: String) throws -> Response {
        let name = (try? state.store.canonicalName(id)) ?? id
        guard let manifest = state.store.list().first(where: { $0.name == name }) else {
            throw ServerError(status: .notFound, message: "model \"\(id)\" not found", openAIType: "not_found_error")
        }
        return .json(Self.modelObject(manifest.name, created: manifest.pulledAt))
    }

    func chat(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        var request = request
        let body = try await state.decode(OpenAIChatRequest.self, from: &request)
        let format = try FieldChecks.responseFormat(body.responseFormat)
        var options = try body.sampling.options(defaultContext: state.configuration.defaultContextLength)
        options.generation.format = format
        try options.applyLogprobs(body.logprobs, body.topLogprobs)
        try options.validate()
        let keepAlive = try FieldChecks.keepAlive(body.keepAlive, default: state.configuration.defaultKeepAlive)
        let messages = try body.messages.enumerated().map { (i, m) throws(ServerError) in try m.chatMessage(at: i) }
        guard !messages.isEmpty else { throw ServerError.badRequest("'messages' must not be empty") }
        let chat = try await state.chatPrompt(&request, messages: messages, model: body.model, keepAlive: keepAlive,
                                              contextLength: options.contextLength, truncate: body.truncate ?? false)
        return try await state.respond(request, context: context, chat: chat, options: options, requestedModel: body.model,
                                       started: started) { truncated in
            OpenAIEncoder(kind: .chat, model: body.model, stream: body.stream ?? false,
                          includeUsage: body.streamOptions?.includeUsage ?? false,
                          logprobs: options.generation.logprobs != nil, truncated: truncated)
        }
    }

    /// llama.cpp server's `POST /apply-template`: the prompt a chat request (an OpenAI body, tools
    /// included) renders to, without generating. `{"prompt": "..."}`.
    func applyTemplate(_ request: Request) async throws -> Response {
        var request = request
        let body = try await state.decode(OpenAIChatRequest.self, from: &request)
        var messages = try body.messages.enumerated().map { (i, m) throws(ServerError) in try m.chatMessage(at: i) }
        let raw = try await state.rawBody(&request)
        RequestTools.restoreArgumentOrder(&messages, raw: raw)
        let requestedTools = try RequestTools.requested(raw: raw)
        let keepAlive = try FieldChecks.keepAlive(body.keepAlive, default: state.configuration.defaultKeepAlive)
        let holder = try await state.lease(body.model, keepAlive: keepAlive)
        let tools = try RequestTools.resolve(requestedTools, template: holder.model.chatTemplate, model: body.model)
        guard let template = holder.model.chatTemplate else {
            throw ServerError.badRequest("\(holder.model.name) has no chat template (it is a base model)")
        }
        let builder = PromptBuilder(model: holder.model, capacity: Int.max)
        return .json(object(("prompt", .string(try builder.renderText(messages, template: template, tools: tools)))))
    }

    func completion(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        var request = request
        let body = try await state.decode(OpenAICompletionRequest.self, from: &request)
        var options = try body.sampling.options(defaultContext: state.configuration.defaultContextLength)
        if let n = body.logprobs {
            guard (0...5).contains(n) else { throw ServerError.badRequest("invalid value for field 'logprobs': expected an integer in 0...5") }
            options.generation.logprobs = n
        }
        try options.validate()
        if body.echo == true { throw ServerError.unsupported("echo", "the prompt is not echoed back; leave echo false") }
        let prompts = body.prompt?.values ?? [""]
        guard prompts.count == 1 else { throw ServerError.unsupported("prompt", "one prompt per request (a list of several prompts is not supported)") }
        let prompt = prompts[0]
        guard !prompt.isEmpty || !(body.suffix ?? "").isEmpty else { throw ServerError.badRequest("'prompt' must not be empty") }
        let keepAlive = try FieldChecks.keepAlive(body.keepAlive, default: state.configuration.defaultKeepAlive)
        let holder = try await state.lease(body.model, keepAlive: keepAlive)
        let model = holder.model
        let capacity = holder.lease.scheduler.effectiveContextLength(options.contextLength)
        let builder = PromptBuilder(model: model, capacity: capacity)
        let tokens: [Int32]
        if let suffix = body.suffix, !suffix.isEmpty {
            guard let fim = builder.fillInMiddle(prefix: prompt, suffix: suffix) else {
                throw ServerError.badRequest("\"\(body.model)\" does not support insert ('suffix' needs a model with fill-in-the-middle tokens)")
            }
            tokens = fim
        } else if body.raw == true || model.chatTemplate == nil {
            tokens = builder.completionTokens(prompt)
        } else {
            // As Ollama serves /v1/completions: the prompt goes through the chat template.
            tokens = try builder.render([ChatMessage(role: "user", content: prompt)], template: model.chatTemplate!)
        }
        let built = try builder.completion(tokens, truncate: body.truncate ?? false)
        return try await state.respond(request, context: context, holder: holder, prompt: built, options: options, capacity: capacity,
                                       requestedModel: body.model, started: started) { truncated in
            OpenAIEncoder(kind: .completion, model: body.model, stream: body.stream ?? false,
                          includeUsage: body.streamOptions?.includeUsage ?? false,
                          logprobs: options.generation.logprobs != nil, truncated: truncated)
        }
    }

}

/// OpenAI's response objects and SSE chunks, with Ollama's `system_fingerprint`.
struct OpenAIEncoder: OutputEncoder {
    enum Kind: Sendable { case chat, completion }
    let kind: Kind
    let model: String
    let stream: Bool
    let includeUsage: Bool
    let logprobs: Bool
    let truncated: Bool
    let id: String
    let created: Int
    private var sentRole = false
    private var textOffset = 0

    init(kind: Kind, model: String, stream: Bool, includeUsage: Bool, logprobs: Bool, truncated: Bool) {
        self.kind = kind
        self.model = model
        self.stream = stream
        self.includeUsage = includeUsage
        self.logprobs = logprobs
        self.truncated = truncated
        id = (kind == .chat ? "chatcmpl-" : "cmpl-") + String(UInt32.random(in: 0...UInt32.max))
        created = Int(Date().timeIntervalSince1970)
    }

    var streams: Bool { stream }
    var contentType: String { stream ? "text/event-stream" : "application/json; charset=utf-8" }

    private var objectName: String {
        switch kind {
        case .chat: return stream ? "chat.completion.chunk" : "chat.completion"
        case .completion: return "text_completion"
        }
    }

    private func envelope(_ choices: JSONValue, usage: JSONValue?) -> JSONValue {
        var pairs: [(String, JSONValue)] = [("id", .string(id)), ("object", .string(objectName)), ("created", .int(created)),
                                            ("model", .string(model)), ("system_fingerprint", .string("fp_ollama")), ("choices", choices)]
        if let usage { pairs.append(("usage", usage)) }
        return .object(pairs)
    }

    private func event(_ value: JSONValue) -> String { "data: \(value.serialized)\n\n" }

    /// `logprobs` of a choice: chat's `{"content": [...]}`, or the legacy completions layout.
    private mutating func logprobsJSON(_ items: [TokenLogprobs]) -> JSONValue {
        guard logprobs else { return .null }
        switch kind {
        case .chat:
            func entry(_ t: TokenProbability) -> [(String, JSONValue)] {
                [("token", .string(t.text)), ("logprob", .float(t.logprob)), ("bytes", .ints(t.bytes.map(Int.init)))]
            }
            return object(("content", .array(items.map { item in
                .object(entry(item.token) + [("top_logprobs", .array(item.top.map { .object(entry($0)) }))])
            })))
        case .completion:
            var offsets: [Int] = []
            for item in items {
                offsets.append(textOffset)
                textOffset += item.token.text.count
            }
            return object(
                ("tokens", .strings(items.map(\.token.text))),
                ("token_logprobs", .array(items.map { .float($0.token.logprob) })),
                ("top_logprobs", .array(items.map { item in .object(item.top.map { ($0.text, .float($0.logprob)) }) })),
                ("text_offset", .ints(offsets)))
        }
    }

    private func usage(_ stats: GenerationStats) -> JSONValue {
        object(("prompt_tokens", .int(stats.promptTokens)), ("completion_tokens", .int(stats.generatedTokens)),
               ("total_tokens", .int(stats.promptTokens + stats.generatedTokens)),
               ("prompt_tokens_details", object(("cached_tokens", .int(stats.cachedPromptTokens)))))
    }

    private func choice(text: String, logprobs: JSONValue, finish: JSONValue, delta: Bool, role: Bool,
                        toolCalls: [JSONValue] = []) -> JSONValue {
        switch kind {
        case .chat:
            var message: [(String, JSONValue)] = []
            if role || !delta { message.append(("role", .string("assistant"))) }
            if !toolCalls.isEmpty {
                // As OpenAI answers: no text alongside the calls is `null` content.
                if !delta || role { message.append(("content", text.isEmpty ? .null : .string(text))) }
                message.append(("tool_calls", .array(toolCalls)))
            } else if !(delta && text.isEmpty && !role) {
                message.append(("content", .string(text)))
            }
            return object(("index", .int(0)), (delta ? "delta" : "message", .object(message)), ("logprobs", logprobs),
                          ("finish_reason", finish))
        case .completion:
            return object(("text", .string(text)), ("index", .int(0)), ("logprobs", logprobs), ("finish_reason", finish))
        }
    }

    mutating func encode(_ output: GenerationOutput) -> String {
        switch output {
        case let .piece(_, piece, lps):
            let role = kind == .chat && !sentRole
            sentRole = true
            let chunk = choice(text: piece, logprobs: logprobsJSON(lps), finish: .null, delta: true, role: role)
            return event(envelope(.array([chunk]), usage: includeUsage ? .null : nil))
        case let .toolCall(index, call):
            // The call's index, id and name first, then its arguments (in one chunk: SwiftLM parses a call
            // whole before sending it, so a client never sees a call that later fails to parse).
            let role = !sentRole
            sentRole = true
            let head = object(("index", .int(index)), ("id", .string(call.id ?? "")), ("type", .string("function")),
                              ("function", object(("name", .string(call.name)), ("arguments", .string("")))))
            let arguments = object(("index", .int(index)), ("function", object(("arguments", .string(call.argumentsString)))))
            return [head, arguments].map { item in
                event(envelope(.array([choice(text: "", logprobs: .null, finish: .null, delta: true, role: role && item == head,
                                              toolCalls: [item])]), usage: includeUsage ? .null : nil))
            }.joined()
        case let .done(stats, _, text, lps, toolCalls, callCount):
            let reason = stats.doneReason == .length ? "length" : callCount > 0 ? "tool_calls" : "stop"
            let finish = JSONValue.string(reason)
            guard stream else {
                var value = envelope(.array([choice(text: text, logprobs: logprobsJSON(lps), finish: finish, delta: false, role: true,
                                                    toolCalls: toolCalls.map(\.openAIJSON))]),
                                     usage: usage(stats))
                if truncated, case var .object(pairs) = value {
                    pairs.append(("truncated", .bool(true)))
                    value = .object(pairs)
                }
                return value.serialized
            }
            var out = ""
            let role = kind == .chat && !sentRole
            sentRole = true
            var last = envelope(.array([choice(text: "", logprobs: logprobsJSON(lps), finish: finish, delta: true, role: role)]),
                                usage: includeUsage ? .null : nil)
            if truncated, case var .object(pairs) = last {
                pairs.append(("truncated", .bool(true)))
                last = .object(pairs)
            }
            out += event(last)
            if includeUsage { out += event(envelope(.array([]), usage: usage(stats))) }
            return out + "data: [DONE]\n\n"
        }
    }

    func errorLine(_ error: ServerError) -> String {
        stream ? event(error.body(.openAI)) : error.body(.openAI).serialized
    }
}
