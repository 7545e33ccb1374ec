import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Server
import ServiceLifecycle

/// Serves `server` on a loopback port for the duration of `body`, and hands `body` a client over real HTTP.
///
/// HummingbirdTesting's `.ahc` and `.live` clients give every request a fixed 15 or 20 s deadline. This test
/// process runs model-heavy suites in parallel with the server's, and on 2 cores those suites can keep the
/// cooperative pool's two threads busy long enough that a trivial request misses that deadline (seen in CI:
/// a 400 for a malformed body timed out). The client here waits as long as `deadline` (10 minutes), so a
/// request still fails on a real hang but never on a busy machine.
func serveForTest(_ server: SwiftLMServer, deadline: TimeAmount = .minutes(10),
                  _ body: @escaping @Sendable (LiveClient) async throws -> Void) async throws {
    let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
    let app = server.makeApplication { channel in
        portSink.yield(channel.localAddress?.port ?? 0)
        portSink.finish()
    }
    let services = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "swiftlm.test.server")))
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await services.run() }
        var portIterator = ports.makeAsyncIterator()
        guard let port = await portIterator.next(), port > 0 else {
            await services.triggerGracefulShutdown()
            throw HTTPClientError.connectTimeout
        }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let client = LiveClient(http: http, base: "http://localhost:\(port)", port: port, deadline: deadline)
        do {
            try await body(client)
        } catch {
            await services.triggerGracefulShutdown()
            try? await http.shutdown()
            throw error
        }
        await services.triggerGracefulShutdown()
        try await http.shutdown()
        try await group.waitForAll()
    }
}

/// A response, collected whole.
struct LiveResponse: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: ByteBuffer
}

/// An HTTP client for one test server, with a caller-chosen deadline per request. Its `execute` has the
/// shape of HummingbirdTesting's, whose response type cannot be constructed outside that module.
struct LiveClient: Sendable {
    let http: HTTPClient
    let base: String
    let port: Int?
    let deadline: TimeAmount

    @discardableResult
    func execute<Return>(uri: String, method: HTTPRequest.Method, headers: HTTPFields = [:], body: ByteBuffer? = nil,
                         testCallback: (LiveResponse) async throws -> Return = { $0 }) async throws -> Return {
        var request = HTTPClientRequest(url: base + (uri.hasPrefix("/") ? "" : "/") + uri)
        request.method = HTTPMethod(rawValue: method.rawValue)
        for field in headers { request.headers.add(name: field.name.rawName, value: field.value) }
        request.body = body.map { .bytes($0) }
        let response = try await http.execute(request, deadline: .now() + deadline)
        var fields = HTTPFields()
        for (name, value) in response.headers {
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        let collected = try await response.body.collect(upTo: .max)
        let status = HTTPResponse.Status(code: Int(response.status.code), reasonPhrase: response.status.reasonPhrase)
        return try await testCallback(LiveResponse(status: status, headers: fields, body: collected))
    }
}
