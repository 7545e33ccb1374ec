import Foundation
import Hummingbird
import Runtime
import Testing
import Server
import TestSupport

/// A server over the real model store (the catalog models the tests pull).
/// `preload` models are loaded before the first request: the test client gives every request a fixed
/// 15 s deadline, which loading a larger model can exceed while other suites keep both cores busy.
func withRealServer(preload: [String] = [], _ configure: (inout ServerConfiguration) -> Void = { _ in },
                    _ body: @escaping @Sendable (LiveClient, SwiftLMServer) async throws -> Void) async throws {
    var config = ServerConfiguration()
    config.port = 0
    config.threads = 2
    configure(&config)
    let server = SwiftLMServer(configuration: config)
    for name in preload {
        let lease = try await server.manager.acquire(name)
        await server.manager.release(lease, keepAlive: .forever)
    }
    try await serveForTest(server) { client in try await body(client, server) }
}

/// NDJSON lines as objects.
func ndjson(_ buffer: ByteBuffer?) throws -> [[String: Any]] {
    try text(buffer).split(separator: "\n").map { line in
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }
}

let smol = "smollm2:135m"

@Suite(.serialized, .enabled(if: RealModels.shouldRun("smollm2:135m"))) struct GenerationTests {
    @Test func generateNotStreamedStopsAtNumPredict() async throws {
        _ = try RealModels.path(smol)
        try await withRealServer { client, _ in
            let body = #"{"model":"smollm2:135m","prompt":"Count: one, two,","stream":false,"raw":true,"options":{"temperature":0,"num_predict":5}}"#
            try await client.execute(uri: "/api/generate", method: .post, body: json(body)) { response async throws in
                #expect(response.status == .ok)
                let o = try decodeObject(response.body)
                #expect(o["done"] as? Bool == true)
                #expect(o["done_reason"] as? String == "length")
                #expect(o["eval_count"] as? Int == 5)
                #expect((o["response"] as? String)?.isEmpty == false)
                #expect((o["context"] as? [Int])?.count ?? 0 > 5)
                for key in ["total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_duration"] {
                    #expect(o[key] is Int, "\(key)")
                }
            }
        }
    }

    @Test func seededGreedyOutputIsRepeatableAndMatchesTheLibrary() async throws {
        let path = try RealModels.path(smol)
        let model = try LoadedModel(path: path, threads: 2, name: smol)
        // One slot, as `swiftlm run` and the library's completions run.
        let scheduler = RequestScheduler(model: model, parallel: 1)
        var expected = ""
        for try await event in try scheduler.submit(GenerationRequest(
            prompt: model.tokenizer.encode("The capital of France is", addSpecial: true, parseSpecial: true),
            options: GenerationOptions(sampling: .greedy, maxTokens: 8))) {
            if case let .text(t) = event { expected += t }
        }
        let reference = expected
        try await withRealServer { client, _ in
            let body = #"{"model":"smollm2:135m","prompt":"The capital of France is","stream":false,"raw":true,"options":{"temperature":0,"seed":42,"num_predict":8}}"#
            for _ in 0..<2 {
                try await client.execute(uri: "/api/generate", method: .post, body: json(body)) { response async throws in
                    #expect(try decodeObject(response.body)["response"] as? String == reference)
                }
            }
        }
    }

    @Test func chatStreamsNDJSON() async throws {
        _ = try RealModels.path(smol)
        try await withRealServer { client, _ in
            let body = #"{"model":"smollm2:135m","messages":[{"role":"user","content":"Say hello."}],"options":{"temperature":0,"num_predict":6}}"#
            try await client.execute(uri: "/api/chat", method: .post, body: json(body)) { response async throws in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/x-ndjson")
                #expect(!text(response.body).contains("\n\n"))
                let lines = try ndjson(response.body)
                #expect(lines.count >= 2)
                for line in lines.dropLast() {
                    #expect(line["done"] as? Bool == false)
                    #expect((line["message"] as? [String: Any])?["role"] as? String == "assistant")
                }
                let last = try #require(lines.last)
                #expect(last["done"] as? Bool == true)
                #expect(last["done_reason"] as? String == "length")
                #expect(last["eval_count"] as? Int == 6)
            }
        }
    }

    @Test func openAIStreamWithUsage() async throws {
        _ = try RealModels.path(smol)
        try await withRealServer { client, _ in
            let body = #"{"model":"smollm2:135m","messages":[{"role":"user","content":[{"type":"text","text":"Say hi."}]}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":4,"temperature":0}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: json(body)) { response async throws in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/event-stream")
                let events = text(response.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }
                #expect(events.last == "data: [DONE]")
                let chunks = try events.dropLast().map { event -> [String: Any] in
                    #expect(event.hasPrefix("data: "))
                    return try #require(try JSONSerialization.jsonObject(with: Data(event.dropFirst(6).utf8)) as? [String: Any])
                }
                let first = try #require((chunks.first?["choices"] as? [[String: Any]])?.first)
                #expect((first["delta"] as? [String: Any])?["role"] as? String == "assistant")
                let usage = try #require(chunks.last?["usage"] as? [String: Any])
                #expect(usage["completion_tokens"] as? Int == 4)
                #expect((chunks.last?["choices"] as? [Any])?.isEmpty == true)
                let finish = chunks.dropLast().last.flatMap { ($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String }
                #expect(finish == "length")
            }
        }
    }

    @Test func logprobs() async throws {
        _ = try RealModels.path(smol)
        try await withRealServer { client, _ in
            let body = #"{"model":"smollm2:135m","prompt":"One, two,","raw":true,"stream":false,"logprobs":true,"top_logprobs":3,"options":{"temperature":0,"num_predict":3}}"#
            try await client.execute(uri: "/api/generate", method: .post, body: json(body)) { response async throws in
                let o = try decodeObject(response.body)
                let logprobs = try #require(o["logprobs"] as? [[String: Any]])
                #expect(logprobs.count == 3)
                for entry in logprobs {
                    let lp = try #require(entry["logprob"] as? Double)
                    #expect(lp <= 0)
                    let top = try #require(entry["top_logprobs"] as? [[String: Any]])
                    #expect(top.count == 3)
                    // Greedy: the chosen token is the most likely one.
                    #expect(top.first?["token"] as? String == entry["token"] as? String)
                }
            }
            let chat = #"{"model":"smollm2:135m","messages":[{"role":"user","content":"Hi"}],"logprobs":true,"top_logprobs":2,"max_tokens":2,"temperature":0}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: json(chat)) { response async throws in
                let choice = try #require((try decodeObject(response.body)["choices"] as? [[String: Any]])?.first)
                let content = try #require((choice["logprobs"] as? [String: Any])?["content"] as? [[String: Any]])
                #expect(content.count == 2)
                #expect((content.first?["top_logprobs"] as? [Any])?.count == 2)
            }
        }
    }

    @Test func contextOverflowIsRefusedOrTruncated() async throws {
        _ = try RealModels.path(smol)
        try await withRealServer { client, _ in
            let long = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 20)
            let messages = #"[{"role":"system","content":"Be brief."},{"role":"user","content":"\#(long)"},{"role":"assistant","content":"OK."},{"role":"user","content":"Hi"}]"#
            let refused = #"{"model":"smollm2:135m","messages":\#(messages),"stream":false,"options":{"num_ctx":128,"num_predict":2}}"#
            try await client.execute(uri: "/api/chat", method: .post, body: json(refused)) { response async throws in
                #expect(response.status == .badRequest)
                let message = try decodeObject(response.body)["error"] as? String ?? ""
                #expect(message.contains("tokens but the context holds 128"), "\(message)")
                #expect(message.contains("truncate"))
            }
            let truncated = #"{"model":"smollm2:135m","messages":\#(messages),"stream":false,"truncate":true,"options":{"num_ctx":128,"num_predict":2,"temperature":0}}"#
            try await client.execute(uri: "/api/chat", method: .post, body: json(truncated)) { response async throws in
                #expect(response.status == .ok)
                let o = try decodeObject(response.body)
                #expect(o["truncated"] as? Bool == true)
                #expect((o["prompt_eval_count"] as? Int ?? 999) < 128)
            }
        }
    }

    @Test func keepAliveLoadsAndUnloads() async throws {
        _ = try RealModels.path(smol)
        try await withRealServer { client, _ in
            try await client.execute(uri: "/api/generate", method: .post, body: json(#"{"model":"smollm2:135m"}"#)) { response async throws in
                #expect(try decodeObject(response.body)["done_reason"] as? String == "load")
            }
            try await client.execute(uri: "/api/ps", method: .get) { response async throws in
                let models = try #require(try decodeObject(response.body)["models"] as? [[String: Any]])
                #expect(models.map { $0["name"] as? String } == [smol])
                // The default f16 cache: smollm2's 30 layers x 3 KV heads x 64 x (K + V) x 2 bytes per position.
                #expect(models.first?["kv_cache_type"] as? String == "f16")
                let context = try #require(models.first?["context_length"] as? Int)
                #expect(models.first?["kv_cache_bytes_per_slot"] as? Int == context * 30 * 3 * 64 * 2 * 2)
            }
            try await client.execute(uri: "/api/chat", method: .post,
                                     body: json(#"{"model":"smollm2:135m","messages":[],"keep_alive":0}"#)) { response async throws in
                #expect(try decodeObject(response.body)["done_reason"] as? String == "unload")
            }
            try await client.execute(uri: "/api/ps", method: .get) { response async throws in
                #expect((try decodeObject(response.body)["models"] as? [Any])?.isEmpty == true)
            }
            // A short keep-alive expires on its own.
            try await client.execute(uri: "/api/generate", method: .post, body: json(#"{"model":"smollm2:135m","keep_alive":"500ms"}"#)) { _ async throws in }
            try await Task.sleep(for: .seconds(1.5))
            try await client.execute(uri: "/api/ps", method: .get) { response async throws in
                #expect((try decodeObject(response.body)["models"] as? [Any])?.isEmpty == true)
            }
        }
    }

    @Test func embeddingsAreNormalisedAndAgree() async throws {
        _ = try RealModels.path(smol)
        try await withRealServer { client, _ in
            var embed: [Double] = []
            try await client.execute(uri: "/api/embed", method: .post,
                                     body: json(#"{"model":"smollm2:135m","input":["The sky is blue.","Grass is green."]}"#)) { response async throws in
                #expect(response.status == .ok)
                let vectors = try #require(try decodeObject(response.body)["embeddings"] as? [[Double]])
                #expect(vectors.count == 2)
                #expect(vectors[0].count == 576)
                #expect(abs(vectors[0].reduce(0) { $0 + $1 * $1 } - 1) < 1e-4)
                embed = vectors[0]
            }
            let reference = embed
            try await client.execute(uri: "/api/embeddings", method: .post,
                                     body: json(#"{"model":"smollm2:135m","prompt":"The sky is blue."}"#)) { response async throws in
                let v = try #require(try decodeObject(response.body)["embedding"] as? [Double])
                #expect(zip(v, reference).reduce(0) { $0 + $1.0 * $1.1 } > 0.999)
            }
            try await client.execute(uri: "/v1/embeddings", method: .post,
                                     body: json(#"{"model":"smollm2:135m","input":"The sky is blue.","encoding_format":"base64"}"#)) { response async throws in
                let data = try #require((try decodeObject(response.body)["data"] as? [[String: Any]])?.first)
                let bytes = try #require(Data(base64Encoded: data["embedding"] as? String ?? ""))
                let floats = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
                #expect(floats.count == 576)
                #expect(abs(Double(floats[0]) - reference[0]) < 1e-6)
            }
        }
    }

    @Test func showReportsModelInfo() async throws {
        _ = try RealModels.path(smol)
        try await withRealServer { client, _ in
            try await client.execute(uri: "/api/show", method: .post, body: json(#"{"model":"smollm2:135m"}"#)) { response async throws in
                #expect(response.status == .ok)
                let o = try decodeObject(response.body)
                let info = try #require(o["model_info"] as? [String: Any])
                #expect(info["general.architecture"] as? String == "llama")
                #expect(info["llama.context_length"] is Int)
                #expect((o["details"] as? [String: Any])?["family"] as? String == "llama")
                #expect((o["capabilities"] as? [String])?.contains("completion") == true)
                #expect((o["template"] as? String)?.isEmpty == false)
            }
        }
    }
}

@Suite(.serialized, .enabled(if: RealModels.shouldRun("smollm2:135m"))) struct SchedulerTests {
    @Test func queueBoundPrefixReuseAndCancellation() async throws {
        let model = try LoadedModel(path: try RealModels.path(smol), threads: 2, name: smol)
        let scheduler = RequestScheduler(model: model, maxQueue: 1, parallel: 1)
        let prompt = model.tokenizer.encode("List the numbers from one to one thousand: one, two, three,", addSpecial: true, parseSpecial: true)
        let endless = GenerationOptions(sampling: .greedy, maxTokens: -1, stopAtEndOfGeneration: false)

        // One runs, one waits, the third is refused.
        let running = try scheduler.submit(GenerationRequest(prompt: prompt, options: endless, contextLength: 512))
        let waiting = try scheduler.submit(GenerationRequest(prompt: prompt, options: GenerationOptions(sampling: .greedy, maxTokens: 3),
                                                                   contextLength: 512))
        #expect(throws: RuntimeError.queueFull(limit: 1)) {
            _ = try scheduler.submit(GenerationRequest(prompt: prompt, contextLength: 512))
        }

        // Dropping the running stream's consumer cancels it, and the waiting one then runs, reusing the
        // prompt already in the cache.
        let consumer = Task {
            var pieces = 0
            for try await event in running { if case .text = event { pieces += 1 } }
            return pieces
        }
        try await Task.sleep(for: .milliseconds(300))
        consumer.cancel()
        _ = try? await consumer.value
        var stats = GenerationStats()
        for try await event in waiting { if case let .done(s) = event { stats = s } }
        #expect(stats.generatedTokens == 3)
        #expect(stats.cachedPromptTokens == prompt.count - 1)
        #expect(await scheduler.isIdle)
    }
}
