import Foundation
import Hummingbird
import JSON
import NIOHTTP1
import Runtime
import Store

/// An error the server answers with: an HTTP status and a message for the client.
///
/// Handlers throw these or the modules' own typed errors (``RuntimeError``, ``StoreError``); ``init(_:)``
/// maps every one of them to a status in one place, and ``ErrorMiddleware`` writes the body in the
/// shape of the API the request used: Ollama's `{"error": "..."}` or OpenAI's error object.
public struct ServerError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    /// OpenAI's `error.type`.
    public var openAIType: String

    public init(status: HTTPResponse.Status, message: String, openAIType: String? = nil) {
        self.status = status
        self.message = message
        self.openAIType = openAIType ?? Self.defaultType(for: status)
    }

    public var description: String { message }

    static func badRequest(_ message: String) -> ServerError {
        ServerError(status: .badRequest, message: message)
    }

    /// Ollama's wording, which clients and scripts match on.
    static func modelNotFound(_ name: String) -> ServerError {
        ServerError(status: .notFound, message: "model \"\(name)\" not found, try pulling it first", openAIType: "not_found_error")
    }

    static let busy = ServerError(status: .serviceUnavailable, message: "server busy, please try again")
    static let shuttingDown = ServerError(status: .serviceUnavailable, message: "server shutting down")

    /// A field the server accepts but cannot honour yet: refused by name, never silently ignored.
    static func unsupported(_ field: String, _ why: String) -> ServerError {
        badRequest("'\(field)' is not supported yet: \(why)")
    }

    private static func defaultType(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 401: return "authentication_error"
        case 403: return "permission_error"
        case 404: return "not_found_error"
        case 400..<500: return "invalid_request_error"
        default: return "api_error"
        }
    }

    /// Maps any error a handler throws to a status and message.
    public init(_ error: any Error) {
        switch error {
        case let e as ServerError:
            self = e
        case let e as RuntimeError:
            self = Self.map(e)
        case let e as StoreError:
            self = Self.map(e)
        case let e as DecodingError:
            self = .badRequest(RequestDecoding.describe(e))
        case let e as HTTPParserError:
            // Malformed framing (bad chunk sizes, unknown transfer codings): the client's fault.
            self.init(status: .badRequest, message: "malformed HTTP request: \(e)")
        case let e as HTTPError:
            self.init(status: e.status, message: e.body ?? Self.reason(e.status))
        case let e as any HTTPResponseError:
            self.init(status: e.status, message: Self.reason(e.status))
        case is CancellationError:
            self.init(status: .init(code: 499, reasonPhrase: "Client Closed Request"), message: "request cancelled")
        default:
            self.init(status: .internalServerError, message: String(describing: error))
        }
    }

    private static func reason(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 413: return "request body too large"
        case 404: return "not found"
        case 405: return "method not allowed"
        default: return status.reasonPhrase.lowercased()
        }
    }

    static func map(_ e: RuntimeError) -> ServerError {
        switch e {
        case .contextOverflow, .emptyPrompt, .invalidOption, .noChatTemplate, .template, .notEnoughText, .embeddingModel, .grammar,
             .toolsUnsupported:
            return .badRequest(e.description)
        case .queueFull:
            return .busy
        case .cancelled:
            return ServerError(status: .init(code: 499, reasonPhrase: "Client Closed Request"), message: "request cancelled")
        case .busy:
            return .busy
        case .loadFailed, .model:
            return ServerError(status: .internalServerError, message: e.description)
        }
    }

    static func map(_ e: StoreError) -> ServerError {
        switch e {
        case let .notPulled(name), let .notInStore(name):
            return .modelNotFound(name)
        case let .unknownModel(name, _), let .notInCatalog(name, _):
            return .modelNotFound(name)
        case .fileNotFound:
            return ServerError(status: .notFound, message: e.description)
        case .invalidName, .pullOfPath:
            return .badRequest(e.description)
        default:
            return ServerError(status: .internalServerError, message: e.description)
        }
    }

    /// Which error body the client expects.
    enum Flavor { case ollama, openAI }

    func body(_ flavor: Flavor) -> JSONValue {
        switch flavor {
        case .ollama:
            return object(("error", .string(message)))
        case .openAI:
            return object(("error", object(
                ("message", .string(message)), ("type", .string(openAIType)), ("param", .null), ("code", .null))))
        }
    }
}

extension ServerError: HTTPResponseError {
    /// Used only when an error escapes the error middleware (it never should): the Ollama shape.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Response.json(body(request.uri.path.hasPrefix("/v1/") ? .openAI : .ollama), status: status)
    }
}

extension Response {
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: value.serialized)))
    }
}
