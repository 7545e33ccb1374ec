import Foundation
import Hummingbird
import Server
import TestSupport
import Testing

/// scripts/make-tool-fixtures.py's output (kept with the Runtime tests, which render it through the library).
/// Returns (turn name, request body, expected prompt) triples.
private func fixtureRequests() throws -> [(String, String, String)] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("RuntimeTests/Fixtures/tools-qwen2.5-coder-0.5b.json")
    let fixture = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    let requests = try #require(fixture["requests"] as? [String: String])
    let turns = try #require(fixture["turns"] as? [String: [String: Any]])
    return try requests.sorted { $0.key < $1.key }.map { name, body in
        (name, body, try #require(turns[name]?["prompt"] as? String))
    }
}

private let qwen = "qwen2.5-coder:0.5b"
private let weatherTool = #"{"type":"function","function":{"name":"get_weather","description":"Get the current weather in a given city","parameters":{"type":"object","properties":{"city":{"type":"string","description":"The city, e.g. Paris"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}}}"#
private let question = #"{"role":"user","content":"What is the weather like in Paris today?"}"#
private let deterministic = #""temperature":0,"seed":42"#

/// SSE `data:` payloads as objects, `[DONE]` excluded.
private func events(_ buffer: ByteBuffer?) throws -> [[String: Any]] {
    try text(buffer).components(separatedBy: "\n\n").compactMap { block in
        guard block.hasPrefix("data: "), block != "data: [DONE]" else { return nil }
        return try #require(try JSONSerialization.jsonObject(with: Data(block.dropFirst(6).utf8)) as? [String: Any])
    }
}

