import Foundation
import GGUF
import Hummingbird
import JSON
import Runtime
import Store
import Template
import Tokenizer

/// Ollama's native API (docs/api.md in the ollama repository).
struct OllamaRoutes {
    let state: ServerState

    func register(on router: Router<ServerRequestContext>) {
        router.get("/") { _, _ in Self.text("Ollama is running") }
        router.head("/") { _, _ in Self.text("Ollama is running") }
        router.get("/api/version") { _, _ in Response.json(object(("version", .string(SwiftLMServer.version)))) }
        router.head("/api/version") { _, _ in Response.json(object(("version", .string(SwiftLMServer.version)))) }
        router.get("/api/tags") { _, _ in try await tags() }
        router.head("/api/tags") { _, _ in try await tags() }
        router.get("/api/ps") { _, _ in await ps() }
        router.post("/api/show") { request, _ in try await show(request) }
        router.post("/api/generate") { request, context in try await generate(request, context) }
        router.post("/api/chat") { request, context in try await chat(request, context) }
        router.post("/api/pull") { request, _ in try await pull(request) }
        router.delete("/api/delete") { request, _ in try await delete(request) }
        router.post("/api/copy") { request, _ in try await copy(request) }
    }

    static func text(_ s: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: s)))
    }

    // MARK: - Models

    /// `details` as Ollama reports it, from the GGUF header.
    static func details(_ summary: ModelSummary?, quantization: String?) -> JSONValue {
        let arch = summary?.architecture ?? ""
        return object(
            ("parent_model", .string("")), ("format", .string("gguf")), ("family", .string(arch)),
            ("families", arch.isEmpty ? .null : .strings([arch])),
            ("parameter_size", .string(summary?.parameterLabel ?? "")),
            ("quantization_level", .string(summary?.fileType ?? quantization ?? "")))
    }

    static func summary(path: String) -> ModelSummary? {
        (try? GGUFFile(path: path)).map(ModelSummary.init)
    }

    func tags() async throws -> Response {
        let store = state.store
        let models: [JSONValue] = store.list().map { m in
            let summary = Self.summary(path: store.blobPath(sha256: m.sha256))
            return object(
                ("name", .string(m.name)), ("model", .string(m.name)),
                ("modified_at", .string(Timestamp.string(m.pulledAt))), ("size", .int(Int(m.size))),
                ("digest", .string(m.sha256)), ("details", Self.details(summary, quantization: m.quantization)))
        }
        return .json(object(("models", .array(models))))
    }

    func ps() async -> Response {
        let loaded = await state.manager.loaded()
        let models: [JSONValue] = loaded.map { m in
            let summary = ModelSummary(m.model.gguf)
            let expires = m.expiresAt ?? Date(timeIntervalSinceNow: 9_000_000_000)
            return object(
                ("name", .string(m.name)), ("model", .string(m.name)), ("size", .int(m.fileSize + m.cacheBytes)),
                ("digest", .string(m.digest)), ("details", Self.details(summary, quantization: nil)),
                ("expires_at", .string(Timestamp.string(expires))), ("size_vram", .int(0)),
                ("context_length", .int(m.contextLength)),
                // SwiftLM's own: the KV cache type (OLLAMA_KV_CACHE_TYPE) and what one slot's cache takes.
                ("kv_cache_type", .string(m.kvType.rawValue)), ("kv_cache_bytes_per_slot", .int(m.cacheBytesPerSlot)),
                ("parallel", .int(m.parallel)))
        }
        return .json(object(("models", .array(models))))
    }

    func show(_ request: Request) async throws -> Response {
        var request = request
        let body = try await state.decode(OllamaModelRequest.self, from: &request)
        let requested = try body.requireModel()
        let (name, path) = try state.manager.locate(requested)
        let file: GGUFFile
        do {
            file = try GGUFFile(path: path)
        } catch {
            throw ServerError(status: .internalServerError, message: "cannot read \(name): \(error)")
        }
        let summary = ModelSummary(file)
        let manifest = try? state.store.manifest(named: name)
        var info: [(String, JSONValue)] = []
        for (key, value) in file.metadata {
            if key == GGUFKey.chatTemplate { continue }
            info.append((key, Self.json(value, verbose: body.verbose ?? false)))
        }
        if !info.contains(where: { $0.0 == "general.parameter_count" }) {
            info.append(("general.parameter_count", .int(summary.parameters)))
        }
        let template = summary.chatTemplate ?? ""
        var capabilities = ["completion"]
        if let tokenizer = try? Tokenizer(gguf: file),
           ["<|fim_prefix|>", "<fim_prefix>", "<fim-prefix>"].contains(where: { tokenizer.tokenID(forText: $0) != nil }) {
            capabilities.append("insert")
        }
        var modelfile = "# Modelfile generated by swiftlm\nFROM \(path)\n"
        if !template.isEmpty { modelfile += "TEMPLATE \"\"\"\(template)\"\"\"\n" }
        return .json(object(
            ("license", summary.license.map(JSONValue.string)),
            ("modelfile", .string(modelfile)),
            ("parameters", .string("")),
            ("template", .string(template)),
            ("details", Self.details(summary, quantization: manifest?.quantization)),
            ("model_info", .object(info)),
            ("capabilities", .strings(capabilities)),
            ("modified_at", manifest.map { JSONValue.string(Timestamp.string($0.pulledAt)) })))
    }

    /// Metadata as `model_info` shows it: scalars as they are, arrays empty unless `verbose`.
    static func json(_ value: GGUFValue, verbose: Bool) -> JSONValue {
        switch value {
        case let .string(s): return .string(s)
        case let .bool(b): return .bool(b)
        case let .float32(f): return .double(Double(f))
        case let .float64(d): return .double(d)
        case let .uint64(u): return u <= UInt64(Int.max) ? .int(Int(u)) : .double(Double(u))
        case let .array(a):
            guard verbose else { return .array([]) }
            switch a {
            case let .integers(v, _): return .array(v.map { .int(Int($0)) })
            case let .unsigned64(v): return .array(v.map { .double(Double($0)) })
            case let .floats(v, _): return .array(v.map(JSONValue.double))
            case let .bools(v): return .array(v.map(JSONValue.bool))
            case let .strings(v): return .strings(v)
            case .arrays: return .array([])
            }
        default: return value.intValue.map(JSONValue.int) ?? .null
        }
    }

    func delete(_ request: Request) async throws -> Response {
        var request = request
        let body = try await state.decode(OllamaModelRequest.self, from: &request)
        let requested = try body.requireModel()
        let name = try state.store.canonicalName(requested)
        try state.store.remove(name)
        await state.manager.forget(name: name)
        return .json(.object([]))
    }

    func copy(_ request: Request) async throws -> Response {
        var request = request
        let body = try await state.decode(OllamaCopyRequest.self, from: &request)
        try state.store.copy(from: body.source, to: body.destination)
        return .json(.object([]))
    }

    func pull(_ request: Request) async throws -> Response {
        var request = request
        let body = try await state.decode(OllamaModelRequest.self, from: &request)
        let requested = try body.requireModel()
        let store = state.store
        // Unknown names fail before any streaming starts, with a 404 the clients raise.
        if !PullStream.isURL(requested) {
            let name = try store.canonicalName(requested)
            if !store.isPulled(name), Catalog.entry(named: name) == nil {
                throw StoreError.notInCatalog(name: requested, catalog: Catalog.entries.map(\.name))
            }
        }
        if body.stream == false {
            _ = try await store.pull(requested)
            return .json(object(("status", .string("success"))))
        }
        return PullStream.response(store: store, name: requested, logger: state.logger)
    }

    // MARK: - Generation

    /// An empty prompt only loads the model (or, with `keep_alive: 0`, unloads it).
    func loadOrUnload(_ requested: String, keepAlive: KeepAlive, chat: Bool, started: ContinuousClock.Instant) async throws -> Response {
        let reason: String
        if keepAlive == .unloadNow {
            _ = try state.manager.locate(requested)
            await state.manager.unload(requested)
            reason = "unload"
        } else {
            let lease = try await state.manager.acquire(requested)
            await state.manager.release(lease, keepAlive: keepAlive)
            reason = "load"
        }
        var pairs: [(String, JSONValue)] = [("model", .string(requested)), ("created_at", .string(Timestamp.now()))]
        pairs.append(chat ? ("message", object(("role", .string("assistant")), ("content", .string("")))) : ("response", .string("")))
        pairs += [("done_reason", .string(reason)), ("done", .bool(true))]
        if reason == "load" { pairs.append(("total_duration", .int((ContinuousClock.now - started).nanoseconds))) }
        return .json(.object(pairs))
    }

    func generate(_ request: Request, _ requestContext: ServerRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        var request = request
        let body = try await state.decode(OllamaGenerateRequest.self, from: &request)
        guard !body.model.isEmpty else { throw ServerError.badRequest("missing field 'model'") }
        let format = try FieldChecks.outputFormat(body.format)
        try FieldChecks.rejectImages(body.images, field: "images")
        try FieldChecks.rejectThink(body.think, model: body.model)
        let keepAlive = try FieldChecks.keepAlive(body.keepAlive, default: state.configuration.defaultKeepAlive)
        var options = try RequestOptions.ollama(body.options, logprobs: body.logprobs, topLogprobs: body.topLogprobs)
        options.generation.format = format
        if options.contextLength == nil { options.contextLength = state.configuration.defaultContextLength }
        let prompt = body.prompt ?? ""
        let suffix = body.suffix ?? ""
        let context = body.context ?? []
        if prompt.isEmpty, suffix.isEmpty, context.isEmpty {
            return try await loadOrUnload(body.model, keepAlive: keepAlive, chat: false, started: started)
        }
        var override: ChatTemplate?
        if let source = body.template, !source.isEmpty {
            do {
                override = try ChatTemplate(source: source)
            } catch {
                throw ServerError.badRequest("invalid value for field 'template': \(error) (SwiftLM templates are Jinja, as GGUF files carry them)")
            }
        }

        let holder = try await state.lease(body.model, keepAlive: keepAlive)
        let model = holder.model
        let capacity = holder.lease.scheduler.effectiveContextLength(options.contextLength)
        let builder = PromptBuilder(model: model, capacity: capacity)
        let tokenizer = model.tokenizer
        var tokens: [Int32]
        if !suffix.isEmpty {
            guard let fim = builder.fillInMiddle(prefix: prompt, suffix: suffix) else {
                throw ServerError.badRequest("\"\(body.model)\" does not support insert ('suffix' needs a model with fill-in-the-middle tokens)")
            }
            tokens = fim
        } else if body.raw == true || (override == nil && model.chatTemplate == nil) {
            // Raw, or a base model without a template: the prompt as it is (Ollama's "{{ .Prompt }}").
            var text = prompt
            if body.raw != true, let system = body.system, !system.isEmpty { text = system + "\n\n" + prompt }
            tokens = context.isEmpty ? builder.completionTokens(text) : tokenizer.encode(text, addSpecial: false, parseSpecial: true)
        } else {
            var messages: [ChatMessage] = []
            if let system = body.system, !system.isEmpty { messages.append(ChatMessage(role: "system", content: system)) }
            messages.append(ChatMessage(role: "user", content: prompt))
            guard let template = override ?? model.chatTemplate else { throw ServerError.badRequest("no chat template") }
            tokens = try builder.render(messages, template: template)
            if !context.isEmpty, let bos = tokenizer.bosID, tokens.first == bos { tokens.removeFirst() }
        }
        if !context.isEmpty {
            let vocab = tokenizer.vocabularySize
            guard context.allSatisfy({ $0 >= 0 && $0 < vocab }) else {
                throw ServerError.badRequest("invalid value for field 'context': token ids must be in 0..<\(vocab)")
            }
            tokens = context.map(Int32.init) + tokens
        }
        let built = try builder.completion(tokens, truncate: body.truncate ?? false)
        return try await state.respond(request, context: requestContext, holder: holder, prompt: built, options: options, capacity: capacity,
                                       requestedModel: body.model, started: started) { truncated in
            OllamaEncoder(kind: .generate, model: body.model, stream: body.stream ?? true, prompt: built.tokens,
                          truncated: truncated, logprobs: options.generation.logprobs != nil)
        }
    }

    func chat(_ request: Request, _ context: ServerRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        var request = request
        let body = try await state.decode(OllamaChatRequest.self, from: &request)
        guard !body.model.isEmpty else { throw ServerError.badRequest("missing field 'model'") }
        let format = try FieldChecks.outputFormat(body.format)
        try FieldChecks.rejectThink(body.think, model: body.model)
        let keepAlive = try FieldChecks.keepAlive(body.keepAlive, default: state.configuration.defaultKeepAlive)
        var options = try RequestOptions.ollama(body.options, logprobs: body.logprobs, topLogprobs: body.topLogprobs)
        options.generation.format = format
        if options.contextLength == nil { options.contextLength = state.configuration.defaultContextLength }
        let messages = try (body.messages ?? []).enumerated().map { (i, m) throws(ServerError) in try m.chatMessage(at: i) }
        if messages.isEmpty {
            return try await loadOrUnload(body.model, keepAlive: keepAlive, chat: true, started: started)
        }
        let chat = try await state.chatPrompt(&request, messages: messages, model: body.model, keepAlive: keepAlive,
                                              contextLength: options.contextLength, truncate: body.truncate ?? false)
        return try await state.respond(request, context: context, chat: chat, options: options, requestedModel: body.model,
                                       started: started) { truncated in
            OllamaEncoder(kind: .chat, model: body.model, stream: body.stream ?? true, prompt: chat.built.tokens,
                          truncated: truncated, logprobs: options.generation.logprobs != nil)
        }
    }
}

