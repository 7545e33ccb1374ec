import Foundation
import Hummingbird
import JSON
import Runtime

// Embeddings: Ollama's /api/embed and legacy /api/embeddings, OpenAI's /v1/embeddings. Vectors come from
// LoadedModel.embed: L2-normalised, mean-pooled over the final hidden states for the catalog's decoder
// models (see Sources/Runtime/Embedding.swift).

struct OllamaEmbedRequest: Decodable, Sendable {
    var model: String
    var input: StringOrStrings?
    var truncate: Bool?
    var keepAlive: JSONValue?
    var options: [String: JSONValue]?
    var dimensions: Int?

    enum CodingKeys: String, CodingKey {
        case model, input, truncate, options, dimensions
        case keepAlive = "keep_alive"
    }
}

struct OllamaLegacyEmbeddingRequest: Decodable, Sendable {
    var model: String
    var prompt: String?
    var keepAlive: JSONValue?
    var options: [String: JSONValue]?

    enum CodingKeys: String, CodingKey {
        case model, prompt, options
        case keepAlive = "keep_alive"
    }
}

struct OpenAIEmbeddingRequest: Decodable, Sendable {
    var model: String
    var input: StringOrStrings
    var encodingFormat: String?
    var dimensions: Int?

    enum CodingKeys: String, CodingKey {
        case model, input, dimensions
        case encodingFormat = "encoding_format"
    }
}

struct EmbeddingRoutes {
    let state: ServerState

    func register(on router: Router<ServerRequestContext>) {
        router.post("/api/embed") { request, _ in try await embed(request) }
        router.post("/api/embeddings") { request, _ in try await legacy(request) }
        router.post("/v1/embeddings") { request, _ in try await openAI(request) }
    }

    /// Vectors for `texts` and the tokens read, computed off the cooperative thread pool (embedding is
    /// synchronous, CPU-bound work).
    private func vectors(_ holder: LeaseHolder, _ texts: [String], truncate: Bool) async throws -> (vectors: [[Float]], tokens: Int) {
        let model = holder.model
        var tokens = 0
        for (i, text) in texts.enumerated() {
            let full = model.tokenizer.encode(text, addSpecial: true, parseSpecial: false).count
            if !truncate, full > model.embeddingTokenLimit {
                throw ServerError.badRequest("input[\(i)] is \(full) tokens but the model reads at most \(model.embeddingTokenLimit); "
                                             + "shorten it or set \"truncate\": true")
            }
            tokens += min(full, model.embeddingTokenLimit)
        }
        let vectors: [[Float]] = try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    continuation.resume(returning: try model.embed(texts))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "swiftlm-embed"
            thread.start()
        }
        state.metrics.promptTokens.increment(by: Int64(tokens))
        return (vectors, tokens)
    }

    private static func checkDimensions(_ dimensions: Int?, _ model: LoadedModel) throws(ServerError) {
        if let dimensions, dimensions != model.embeddingDimensions {
            throw .unsupported("dimensions", "this model's vectors have \(model.embeddingDimensions) dimensions and are not shortened")
        }
    }

    private func lease(_ model: String, _ keepAlive: JSONValue?) async throws -> LeaseHolder {
        let keep = try FieldChecks.keepAlive(keepAlive, default: state.configuration.defaultKeepAlive)
        return try await state.lease(model, keepAlive: keep)
    }

    func embed(_ request: Request) async throws -> Response {
        let started = ContinuousClock.now
        var request = request
        let body = try await state.decode(OllamaEmbedRequest.self, from: &request)
        _ = try RequestOptions.ollama(body.options, logprobs: nil, topLogprobs: nil)
        let holder = try await lease(body.model, body.keepAlive)
        try Self.checkDimensions(body.dimensions, holder.model)
        let texts = body.input?.values ?? []
        // An empty input only loads the model, as Ollama does.
        let result = texts.isEmpty || texts == [""] ? ([], 0) : try await vectors(holder, texts, truncate: body.truncate ?? true)
        return .json(object(
            ("model", .string(body.model)),
            ("embeddings", .array(result.0.map(Self.floats))),
            ("total_duration", .int((ContinuousClock.now - started).nanoseconds)),
            ("load_duration", .int(holder.lease.loadDuration.nanoseconds)),
            ("prompt_eval_count", .int(result.1))))
    }

    func legacy(_ request: Request) async throws -> Response {
        var request = request
        let body = try await state.decode(OllamaLegacyEmbeddingRequest.self, from: &request)
        _ = try RequestOptions.ollama(body.options, logprobs: nil, topLogprobs: nil)
        let holder = try await lease(body.model, body.keepAlive)
        let prompt = body.prompt ?? ""
        let vector = prompt.isEmpty ? [] : try await vectors(holder, [prompt], truncate: true).vectors[0]
        return .json(object(("embedding", Self.floats(vector))))
    }

    func openAI(_ request: Request) async throws -> Response {
        var request = request
        let body = try await state.decode(OpenAIEmbeddingRequest.self, from: &request)
        let format = body.encodingFormat ?? "float"
        guard format == "float" || format == "base64" else {
            throw ServerError.badRequest("invalid value for field 'encoding_format': expected \"float\" or \"base64\"")
        }
        guard !body.input.values.isEmpty, !body.input.values.contains(where: \.isEmpty) else {
            throw ServerError.badRequest("invalid value for field 'input': expected non-empty text")
        }
        let holder = try await lease(body.model, nil)
        try Self.checkDimensions(body.dimensions, holder.model)
        let (vectors, tokens) = try await vectors(holder, body.input.values, truncate: true)
        let data: [JSONValue] = vectors.enumerated().map { index, v in
            object(("object", .string("embedding")),
                   ("embedding", format == "base64" ? .string(Self.base64(v)) : Self.floats(v)),
                   ("index", .int(index)))
        }
        return .json(object(("object", .string("list")), ("data", .array(data)), ("model", .string(body.model)),
                            ("usage", object(("prompt_tokens", .int(tokens)), ("total_tokens", .int(tokens))))))
    }

    static func floats(_ v: [Float]) -> JSONValue { .array(v.map { .double(Double($0)) }) }

    /// OpenAI's base64 encoding: the little-endian float32 bytes.
    static func base64(_ v: [Float]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(v.count * 4)
        for f in v {
            let bits = f.bitPattern.littleEndian
            withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
        }
        return Data(bytes).base64EncodedString()
    }
}
