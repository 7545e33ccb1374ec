import Foundation
import Hummingbird
import Logging

/// Outermost middleware: turns every error into a JSON body in the API's own shape (Ollama's
/// `{"error": "..."}` under `/api`, OpenAI's error object under `/v1`), counts requests, and logs one
/// line per request.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let state: ServerState

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        state.metrics.requests.increment()
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            let mapped = ServerError(error)
            let flavor: ServerError.Flavor = request.uri.path.hasPrefix("/v1/") ? .openAI : .ollama
            response = .json(mapped.body(flavor), status: mapped.status)
            if mapped.status.code >= 500 {
                state.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(mapped.message)"])
            }
        }
        let elapsed = ContinuousClock.now - start
        state.logger.info("\(request.method) \(request.uri.path) \(response.status.code) \(String(format: "%.3f", elapsed.seconds))s")
        return response
    }
}

/// Ollama's cross-origin rules: requests from the built-in local origins (and those added with
/// OLLAMA_ORIGINS / SWIFTLM_ORIGINS, `*` wildcards allowed) get CORS headers; a request from any other
/// origin is refused with 403, preflight or not. Requests without an `Origin` header (curl, SDKs) pass.
package struct OllamaCORSMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowedOrigins: [String]

    static var builtInOrigins: [String] {
        var origins: [String] = []
        for host in ["localhost", "127.0.0.1", "0.0.0.0"] {
            origins += ["http://\(host)", "https://\(host)", "http://\(host):*", "https://\(host):*"]
        }
        return origins + ["app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*"]
    }

    static var allowedHeaders: [String] { CORSPolicy.allowedHeaders }
}

/// The request headers CORS preflights may ask for: Ollama's list, with OpenAI's SDK headers.
enum CORSPolicy {
    static let allowedHeaders = [
        "Authorization", "Content-Type", "User-Agent", "Accept", "X-Requested-With", "OpenAI-Beta",
        "x-stainless-arch", "x-stainless-async", "x-stainless-custom-poll-interval", "x-stainless-helper-method",
        "x-stainless-lang", "x-stainless-os", "x-stainless-package-version", "x-stainless-poll-helper",
        "x-stainless-retry-count", "x-stainless-runtime", "x-stainless-runtime-version", "x-stainless-timeout",
    ]
}

extension OllamaCORSMiddleware {
    package init(extraOrigins: [String]) {
        allowedOrigins = extraOrigins + Self.builtInOrigins
    }

    package func isAllowed(_ origin: String) -> Bool {
        // Browser extensions are allowed, as Ollama allows them.
        if origin.hasPrefix("chrome-extension://") || origin.hasPrefix("moz-extension://") || origin.hasPrefix("safari-web-extension://") {
            return true
        }
        return allowedOrigins.contains { $0 == "*" || Self.glob($0.lowercased(), matches: origin.lowercased()) }
    }

    /// `*` matches any run of characters.
    static func glob(_ pattern: String, matches text: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 1 { return pattern == text }
        guard text.hasPrefix(parts[0]) else { return false }
        var rest = Substring(text.dropFirst(parts[0].count))
        for part in parts.dropFirst().dropLast() {
            guard let r = rest.range(of: part) else { return false }
            rest = rest[r.upperBound...]
        }
        return rest.hasSuffix(parts.last!)
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin] else { return try await next(request, context) }
        let sameOrigin = request.head.authority.map { origin == "http://\($0)" || origin == "https://\($0)" } ?? false
        guard sameOrigin || isAllowed(origin) else {
            throw ServerError(status: .forbidden, message: "origin \(origin) is not allowed (add it to OLLAMA_ORIGINS or SWIFTLM_ORIGINS)")
        }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            var headers = HTTPFields()
            headers[.accessControlAllowOrigin] = origin
            headers[.accessControlAllowMethods] = "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"
            headers[.accessControlAllowHeaders] = Self.allowedHeaders.joined(separator: ", ")
            headers[.accessControlMaxAge] = "43200"
            headers[.vary] = "Origin"
            return Response(status: .noContent, headers: headers)
        }
        var response = try await next(request, context)
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.vary] = "Origin"
        return response
    }
}

/// Ollama's defence against DNS rebinding: while the server listens on a loopback address, a request
/// must name a local host (`localhost`, this machine's name, `*.localhost`/`.local`/`.internal`, or a
/// loopback, private or unspecified IP) in its `Host` header; anything else is refused with 403.
package struct HostCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    let enabled: Bool

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard enabled else { return try await next(request, context) }
        let host = Self.hostPart(request.head.authority ?? "")
        guard Self.isAllowed(host) else {
            throw ServerError(status: .forbidden, message: "host \(host) is not allowed")
        }
        return try await next(request, context)
    }

    /// The host of a `Host` header value, without port or IPv6 brackets, lowercased.
    package static func hostPart(_ authority: String) -> String {
        var s = Substring(authority.lowercased())
        if s.hasPrefix("[") {
            if let close = s.firstIndex(of: "]") { return String(s[s.index(after: s.startIndex)..<close]) }
            return String(s)
        }
        if s.filter({ $0 == ":" }).count == 1, let colon = s.firstIndex(of: ":") { s = s[..<colon] }
        return String(s)
    }

    package static func isAllowed(_ host: String) -> Bool {
        if host.isEmpty || host == "localhost" { return true }
        if host == ProcessInfo.processInfo.hostName.lowercased() { return true }
        for tld in ["localhost", "local", "internal"] where host.hasSuffix("." + tld) { return true }
        return isLocalAddress(host)
    }

    /// Loopback, private, link-local or unspecified IPv4 / IPv6 literals.
    static func isLocalAddress(_ host: String) -> Bool {
        let v4 = host.split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
        if v4.count == 4, host.split(separator: ".", omittingEmptySubsequences: false).count == 4 {
            switch (v4[0], v4[1]) {
            case (127, _), (10, _), (0, _): return true
            case (172, 16...31), (192, 168), (169, 254): return true
            default: return false
            }
        }
        if host.contains(":") {
            if host == "::1" || host == "::" || host == "0:0:0:0:0:0:0:1" { return true }
            let first = host.split(separator: ":").first.map(String.init)?.lowercased() ?? ""
            if first.hasPrefix("fc") || first.hasPrefix("fd") || first.hasPrefix("fe80") { return true }
            if host.hasPrefix("::ffff:") { return isLocalAddress(String(host.dropFirst(7))) }
        }
        return false
    }
}

/// `--api-key` / SWIFTLM_API_KEY: every request needs `Authorization: Bearer <key>`, except CORS
/// preflights (browsers send them without credentials) and the liveness endpoints `/` and `/health`.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if request.method == .options || path == "/" || path == "/health" { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", Self.constantTimeEqual(String(parts[1]), key) else {
            var error = ServerError(status: .unauthorized, message: "missing or invalid API key: send 'Authorization: Bearer <key>'")
            error.openAIType = "invalid_request_error"
            throw error
        }
        return try await next(request, context)
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return diff == 0
    }
}