/// Ollama's NDJSON stream (or single object with `stream: false`) for `/api/generate` and `/api/chat`.
struct OllamaEncoder: OutputEncoder {
    enum Kind: Sendable { case generate, chat }
    let kind: Kind
    let model: String
    let stream: Bool
    let prompt: [Int32]
    let truncated: Bool
    let logprobs: Bool

    init(kind: Kind, model: String, stream: Bool, prompt: [Int32], truncated: Bool, logprobs: Bool) {
        self.kind = kind
        self.model = model
        self.stream = stream
        self.prompt = prompt
        self.truncated = truncated
        self.logprobs = logprobs
    }

    var streams: Bool { stream }
    var contentType: String { stream ? "application/x-ndjson" : "application/json; charset=utf-8" }

    private func content(_ text: String, toolCalls: [JSONValue] = []) -> (String, JSONValue) {
        switch kind {
        case .generate: return ("response", .string(text))
        case .chat:
            return ("message", object(("role", .string("assistant")), ("content", .string(text)),
                                      ("tool_calls", toolCalls.isEmpty ? nil : .array(toolCalls))))
        }
    }

    mutating func encode(_ output: GenerationOutput) -> String {
        switch output {
        case let .piece(_, piece, logprobs):
            var pairs: [(String, JSONValue)] = [("model", .string(model)), ("created_at", .string(Timestamp.now())), content(piece), ("done", .bool(false))]
            if self.logprobs, !logprobs.isEmpty { pairs.append(("logprobs", Self.json(logprobs))) }
            return JSONValue.object(pairs).serialized + "\n"
        case let .toolCall(index, call):
            // Ollama streams each call whole, in a message of its own.
            let pairs: [(String, JSONValue)] = [("model", .string(model)), ("created_at", .string(Timestamp.now())),
                                                content("", toolCalls: [call.ollamaJSON(index: index)]), ("done", .bool(false))]
            return JSONValue.object(pairs).serialized + "\n"
        case let .done(stats, total, text, logprobs, toolCalls, _):
            let calls = toolCalls.enumerated().map { $1.ollamaJSON(index: $0) }
            var pairs: [(String, JSONValue)] = [("model", .string(model)), ("created_at", .string(Timestamp.now())),
                                                content(text, toolCalls: calls), ("done", .bool(true)),
                                                ("done_reason", .string(stats.doneReason == .length ? "length" : "stop"))]
            if kind == .generate { pairs.append(("context", .ints((prompt + stats.tokenIDs).map(Int.init)))) }
            pairs += [
                ("total_duration", .int(total.nanoseconds)), ("load_duration", .int(stats.loadDuration.nanoseconds)),
                ("prompt_eval_count", .int(stats.promptTokens)), ("prompt_eval_duration", .int(stats.promptDuration.nanoseconds)),
                ("eval_count", .int(stats.generatedTokens)), ("eval_duration", .int(stats.generationDuration.nanoseconds)),
            ]
            if self.logprobs, !logprobs.isEmpty { pairs.append(("logprobs", Self.json(logprobs))) }
            if truncated { pairs.append(("truncated", .bool(true))) }
            return JSONValue.object(pairs).serialized + (stream ? "\n" : "")
        }
    }

    func errorLine(_ error: ServerError) -> String {
        error.body(.ollama).serialized + (stream ? "\n" : "")
    }

    /// Ollama's `logprobs`: `[{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}]`.
    static func json(_ items: [TokenLogprobs]) -> JSONValue {
        func entry(_ t: TokenProbability) -> [(String, JSONValue)] {
            // `id` is an addition (llama.cpp's server sends it too): the explain page forks on token ids.
            [("id", .int(Int(t.id))), ("token", .string(t.text)), ("logprob", .float(t.logprob)), ("bytes", .ints(t.bytes.map(Int.init)))]
        }
        return .array(items.map { item in
            .object(entry(item.token) + (item.top.isEmpty ? [] : [("top_logprobs", .array(item.top.map { .object(entry($0)) }))]))
        })
    }
}

/// RFC 3339 timestamps with fractional seconds, as Go's time.Time marshals them.
enum Timestamp {
    static func string(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    static func now() -> String { string(Date()) }
}
