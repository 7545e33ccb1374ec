import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTPTypes

/// Tells a running request that its client went away, without reading the request stream.
///
/// Hummingbird's own inbound-close handler reads the connection's inbound side to notice the close,
/// which leaves the connection unusable for a next request. This handler sits in each connection's
/// pipeline instead and only watches: the peer half-closing (`inputClosed`, what a client that hangs up
/// sends first) or the connection going away. Requests subscribe for as long as they generate.
final class DisconnectWatcher: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    let monitor = ConnectionMonitor()

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { monitor.close() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        monitor.close()
        context.fireChannelInactive()
    }
}

/// Whether one connection's client is gone, and who to tell when it goes.
final class ConnectionMonitor: Sendable {
    private struct State {
        var closed = false
        var nextID = 0
        var handlers: [Int: @Sendable () -> Void] = [:]
    }

    private let state = NIOLockedValueBox(State())

    /// Calls `handler` once when the client goes (at once if it already has); returns a token for
    /// ``remove(_:)``.
    func onClose(_ handler: @escaping @Sendable () -> Void) -> Int {
        let (id, closed) = state.withLockedValue { s -> (Int, Bool) in
            if s.closed { return (-1, true) }
            let id = s.nextID
            s.nextID += 1
            s.handlers[id] = handler
            return (id, false)
        }
        if closed { handler() }
        return id
    }

    func remove(_ id: Int) {
        _ = state.withLockedValue { $0.handlers.removeValue(forKey: id) }
    }

    func close() {
        let handlers = state.withLockedValue { s -> [@Sendable () -> Void] in
            s.closed = true
            defer { s.handlers.removeAll() }
            return Array(s.handlers.values)
        }
        for handler in handlers { handler() }
    }
}

/// The request context of the server: Hummingbird's basic one plus the connection, so a generation can
/// learn that its client disconnected.
public struct ServerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: (any Channel)?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The connection's monitor, when the server was built with ``DisconnectWatcher`` in its pipeline.
    func connectionMonitor() async -> ConnectionMonitor? {
        guard let channel else { return nil }
        return try? await channel.pipeline.handler(type: DisconnectWatcher.self).map(\.monitor).get()
    }
}
