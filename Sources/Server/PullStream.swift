import Foundation
import Hummingbird
import JSON
import Logging
import Store

/// `/api/pull`'s NDJSON progress: `{"status": "pulling manifest"}`, then
/// `{"status": "pulling <digest>", "digest", "total", "completed"}` as bytes arrive, then
/// `verifying sha256 digest`, `writing manifest` and `{"status": "success"}` (or an `{"error": ...}` line).
enum PullStream {
    static func isURL(_ s: String) -> Bool { ModelStore.isURL(s) }

    static func response(store: ModelStore, name: String, logger: Logger) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/x-ndjson"
        let digest = (try? store.canonicalName(name)).flatMap(Catalog.entry(named:)).map { "sha256:\($0.sha256)" }
        let body = ResponseBody { writer in
            let (lines, sink) = AsyncStream.makeStream(of: JSONValue.self)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    sink.yield(object(("status", .string("pulling manifest"))))
                    var lastPermille = -1
                    var lastPhase: PullProgress.Phase?
                    do {
                        let result = try await store.pull(name) { p in
                            let total = p.total ?? 0
                            let permille = total > 0 ? Int(p.completed * 1000 / total) : 0
                            guard p.phase != lastPhase || permille != lastPermille else { return }
                            lastPhase = p.phase
                            lastPermille = permille
                            switch p.phase {
                            case .resuming, .downloading, .extracting:
                                let label = digest.map { "pulling \($0.dropFirst(7).prefix(12))" } ?? "pulling \(p.name)"
                                sink.yield(object(("status", .string(label)), ("digest", digest.map(JSONValue.string)),
                                                  ("total", p.total.map { .int(Int($0)) }), ("completed", .int(Int(p.completed)))))
                            case .converting:
                                sink.yield(object(("status", .string("converting \(p.partLabel)")),
                                                  ("total", p.total.map { .int(Int($0)) }), ("completed", .int(Int(p.completed)))))
                            case .verifying:
                                sink.yield(object(("status", .string("verifying sha256 digest"))))
                            case .done:
                                sink.yield(object(("status", .string("writing manifest"))))
                            }
                        }
                        if result.alreadyPresent {
                            let total = result.manifest.size
                            sink.yield(object(("status", .string("pulling \(result.manifest.sha256.prefix(12))")),
                                              ("digest", .string(result.manifest.digest)), ("total", .int(Int(total))), ("completed", .int(Int(total)))))
                        }
                        sink.yield(object(("status", .string("success"))))
                    } catch {
                        logger.error("pull failed", metadata: ["model": "\(name)", "error": "\(error)"])
                        sink.yield(object(("error", .string("\(error)"))))
                    }
                    sink.finish()
                }
                for await line in lines {
                    try await writer.write(ByteBuffer(string: line.serialized + "\n"))
                }
                try await group.waitForAll()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