@Suite(.serialized, .enabled(if: RealModels.shouldRun(qwen))) struct ToolCallTests {
    /// The server's prompt for each fixture request (OpenAI bodies, tools with keys out of alphabetical
    /// order, past arguments as a string of JSON) is jinja2's, byte for byte.
    @Test func promptsAreJinja2s() async throws {
        _ = try RealModels.path(qwen)
        let requests = try fixtureRequests()
        #expect(requests.count == 3)
        try await withRealServer(preload: [qwen]) { client, _ in
            for (name, body, prompt) in requests {
                try await client.execute(uri: "/apply-template", method: .post, body: json(body)) { response async throws in
                    #expect(response.status == .ok)
                    #expect(try decodeObject(response.body)["prompt"] as? String == prompt, "\(name)")
                }
            }
        }
    }

    /// OpenAI, not streamed: a call with arguments as a string of JSON and `finish_reason: tool_calls`;
    /// the result sent back as a `tool` message gives an answer that uses it.
    @Test func openAIRoundTrip() async throws {
        _ = try RealModels.path(qwen)
        try await withRealServer(preload: [qwen]) { client, _ in
            let first = #"{"model":"qwen2.5-coder:0.5b","messages":[\#(question)],"tools":[\#(weatherTool)],\#(deterministic)}"#
            var call: [String: Any] = [:]
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: json(first)) { response async throws in
                #expect(response.status == .ok)
                let choice = try #require((try decodeObject(response.body)["choices"] as? [[String: Any]])?.first)
                #expect(choice["finish_reason"] as? String == "tool_calls")
                let message = try #require(choice["message"] as? [String: Any])
                #expect(message["content"] is NSNull)
                let calls = try #require(message["tool_calls"] as? [[String: Any]])
                #expect(calls.count == 1)
                call = calls.first ?? [:]
            }
            #expect((call["id"] as? String)?.hasPrefix("call_") == true)
            #expect(call["type"] as? String == "function")
            let function = try #require(call["function"] as? [String: Any])
            #expect(function["name"] as? String == "get_weather")
            let arguments = try #require(function["arguments"] as? String)
            let parsed = try #require(try JSONSerialization.jsonObject(with: Data(arguments.utf8)) as? [String: Any])
            #expect(parsed["city"] as? String == "Paris")

            let id = call["id"] as? String ?? ""
            let assistant = #"{"role":"assistant","content":null,"tool_calls":[{"id":"\#(id)","type":"function","function":{"name":"get_weather","arguments":\#(String(data: try JSONSerialization.data(withJSONObject: arguments, options: .fragmentsAllowed), encoding: .utf8)!)}}]}"#
            let result = #"{"role":"tool","tool_call_id":"\#(id)","content":"{\"temperature\": 21, \"condition\": \"sunny\"}"}"#
            let second = #"{"model":"qwen2.5-coder:0.5b","messages":[\#(question),\#(assistant),\#(result)],"tools":[\#(weatherTool)],\#(deterministic),"max_tokens":64}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: json(second)) { response async throws in
                #expect(response.status == .ok)
                let choice = try #require((try decodeObject(response.body)["choices"] as? [[String: Any]])?.first)
                // (qwen2.5-coder:0.5b repeats the call before it states the result, as llama.cpp's greedy
                // reply does: the result must reach the text.)
                let message = try #require(choice["message"] as? [String: Any])
                #expect((message["content"] as? String)?.contains("21") == true, "\(message)")
            }
        }
    }

    /// OpenAI, streamed: no text chunk carries markup; the call arrives as index/id/type/name with
    /// empty arguments, then the arguments; the last chunk says `tool_calls`.
    @Test func openAIStreamedDeltas() async throws {
        _ = try RealModels.path(qwen)
        try await withRealServer(preload: [qwen]) { client, _ in
            let body = #"{"model":"qwen2.5-coder:0.5b","stream":true,"messages":[\#(question)],"tools":[\#(weatherTool)],\#(deterministic)}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: json(body)) { response async throws in
                let chunks = try events(response.body)
                let deltas = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"]) as? [String: Any] }
                #expect(deltas.first?["role"] as? String == "assistant")
                let content = deltas.compactMap { $0["content"] as? String }.joined()
                #expect(content.isEmpty, "text leaked: \(content)")
                let parts = deltas.compactMap { ($0["tool_calls"] as? [[String: Any]])?.first }
                #expect(parts.count == 2)
                #expect(parts.first?["index"] as? Int == 0)
                #expect((parts.first?["id"] as? String)?.hasPrefix("call_") == true)
                #expect(parts.first?["type"] as? String == "function")
                #expect((parts.first?["function"] as? [String: Any])?["name"] as? String == "get_weather")
                #expect((parts.first?["function"] as? [String: Any])?["arguments"] as? String == "")
                #expect(parts.last?["index"] as? Int == 0)
                #expect(parts.last?["id"] == nil)
                let arguments = (parts.last?["function"] as? [String: Any])?["arguments"] as? String ?? ""
                #expect((try? JSONSerialization.jsonObject(with: Data(arguments.utf8)) as? [String: Any])?["city"] as? String == "Paris")
                let finish = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["finish_reason"]) as? String }
                #expect(finish == ["tool_calls"])
            }
        }
    }

    /// Ollama, streamed and not: arguments as an object, in a message of its own while streaming; a
    /// `tool` message with `tool_name` in the history.
    @Test func ollamaShapes() async throws {
        _ = try RealModels.path(qwen)
        try await withRealServer(preload: [qwen]) { client, _ in
            for stream in [false, true] {
                let body = #"{"model":"qwen2.5-coder:0.5b","stream":\#(stream),"messages":[\#(question)],"tools":[\#(weatherTool)],"options":{\#(deterministic)}}"#
                try await client.execute(uri: "/api/chat", method: .post, body: json(body)) { response async throws in
                    #expect(response.status == .ok)
                    let lines = stream ? try ndjson(response.body) : [try decodeObject(response.body)]
                    let messages = lines.compactMap { $0["message"] as? [String: Any] }
                    let calls = messages.compactMap { $0["tool_calls"] as? [[String: Any]] }.flatMap { $0 }
                    #expect(calls.count == 1, "stream \(stream)")
                    let function = calls.first?["function"] as? [String: Any]
                    #expect(function?["name"] as? String == "get_weather")
                    #expect((function?["arguments"] as? [String: Any])?["city"] as? String == "Paris")
                    #expect(messages.compactMap { $0["content"] as? String }.joined().isEmpty)
                    #expect(lines.last?["done"] as? Bool == true)
                    #expect(lines.last?["done_reason"] as? String == "stop")
                }
            }
            let history = #"{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},{"role":"tool","tool_name":"get_weather","content":"{\"temperature\": 21, \"condition\": \"sunny\"}"}"#
            let body = #"{"model":"qwen2.5-coder:0.5b","stream":false,"messages":[\#(question),\#(history)],"tools":[\#(weatherTool)],"options":{\#(deterministic),"num_predict":64}}"#
            try await client.execute(uri: "/api/chat", method: .post, body: json(body)) { response async throws in
                let message = try #require(try decodeObject(response.body)["message"] as? [String: Any])
                #expect((message["content"] as? String)?.contains("21") == true, "\(message)")
            }
        }
    }

    /// `tool_choice`: a named function is forced; `none` hides the tools; a model whose template has no
    /// tools is a 400 that says so.
    @Test func toolChoiceAndUnsupportedModels() async throws {
        _ = try RealModels.path(qwen)
        _ = try RealModels.path("smollm2:135m")
        try await withRealServer(preload: [qwen]) { client, _ in
            let forced = #"{"model":"qwen2.5-coder:0.5b","messages":[{"role":"user","content":"Is it raining in Oslo?"}],"tools":[\#(weatherTool)],"tool_choice":{"type":"function","function":{"name":"get_weather"}},\#(deterministic)}"#
            try await client.execute(uri: "/v1/chat/completions", method: .post, body: json(forced)) { response async throws in
                let choice = try #require((try decodeObject(response.body)["choices"] as? [[String: Any]])?.first)
                let calls = (choice["message"] as? [String: Any])?["tool_calls"] as? [[String: Any]]
                #expect((calls?.first?["function"] as? [String: Any])?["name"] as? String == "get_weather")
                #expect(choice["finish_reason"] as? String == "tool_calls")
            }
            let none = #"{"model":"qwen2.5-coder:0.5b","messages":[\#(question)],"tools":[\#(weatherTool)],"tool_choice":"none"}"#
            try await client.execute(uri: "/apply-template", method: .post, body: json(none)) { response async throws in
                #expect(try !(decodeObject(response.body)["prompt"] as? String ?? "<tools>").contains("<tools>"))
            }
            let smol = #"{"model":"smollm2:135m","messages":[\#(question)],"tools":[\#(weatherTool)]}"#
            try await client.execute(uri: "/api/chat", method: .post, body: json(smol)) { response async throws in
                #expect(response.status == .badRequest)
                #expect(try (decodeObject(response.body)["error"] as? String)?.contains("does not support tools") == true)
            }
        }
    }
}
