import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(Glibc)
private let noSignal = Int32(MSG_NOSIGNAL)
#else
private let noSignal: Int32 = 0
#endif

/// A tiny HTTP/1.1 file server on 127.0.0.1 for download tests: GET with `Range: bytes=N-` (206),
/// `If-Range` against an ETag, 416 past the end, 404 for unknown paths, and deliberate connection
/// cuts mid-body to simulate a dropped network. One connection at a time, `Connection: close`.
public final class LoopbackHTTPServer: @unchecked Sendable {
    /// One request as received, for assertions such as "the second attempt asked for bytes=N-".
    public struct Request: Sendable, Equatable {
        public let method: String
        public let path: String
        /// Header names lowercased.
        public let headers: [String: String]
        public var range: String? { headers["range"] }
    }

    /// The port the kernel chose.
    public let port: UInt16
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private let listener: Int32
    private let lock = NSLock()
    private var files: [String: (body: [UInt8], etag: String)] = [:]
    private var recorded: [Request] = []
    private var cutsLeft = 0
    private var cutAfter = 0
    private var forcedStatus: Int?
    private var throttle: (chunk: Int, delay: UInt32)?

    public struct SocketError: Error, CustomStringConvertible {
        public let description: String
    }

    public init() throws {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw SocketError(description: "socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw SocketError(description: "bind/listen on 127.0.0.1: \(String(cString: strerror(errno)))")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = UInt16(bigEndian: actual.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    /// Serves `body` at `path` (e.g. "/model.gguf"); a new body gets a new ETag.
    public func setFile(_ path: String, body: [UInt8]) {
        lock.withLock {
            let version = (files[path].map { Int($0.etag.dropFirst(2).prefix { $0 != "-" }) ?? 0 } ?? 0) + 1
            files[path] = (body, "\"v\(version)-\(body.count)\"")
        }
    }

    /// The next `times` responses send headers and only `afterBytes` bytes of body, then close the
    /// connection (short of the announced Content-Length, which clients see as a dropped transfer).
    public func cutConnections(afterBytes: Int, times: Int) {
        lock.withLock {
            cutAfter = afterBytes
            cutsLeft = times
        }
    }

    /// Sends bodies `chunk` bytes at a time with `microseconds` pauses, so a client can be killed mid-download.
    public func throttle(chunk: Int, microseconds: UInt32) {
        lock.withLock { throttle = (chunk, microseconds) }
    }

    /// Answer every request with this status and an empty body (nil restores normal serving).
    public func forceStatus(_ status: Int?) {
        lock.withLock { forcedStatus = status }
    }

    public var requests: [Request] { lock.withLock { recorded } }

    private var stopped = false

    public func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            handle(client)
            close(client)
        }
    }

    private func handle(_ client: Int32) {
        guard let request = readRequest(client) else { return }
        lock.withLock { recorded.append(request) }
        let (entry, forced) = lock.withLock { (files[request.path], forcedStatus) }
        if let forced { return respond(client, status: forced, headers: [:], body: [], limit: nil) }
        guard request.method == "GET" || request.method == "HEAD", let (body, etag) = entry else {
            return respond(client, status: 404, headers: [:], body: Array("not found\n".utf8), limit: nil)
        }
        var start = 0
        if let range = request.range, request.headers["if-range"].map({ $0 == etag }) ?? true,
           range.hasPrefix("bytes="), range.hasSuffix("-"), let from = Int(range.dropFirst(6).dropLast()) {
            start = from
        }
        if start >= body.count && start > 0 {
            return respond(client, status: 416, headers: ["Content-Range": "bytes */\(body.count)"], body: [], limit: nil)
        }
        var headers = ["ETag": etag, "Accept-Ranges": "bytes"]
        if start > 0 { headers["Content-Range"] = "bytes \(start)-\(body.count - 1)/\(body.count)" }
        let limit: Int? = lock.withLock {
            guard cutsLeft > 0 else { return nil }
            cutsLeft -= 1
            return cutAfter
        }
        respond(client, status: start > 0 ? 206 : 200, headers: headers,
             body: request.method == "HEAD" ? [] : Array(body[start...]), limit: limit)
    }

    private func readRequest(_ client: Int32) -> Request? {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        let end: [UInt8] = Array("\r\n\r\n".utf8)
        while data.count < 65536 {
            let n = recv(client, &buffer, buffer.count, 0)
            if n <= 0 { return nil }
            data.append(contentsOf: buffer[0..<n])
            if data.count >= 4, (0...(data.count - 4)).contains(where: { Array(data[$0..<$0 + 4]) == end }) { break }
        }
        let text = String(decoding: data, as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Request(method: String(parts[0]), path: String(parts[1]), headers: headers)
    }

    private func respond(_ client: Int32, status: Int, headers: [String: String], body: [UInt8], limit: Int?) {
        let reason = [200: "OK", 206: "Partial Content", 404: "Not Found", 416: "Range Not Satisfiable"][status] ?? "Status"
        var head = "HTTP/1.1 \(status) \(reason)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        guard writeAll(client, Array(head.utf8)) else { return }
        let count = min(body.count, limit ?? body.count)
        let pace = lock.withLock { throttle }
        body.withUnsafeBufferPointer { raw in
            var offset = 0
            while offset < count {
                let n = send(client, raw.baseAddress! + offset, min(count - offset, pace?.chunk ?? 65536), noSignal)
                if n <= 0 { return }
                offset += n
                if let pace { usleep(pace.delay) }
            }
        }
    }

    private func writeAll(_ client: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { raw in
            var offset = 0
            while offset < raw.count {
                let n = send(client, raw.baseAddress! + offset, raw.count - offset, noSignal)
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }
}
