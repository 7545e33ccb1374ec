import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP GET whose body is appended to a ``PartialPull``. URLSession calls back on its own
/// serial queue; the pulling task polls ``status`` (under `lock`) for progress and the outcome.
final class HTTPTransfer: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    enum Outcome: Equatable {
        /// The body ended normally.
        case finished
        /// 416: nothing left after the offset; `total` from `Content-Range: bytes */N`.
        case rangeNotSatisfiable(total: Int64?)
        /// Connection or protocol trouble worth a resumed retry.
        case transport(String)
        /// Not worth retrying (HTTP error status, disk error).
        case failed(StoreError)
    }

    struct Status {
        var length: Int64
        var total: Int64?
        var outcome: Outcome?
    }

    private let lock = NSLock()
    private var state: Status
    /// Touched only on the delegate queue while the transfer runs.
    private let partial: PartialPull
    private let url: URL
    private let queue: OperationQueue
    /// Under `lock`: set by ``start(timeout:)``, read by ``cancel()``.
    private var session: URLSession?

    init(url: URL, partial: PartialPull) {
        self.url = url
        self.partial = partial
        state = Status(length: partial.length)
        queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
    }

    var status: Status { lock.withLock { state } }

    func start(timeout: TimeInterval) {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        if partial.length > 0 {
            request.setValue("bytes=\(partial.length)-", forHTTPHeaderField: "Range")
            // A changed file must come back whole (200), not as a range spliced onto old bytes.
            if let etag = partial.state.etag { request.setValue(etag, forHTTPHeaderField: "If-Range") }
        }
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        let session = URLSession(configuration: .ephemeral, delegate: self, delegateQueue: queue)
        lock.withLock { self.session = session }
        session.dataTask(with: request).resume()
    }

    /// Stops the request (the pulling task was cancelled).
    func cancel() {
        // Mark finished first so callbacks already queued skip the partial file, then let them drain
        // before the caller closes it.
        finish(.transport("cancelled"))
        lock.withLock { session }?.invalidateAndCancel()
        queue.waitUntilAllOperationsAreFinished()
    }

    private func finish(_ outcome: Outcome) {
        lock.withLock {
            if state.outcome == nil { state.outcome = outcome }
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let http = response as? HTTPURLResponse else {
            finish(.failed(.download(url: url.absoluteString, reason: "not an HTTP response")))
            return completionHandler(.cancel)
        }
        let range = (http.value(forHTTPHeaderField: "Content-Range")).flatMap(ContentRange.init)
        do {
            switch http.statusCode {
            case 206:
                guard let range, range.start == partial.length else {
                    // The server resumed somewhere else: start over rather than splice.
                    try partial.reset(etag: nil)
                    finish(.transport("server answered the range request with the wrong range"))
                    return completionHandler(.cancel)
                }
                setTotal(range.total)
            case 200:
                // A full body: either a fresh start, or the server ignored/refused the range.
                try partial.reset(etag: http.value(forHTTPHeaderField: "ETag"))
                setTotal(http.expectedContentLength >= 0 ? http.expectedContentLength : nil)
            case 416:
                finish(.rangeNotSatisfiable(total: range?.total))
                return completionHandler(.cancel)
            default:
                finish(.failed(.httpStatus(url: url.absoluteString, status: http.statusCode)))
                return completionHandler(.cancel)
            }
        } catch {
            finish(.failed(error))
            return completionHandler(.cancel)
        }
        completionHandler(.allow)
    }

    private func setTotal(_ total: Int64?) {
        lock.withLock {
            state.total = total
            state.length = partial.length
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard status.outcome == nil else { return }
        do {
            try partial.append(data)
            let length = partial.length
            lock.withLock { state.length = length }
        } catch {
            finish(.failed(error))
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if let error {
            // A name that does not resolve will not resolve on a retry either: say so, not "resume".
            let code = (error as? URLError)?.code ?? URLError.Code(rawValue: (error as NSError).code) ?? .unknown
            if code == .cannotFindHost || code == .dnsLookupFailed {
                finish(.failed(.hostNotFound(url: url.absoluteString, host: url.host ?? url.absoluteString)))
            } else {
                finish(.transport(Self.describe(error, code: code)))
            }
        } else {
            finish(.finished)
        }
        session.finishTasksAndInvalidate()
    }
}

extension HTTPTransfer {
    /// Words for the transport failures worth a retry; Foundation on Linux describes them only as
    /// "NSURLErrorDomain error -1004".
    static func describe(_ error: any Error, code: URLError.Code) -> String {
        switch code {
        case .cannotConnectToHost: return "could not connect to the server"
        case .timedOut: return "the server stopped answering (timed out)"
        case .networkConnectionLost: return "the connection was lost"
        case .notConnectedToInternet: return "no network connection"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
             .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot:
            return "the TLS connection failed (certificate or protocol)"
        default:
            let text = error.localizedDescription
            return text.contains("NSURLErrorDomain") ? "network error \(code.rawValue)" : text
        }
    }
}

/// `Content-Range: bytes a-b/N` or `bytes */N`.
struct ContentRange {
    var start: Int64?
    var total: Int64?

    init?(_ header: String) {
        let value = header.trimmingCharacters(in: .whitespaces)
        guard value.lowercased().hasPrefix("bytes ") else { return nil }
        let spec = value.dropFirst("bytes ".count)
        let halves = spec.split(separator: "/", maxSplits: 1)
        guard halves.count == 2 else { return nil }
        total = Int64(halves[1])
        if halves[0] != "*" {
            guard let dash = halves[0].firstIndex(of: "-"), let start = Int64(halves[0][..<dash]) else { return nil }
            self.start = start
        }
    }
}
