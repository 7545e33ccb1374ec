import Foundation
import Hummingbird
import Server
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A blocking loopback TCP client, to control exactly what happens on one connection. Its blocking calls
/// go through ``blocking(_:)``, off Swift's cooperative pool: on 2 cores that pool has two threads, and a
/// `recv` parked on one of them while other suites hold the other left the server itself no thread to
/// answer with (seen in CI: a 60 s receive timeout on a 2-token generation).
final class RawConnection: Sendable {
    let fd: Int32

    init(port: Int) throws {
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
        var timeout = timeval(tv_sec: 600, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func post(_ path: String, body: String) {
        let request = "POST \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Reads one whole HTTP/1.1 response: the head, then a body framed by Content-Length or by chunks (up
    /// to the last chunk and its blank line), so nothing of it is left for the next response's read.
    func readResponse() -> String {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        func complete() -> Bool {
            let text = String(decoding: data, as: UTF8.self)
            guard let headEnd = text.range(of: "\r\n\r\n") else { return false }
            let head = text[..<headEnd.lowerBound].lowercased()
            let body = text[headEnd.upperBound...]
            if head.contains("transfer-encoding: chunked") { return body == "0\r\n\r\n" || body.hasSuffix("\r\n0\r\n\r\n") }
            if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
               let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) {
                return body.utf8.count >= length
            }
            return false
        }
        while !complete() {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads until `marker` has arrived (or the peer closes / times out); returns everything read.
    func read(until marker: String) -> String {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: data, as: UTF8.self).contains(marker) {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Runs a blocking call on a thread of its own, so it never holds a cooperative-pool thread.
func blocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

@Suite(.serialized, .enabled(if: RealModels.shouldRun("smollm2:135m"))) struct ConnectionTests {
    /// Generation responses leave the connection usable: a pooling client's next request is answered.
    @Test func keepAliveAcrossGenerations() async throws {
        _ = try RealModels.path(smol)
        try await withRealServer(preload: [smol]) { client, _ in
            let port = try #require(client.port)
            let connection = try RawConnection(port: port)
            for stream in [false, true] {
                connection.post("/api/generate", body: #"{"model":"smollm2:135m","prompt":"Hi","stream":\#(stream),"options":{"num_predict":2}}"#)
                let response = await blocking { connection.readResponse() }
                #expect(response.hasPrefix("HTTP/1.1 200"))
                #expect(!response.lowercased().contains("connection: close"))
                #expect(response.contains(#""done":true"#))
            }
            connection.post("/api/show", body: #"{"model":"smollm2:135m"}"#)
            #expect(await blocking { connection.read(until: "model_info") }.hasPrefix("HTTP/1.1 200"))
        }
    }

    /// A client that hangs up mid-prompt stops the work: the running gauge is back to 0 within 5 s. (The
    /// compatibility suite holds an idle server to 2 s; here the other suites run in parallel on 2 cores,
    /// and one 64-token prompt chunk may take a second or more.)
    @Test func disconnectDuringPromptStopsIt() async throws {
        _ = try RealModels.path(smol)
        try await withRealServer { client, _ in
            let port = try #require(client.port)
            let prompt = (1...600).map(String.init).joined(separator: " ")
            var connection: RawConnection? = try RawConnection(port: port)
            connection?.post("/api/generate",
                             body: #"{"model":"smollm2:135m","raw":true,"prompt":"\#(prompt)","options":{"num_predict":400,"num_ctx":4096}}"#)
            func running() async throws -> String {
                try await client.execute(uri: "/metrics", method: .get) { response async throws in
                    text(response.body).split(separator: "\n").first { $0.hasPrefix("swiftlm_requests_running ") }.map(String.init) ?? ""
                }
            }
            var started = false
            for _ in 0..<100 where !started {
                started = try await running() == "swiftlm_requests_running 1.0"
                if !started { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(started)
            connection = nil
            let hungUp = ContinuousClock.now
            var stopped = false
            while !stopped, ContinuousClock.now - hungUp < .seconds(5) {
                stopped = try await running() == "swiftlm_requests_running 0.0"
                if !stopped { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(stopped)
        }
    }
}
