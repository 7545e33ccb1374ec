import Foundation
import Hummingbird
import Logging
import NIOCore
import Runtime
import Template
import ServiceLifecycle
import Store

/// What every route handler shares.
struct ServerState: Sendable {
    let configuration: ServerConfiguration
    let manager: ModelManager
    let store: ModelStore
    let metrics: ServerMetrics
    let logger: Logger

    /// Collects the request body (up to the configured limit) whatever its Content-Type (curl's `-d`
    /// sends form-urlencoded) and decodes it as JSON.
    func decode<T: Decodable>(_ type: T.Type, from request: inout Request) async throws -> T {
        let buffer = try await request.collectBody(upTo: configuration.maxBodySize)
        return try RequestDecoding.decode(type, from: Data(buffer.readableBytesView))
    }

    /// The body of a request already read by ``decode(_:from:)``, parsed keeping the order of object keys.
    func rawBody(_ request: inout Request) async throws -> TemplateValue {
        let buffer = try await request.collectBody(upTo: configuration.maxBodySize)
        return (try? TemplateValue(jsonData: Array(buffer.readableBytesView))) ?? .null
    }
}

/// `swiftlm serve`: the Ollama- and OpenAI-compatible HTTP server.
///
/// ```swift
/// let server = SwiftLMServer(configuration: ServerConfiguration())
/// try await server.run()   // until SIGTERM / SIGINT
/// ```
public struct SwiftLMServer: Sendable {
    /// The version `/api/version` reports.
    public static let version = "0.1.0"

    public let configuration: ServerConfiguration
    public let manager: ModelManager
    public let metrics: ServerMetrics
    let state: ServerState

    public init(configuration: ServerConfiguration, logger: Logger = Logger(label: "swiftlm.server")) {
        self.configuration = configuration
        let store = ModelStore(root: configuration.storeRoot)
        manager = ModelManager(configuration: configuration, store: store, logger: logger)
        metrics = ServerMetrics()
        state = ServerState(configuration: configuration, manager: manager, store: store, metrics: metrics, logger: logger)
    }

    /// The router with every endpoint and the middleware chain: errors → CORS → Host check → API key.
    public func makeRouter() -> Router<ServerRequestContext> {
        let router = Router(context: ServerRequestContext.self)
        router.add(middleware: ErrorMiddleware(state: state))
        router.add(middleware: OllamaCORSMiddleware(extraOrigins: configuration.extraOrigins))
        router.add(middleware: HostCheckMiddleware(enabled: HostCheckMiddleware<ServerRequestContext>.isLoopback(configuration.host)))
        if let key = configuration.apiKey, !key.isEmpty { router.add(middleware: APIKeyMiddleware(key: key)) }
        OllamaRoutes(state: state).register(on: router)
        OpenAIRoutes(state: state).register(on: router)
        EmbeddingRoutes(state: state).register(on: router)
        ServiceRoutes(state: state).register(on: router)
        ExplainRoutes(state: state).register(on: router)
        return router
    }

    /// The Hummingbird application, with the keep-alive expiry loop as a service beside the HTTP server.
    ///
    /// - Parameter onServerRunning: called once the listening socket is bound (its local address carries the
    ///   port the system chose when the configuration asks for port 0).
    public func makeApplication(onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) -> some ApplicationProtocol {
        var app = Application(
            router: makeRouter(),
            server: .http1(configuration: .init(additionalChannelHandlers: [DisconnectWatcher()])),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "swiftlm"),
            onServerRunning: onServerRunning,
            logger: state.logger
        )
        app.addServices(ExpiryService(manager: manager))
        return app
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting connections, ends running streams with an
    /// error line, and returns.
    public func run() async throws {
        try await makeApplication().runService()
    }
}

/// Unloads models whose keep-alive ran out, until shutdown.
struct ExpiryService: Service {
    let manager: ModelManager

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await manager.runExpiryLoop()
        }
        await manager.unloadAll()
    }
}

extension HostCheckMiddleware {
    /// True for `localhost` and loopback IPs: the bind addresses the Host check protects.
    package static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased()
        return h == "localhost" || h.hasPrefix("127.") || h == "::1" || h == "[::1]"
    }
}
