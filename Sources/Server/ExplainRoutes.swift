import Hummingbird
import JSON
import Runtime
import Tokenizer

/// The live explain page (`GET /explain`) and the two endpoints it needs besides `/api/generate`:
/// llama.cpp's `POST /tokenize` and `POST /detokenize`, with a `model` field since this server holds several.
///
/// The page itself only calls public endpoints, so everything it shows can be had from the API.
struct ExplainRoutes {
    let state: ServerState

    func register(on router: Router<ServerRequestContext>) {
        router.get("/explain") { _, _ in page() }
        router.post("/tokenize") { request, _ in try await tokenize(request) }
        router.post("/detokenize") { request, _ in try await detokenize(request) }
    }

    func page() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.contentSecurityPolicy] = ExplainPage.contentSecurityPolicy(live: true)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: ExplainPage.livePage())))
    }

    struct TokenizeRequest: Decodable, Sendable {
        var model: String?
        var content: String?
        var addSpecial: Bool?
        var parseSpecial: Bool?
        var withPieces: Bool?
        enum CodingKeys: String, CodingKey {
            case model, content
            case addSpecial = "add_special", parseSpecial = "parse_special", withPieces = "with_pieces"
        }
    }

    struct DetokenizeRequest: Decodable, Sendable {
        var model: String?
        var tokens: [Int]?
        var withPieces: Bool?
        enum CodingKeys: String, CodingKey { case model, tokens, withPieces = "with_pieces" }
    }

    /// `{"tokens": [ids]}`, or with `with_pieces` `{"tokens": [{"id", "piece"}]}` where `piece` is a string,
    /// or the byte values when the token is not whole UTF-8 (as llama.cpp answers).
    func tokenize(_ request: Request) async throws -> Response {
        var request = request
        let body = try await state.decode(TokenizeRequest.self, from: &request)
        let tokenizer = try await self.tokenizer(body.model)
        let ids = tokenizer.encode(body.content ?? "", addSpecial: body.addSpecial ?? false, parseSpecial: body.parseSpecial ?? true)
        if body.withPieces == true {
            return .json(object(("tokens", .array(ids.map { Self.piece($0, tokenizer) }))))
        }
        return .json(object(("tokens", .ints(ids.map(Int.init)))))
    }

    /// `{"content": text}`; with `with_pieces` (a SwiftLM addition) also `"pieces"`, one per id as `/tokenize` gives them.
    func detokenize(_ request: Request) async throws -> Response {
        var request = request
        let body = try await state.decode(DetokenizeRequest.self, from: &request)
        let tokenizer = try await self.tokenizer(body.model)
        let ids = body.tokens ?? []
        let vocab = tokenizer.vocabularySize
        guard ids.allSatisfy({ $0 >= 0 && $0 < vocab }) else {
            throw ServerError.badRequest("invalid value for field 'tokens': token ids must be in 0..<\(vocab)")
        }
        let tokens = ids.map(Int32.init)
        return .json(object(
            ("content", .string(tokenizer.decode(tokens, renderSpecial: true))),
            ("pieces", body.withPieces == true ? .array(tokens.map { Self.piece($0, tokenizer) }) : nil)))
    }

    /// The model's tokenizer, loading the model if needed (it stays loaded for the default keep-alive,
    /// since a generation request usually follows).
    private func tokenizer(_ model: String?) async throws -> Tokenizer {
        guard let model, !model.isEmpty else { throw ServerError.badRequest("missing field 'model'") }
        let lease = try await state.manager.acquire(model)
        await state.manager.release(lease, keepAlive: state.configuration.defaultKeepAlive)
        return lease.model.tokenizer
    }

    static func piece(_ id: Int32, _ tokenizer: Tokenizer) -> JSONValue {
        let bytes = tokenizer.pieceBytes(id)
        let piece: JSONValue = String(validating: bytes, as: UTF8.self).map(JSONValue.string) ?? .ints(bytes.map(Int.init))
        return object(("id", .int(Int(id))), ("piece", piece), ("special", tokenizer.isControl(id) ? .bool(true) : nil))
    }
}
