import Foundation
import Hummingbird
import Runtime
import Server
import Testing
import TestSupport

/// What the explain page needs from the server: the page itself, `/tokenize`, `/detokenize`, and token ids
/// in the log-probabilities so that a fork continues from exactly the chosen token.
@Suite(.serialized, .enabled(if: RealModels.shouldRun("smollm2:135m"))) struct ExplainRoutesTests {
    @Test func thePageIsSelfContained() async throws {
        try await withRealServer { client, _ in
            try await client.execute(uri: "/explain", method: .get) { response async throws in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(response.headers[.contentSecurityPolicy]?.contains("connect-src 'self'") == true)
                let html = text(response.body)
                #expect(html.contains(#"data-mode="live""#))
                // Nothing loaded from elsewhere: no src attributes, and the only link is the empty data: icon.
                #expect(!html.contains(" src="))
                #expect(html.components(separatedBy: "href=").count == 2 && html.contains(#"href="data:,""#))
            }
        }
    }

    @Test func tokenizeAndDetokenizeRoundTrip() async throws {
        let path = try RealModels.path(smol)
        let tokenizer = try LoadedModel(path: path, threads: 1, name: smol).tokenizer
        let expected = tokenizer.encode("Hello world", addSpecial: false, parseSpecial: true)
        try await withRealServer { client, _ in
            try await client.execute(uri: "/tokenize", method: .post, body: json(#"{"model":"smollm2:135m","content":"Hello world"}"#)) { response async throws in
                #expect(response.status == .ok)
                #expect(try decodeObject(response.body)["tokens"] as? [Int] == expected.map(Int.init))
            }
            try await client.execute(uri: "/tokenize", method: .post,
                                     body: json(#"{"model":"smollm2:135m","content":"Hello world","with_pieces":true}"#)) { response async throws in
                let tokens = try #require(try decodeObject(response.body)["tokens"] as? [[String: Any]])
                #expect(tokens.compactMap { $0["id"] as? Int } == expected.map(Int.init))
                #expect(tokens.compactMap { $0["piece"] as? String }.joined() == "Hello world")
            }
            let ids = expected.map(String.init).joined(separator: ",")
            try await client.execute(uri: "/detokenize", method: .post,
                                     body: json(#"{"model":"smollm2:135m","tokens":[\#(ids)],"with_pieces":true}"#)) { response async throws in
                let o = try decodeObject(response.body)
                #expect(o["content"] as? String == "Hello world")
                #expect((o["pieces"] as? [[String: Any]])?.count == expected.count)
            }
            try await client.execute(uri: "/detokenize", method: .post, body: json(#"{"model":"smollm2:135m","tokens":[-1]}"#)) { response async throws in
                #expect(response.status == .badRequest)
                #expect(text(response.body).contains("'tokens'"))
            }
            try await client.execute(uri: "/tokenize", method: .post, body: json(#"{"content":"x"}"#)) { response async throws in
                #expect(response.status == .badRequest)
            }
        }
    }

    /// A fork: the prompt's ids, then an alternative id as `context` with an empty raw prompt; the reply's
    /// context shows the model read exactly those ids.
    @Test func logprobIDsLetAClientForkExactly() async throws {
        _ = try RealModels.path(smol)
        try await withRealServer { client, _ in
            let body = #"{"model":"smollm2:135m","prompt":"One, two,","raw":true,"stream":false,"logprobs":true,"top_logprobs":2,"options":{"temperature":0,"num_predict":2}}"#
            var context: [Int] = []
            var alternative = 0
            try await client.execute(uri: "/api/generate", method: .post, body: json(body)) { response async throws in
                let o = try decodeObject(response.body)
                let entries = try #require(o["logprobs"] as? [[String: Any]])
                let all = try #require(o["context"] as? [Int])
                let generated = try #require(o["eval_count"] as? Int)
                // The chosen ids in the log-probabilities are the generated ids in `context`.
                #expect(entries.compactMap { $0["id"] as? Int } == Array(all.suffix(generated)))
                let top = try #require(entries.first?["top_logprobs"] as? [[String: Any]])
                alternative = try #require(top.last?["id"] as? Int)
                context = Array(all.dropLast(generated)) + [alternative]
            }
            let fork = #"{"model":"smollm2:135m","prompt":"","raw":true,"stream":false,"context":\#(context),"options":{"temperature":0,"num_predict":2}}"#
            try await client.execute(uri: "/api/generate", method: .post, body: json(fork)) { response async throws in
                #expect(response.status == .ok)
                let o = try decodeObject(response.body)
                let used = try #require(o["context"] as? [Int])
                #expect(Array(used.prefix(context.count)) == context)
                #expect(o["eval_count"] as? Int == 2)
            }
        }
    }
}
