import Foundation
import HTTPTypes
import Hummingbird
import Testing
import Server
import TestSupport

/// A server over an empty temporary store, for tests that must not depend on which models are pulled.
func withEmptyStoreServer(_ configure: (inout ServerConfiguration) -> Void = { _ in },
                          _ body: @escaping @Sendable (LiveClient) async throws -> Void) async throws {
    let (root, cleanup) = try makeTemporaryDirectory("swiftlm-server-test")
    defer { cleanup() }
    var config = ServerConfiguration()
    config.port = 0
    config.storeRoot = root
    configure(&config)
    try await serveForTest(SwiftLMServer(configuration: config), body)
}

func json(_ string: String) -> ByteBuffer { ByteBuffer(string: string) }

func decodeObject(_ buffer: ByteBuffer?) throws -> [String: Any] {
    let data = Data(buffer.map { Array($0.readableBytesView) } ?? [])
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

func text(_ buffer: ByteBuffer?) -> String { buffer.map { String(buffer: $0) } ?? "" }

@Suite struct RoutingTests {
    @Test func rootAndVersion() async throws {
        try await withEmptyStoreServer { client in
            try await client.execute(uri: "/", method: .get) { response async throws in
                #expect(response.status == .ok)
                #expect(text(response.body) == "Ollama is running")
            }
            try await client.execute(uri: "/", method: .head) { response async throws in #expect(response.status == .ok) }
            try await client.execute(uri: "/api/version", method: .get) { response async throws in
                #expect(try decodeObject(response.body)["version"] as? String == SwiftLMServer.version)
            }
            try await client.execute(uri: "/api/tags", method: .get) { response async throws in
                #expect(response.status == .ok)
                #expect((try decodeObject(response.body)["models"] as? [Any])?.isEmpty == true)
            }
            try await client.execute(uri: "/api/ps", method: .get) { response async throws in
                #expect((try decodeObject(response.body)["models"] as? [Any])?.isEmpty == true)
            }
            try await client.execute(uri: "/health", method: .get) { response async throws in
                #expect(response.status == .ok)
                #expect(try decodeObject(response.body)["status"] as? String == "ok")
            }
        }
    }

    @Test func unknownRouteIsJSON404() async throws {
        try await withEmptyStoreServer { client in
            try await client.execute(uri: "/api/nothing", method: .get) { response async throws in
                #expect(response.status == .notFound)
                #expect(try decodeObject(response.body)["error"] is String)
            }
        }
    }

    @Test func unknownModelIs404InEachAPIsShape() async throws {
        try await withEmptyStoreServer { client in
            try await client.execute(uri: "/api/chat", method: .post,
                                     body: json(#"{"model":"nope:1b","messages":[{"role":"user","content":"hi"}]}"#)) { response async throws in
                #expect(response.status == .notFound)
                #expect(try decodeObject(response.body)["error"] as? String == #"model "nope:1b" not found, try pulling it first"#)
            }
            try await client.execute(uri: "/api/generate", method: .post, body: json(#"{"model":"nope:1b","prompt":"hi"}"#)) { response async throws in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/api/show", method: .post, body: json(#"{"model":"nope:1b"}"#)) { response async throws in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     body: json(#"{"model":"nope:1b","messages":[{"role":"user","content":"hi"}]}"#)) { response async throws in
                #expect(response.status == .notFound)
                let error = try #require(try decodeObject(response.body)["error"] as? [String: Any])
                #expect((error["message"] as? String)?.contains("nope:1b") == true)
                #expect(error["type"] as? String == "not_found_error")
            }
            try await client.execute(uri: "/v1/models/nope:1b", method: .get) { response async throws in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/api/delete", method: .delete, body: json(#"{"model":"nope:1b"}"#)) { response async throws in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func badFieldsAre400NamingTheField() async throws {
        try await withEmptyStoreServer { client in
            func expect400(_ uri: String, _ body: String, mentions: String,
                           sourceLocation: SourceLocation = #_sourceLocation) async throws {
                try await client.execute(uri: uri, method: .post, body: json(body)) { response async throws in
                    #expect(response.status == .badRequest, "\(body)", sourceLocation: sourceLocation)
                    let message = try decodeObject(response.body)["error"]
                    let text = (message as? String) ?? ((message as? [String: Any])?["message"] as? String) ?? ""
                    #expect(text.contains(mentions), "\(text)", sourceLocation: sourceLocation)
                }
            }
            try await expect400("/api/chat", #"{"model":"x","messages":[{"role":"user","content":"hi"}"#, mentions: "invalid JSON")
            try await expect400("/api/chat", #"{"messages":[]}"#, mentions: "'model'")
            try await expect400("/api/chat", #"{"model":"x","stream":"yes"}"#, mentions: "'stream'")
            try await expect400("/api/chat", #"{"model":"x","messages":[{"role":"user","content":"hi"}],"options":{"temperature":"hot"}}"#,
                                mentions: "options.temperature")
            try await expect400("/api/chat", #"{"model":"x","messages":[{"role":"user","content":"hi"}],"options":{"num_predict":1e30}}"#,
                                mentions: "options.num_predict")
            try await expect400("/api/chat", #"{"model":"x","messages":[{"role":"wizard","content":"hi"}]}"#, mentions: "messages[0].role")
            try await expect400("/api/chat", #"{"model":"x","messages":[{"role":"user","content":"hi"}],"format":"yaml"}"#, mentions: "'format'")
            try await expect400("/api/generate", #"{"model":"x","prompt":"hi","format":{"type":"object","not":{}}}"#, mentions: "'not'")
            try await expect400("/api/generate", #"{"model":"x","prompt":"hi","format":{"type":"array","uniqueItems":true}}"#, mentions: "uniqueItems")
            try await expect400("/api/chat", #"{"model":"x","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function"}]}"#,
                                mentions: "'tools[0]'")
            try await expect400("/v1/chat/completions", #"{"model":"x","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"sometimes"}"#,
                                mentions: "tool_choice")
            try await expect400("/v1/chat/completions", #"{"model":"x","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}"#,
                                mentions: "'g' is not one of the tools")
            try await expect400("/api/chat", #"{"model":"x","messages":[{"role":"user","content":"hi"}],"keep_alive":"soon"}"#,
                                mentions: "keep_alive")
            try await expect400("/api/generate", #"{"model":"x","prompt":"hi","options":{"top_p":5}}"#, mentions: "top-p")
            try await expect400("/api/generate", #"{"model":"x","prompt":"hi","logprobs":true,"top_logprobs":50}"#, mentions: "top_logprobs")
            try await expect400("/v1/chat/completions", #"{"model":"x","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"yaml"}}"#,
                                mentions: "'response_format.type'")
            try await expect400("/v1/chat/completions",
                                #"{"model":"x","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"string","format":"ipv6"}}}}"#,
                                mentions: "ipv6")
            try await expect400("/v1/chat/completions", #"{"model":"x","messages":[{"role":"user","content":"hi"}],"n":3}"#, mentions: "'n'")
            try await expect400("/v1/chat/completions", #"{"model":"x","messages":[{"role":"user","content":[{"type":"image_url"}]}]}"#,
                                mentions: "image_url")
            try await expect400("/api/chat", "", mentions: "missing request body")
        }
    }

    @Test func jsonIsReadWhateverTheContentType() async throws {
        try await withEmptyStoreServer { client in
            var headers = HTTPFields()
            headers[.contentType] = "application/x-www-form-urlencoded"
            try await client.execute(uri: "/api/show", method: .post, headers: headers, body: json(#"{"model":"nope:1b"}"#)) { response async throws in
                // Parsed as JSON: the model is looked up (404), not refused as a bad body (400).
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func bodyLimit() async throws {
        try await withEmptyStoreServer({ $0.maxBodySize = 1024 }) { client in
            let big = #"{"model":"x","prompt":""# + String(repeating: "a", count: 4096) + #""}"#
            try await client.execute(uri: "/api/generate", method: .post, body: json(big)) { response async throws in
                #expect(response.status == .contentTooLarge)
                #expect(try decodeObject(response.body)["error"] is String)
            }
        }
    }

    @Test func corsPreflightAllowedAndRefused() async throws {
        try await withEmptyStoreServer({ $0.extraOrigins = ["https://webui.example.com"] }) { client in
            func preflight(_ origin: String) -> HTTPFields {
                var h = HTTPFields()
                h[.origin] = origin
                h[.accessControlRequestMethod] = "POST"
                h[.accessControlRequestHeaders] = "content-type, authorization"
                return h
            }
            try await client.execute(uri: "/api/chat", method: .options, headers: preflight("http://localhost:3000")) { response async throws in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowOrigin] == "http://localhost:3000")
                #expect(response.headers[.accessControlAllowHeaders]?.contains("x-stainless-os") == true)
                #expect(response.headers[.accessControlAllowHeaders]?.contains("Authorization") == true)
            }
            try await client.execute(uri: "/api/chat", method: .options, headers: preflight("https://webui.example.com")) { response async throws in
                #expect(response.status == .noContent)
            }
            try await client.execute(uri: "/api/chat", method: .options, headers: preflight("http://evil.example.com")) { response async throws in
                #expect(response.status == .forbidden)
                #expect(response.headers[.accessControlAllowOrigin] == nil)
            }
            var simple = HTTPFields()
            simple[.origin] = "http://127.0.0.1:8080"
            try await client.execute(uri: "/api/version", method: .get, headers: simple) { response async throws in
                #expect(response.status == .ok)
                #expect(response.headers[.accessControlAllowOrigin] == "http://127.0.0.1:8080")
            }
        }
    }

    /// The HTTP-level check (a real `Host` header) is in the compatibility suite: the test client
    /// (AsyncHTTPClient) writes its own `Host`.
    @Test func hostCheckRules() {
        typealias Check = HostCheckMiddleware<BasicRequestContext>
        for host in ["localhost:11434", "127.0.0.1:11434", "[::1]:11434", "myhost.local", "app.localhost", "svc.internal",
                     "10.1.2.3", "192.168.0.1:80", "172.16.5.4", ""] {
            #expect(Check.isAllowed(Check.hostPart(host)), "\(host)")
        }
        for host in ["attacker.example.com", "evil.example:11434", "localhost.evil.example", "8.8.8.8", "172.32.0.1"] {
            #expect(!Check.isAllowed(Check.hostPart(host)), "\(host)")
        }
        #expect(Check.isLoopback("127.0.0.1") && Check.isLoopback("localhost") && !Check.isLoopback("0.0.0.0"))
    }

    @Test func apiKey() async throws {
        try await withEmptyStoreServer({ $0.apiKey = "s3cret" }) { client in
            try await client.execute(uri: "/api/tags", method: .get) { response async throws in
                #expect(response.status == .unauthorized)
            }
            var wrong = HTTPFields()
            wrong[.authorization] = "Bearer nope"
            try await client.execute(uri: "/v1/models", method: .get, headers: wrong) { response async throws in
                #expect(response.status == .unauthorized)
                #expect(try decodeObject(response.body)["error"] is [String: Any])
            }
            var right = HTTPFields()
            right[.authorization] = "Bearer s3cret"
            try await client.execute(uri: "/api/tags", method: .get, headers: right) { response async throws in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/", method: .get) { response async throws in #expect(response.status == .ok) }
        }
    }

    @Test func metricsExposition() async throws {
        try await withEmptyStoreServer { client in
            try await client.execute(uri: "/api/version", method: .get) { _ async throws in }
            try await client.execute(uri: "/metrics", method: .get) { response async throws in
                #expect(response.status == .ok)
                let body = text(response.body)
                for name in ["swiftlm_requests_total", "swiftlm_requests_running", "swiftlm_requests_queued", "swiftlm_models_loaded",
                             "swiftlm_kv_cache_tokens", "swiftlm_prompt_tokens_total", "swiftlm_generated_tokens_total"] {
                    #expect(body.contains(name), "\(name) missing")
                }
            }
        }
    }
}

@Suite struct ParsingTests {
    @Test func keepAliveForms() throws {
        #expect(try KeepAlive.parse(.string("5m")) == .duration(.seconds(300)))
        #expect(try KeepAlive.parse(.string("1h30m")) == .duration(.seconds(5400)))
        #expect(try KeepAlive.parse(.string("1.5s")) == .duration(.milliseconds(1500)))
        #expect(try KeepAlive.parse(.string("250ms")) == .duration(.milliseconds(250)))
        #expect(try KeepAlive.parse(.string("300")) == .duration(.seconds(300)))
        #expect(try KeepAlive.parse(.int(10)) == .duration(.seconds(10)))
        #expect(try KeepAlive.parse(.int(0)) == .unloadNow)
        #expect(try KeepAlive.parse(.string("0")) == .unloadNow)
        #expect(try KeepAlive.parse(.int(-1)) == .forever)
        #expect(try KeepAlive.parse(.string("-1m")) == .forever)
        #expect(throws: ServerError.self) { try KeepAlive.parse(.string("soon")) }
        #expect(throws: ServerError.self) { try KeepAlive.parse(.string("5 minutes")) }
        #expect(throws: ServerError.self) { try KeepAlive.parse(.bool(true)) }
    }

    @Test func hostForms() {
        #expect(ServerConfiguration.parseHost("0.0.0.0") == ("0.0.0.0", nil))
        #expect(ServerConfiguration.parseHost("127.0.0.1:8080") == ("127.0.0.1", 8080))
        #expect(ServerConfiguration.parseHost(":9000") == ("127.0.0.1", 9000))
        #expect(ServerConfiguration.parseHost("http://localhost:1234/") == ("localhost", 1234))
        #expect(ServerConfiguration.parseHost("[::1]:11434") == ("::1", 11434))
        let env = ["OLLAMA_HOST": "0.0.0.0:7777", "SWIFTLM_HOST": "127.0.0.2"]
        #expect(ServerConfiguration.hostFromEnvironment(env)?.host == "127.0.0.2")
        #expect(ServerConfiguration.hostFromEnvironment(["OLLAMA_HOST": "0.0.0.0:7777"])?.port == 7777)
        #expect(ServerConfiguration.originsFromEnvironment(["OLLAMA_ORIGINS": "a, b", "SWIFTLM_ORIGINS": "c"]) == ["a", "b", "c"])
    }

    @Test func originGlobs() {
        typealias CORS = OllamaCORSMiddleware<BasicRequestContext>
        let cors = CORS(extraOrigins: ["https://*.example.com"])
        #expect(cors.isAllowed("http://localhost"))
        #expect(cors.isAllowed("http://localhost:3000"))
        #expect(cors.isAllowed("https://127.0.0.1:8443"))
        #expect(cors.isAllowed("vscode-webview://abc"))
        #expect(cors.isAllowed("https://chat.example.com"))
        #expect(!cors.isAllowed("https://example.com.evil.org"))
        #expect(!cors.isAllowed("http://localhost.evil.org"))
        #expect(!cors.isAllowed("http://evil.org"))
    }

    @Test func duplicateKeysAreFound() {
        func dup(_ s: String) -> String? { RequestDecoding.firstDuplicateKey(Array(s.utf8)) }
        #expect(dup(#"{"model":"a","prompt":"x","model":5}"#) == "model")
        #expect(dup(#"{"a":{"b":1,"b":2}}"#) == "b")
        #expect(dup(#"{"a":[{"b":1},{"b":2}],"c":"a"}"#) == nil)
        #expect(dup(#"{"a":"\"a\"","b":{"a":1}}"#) == nil)
        #expect(dup(#"{"x\"y":1,"x\"y":2}"#) == #"x\"y"#)
    }

    @Test func jsonSerialization() throws {
        let value = object(("a", .string("x\"\n\u{1}é")), ("b", .double(0.5)), ("c", .int(3)), ("d", .null), ("e", nil))
        #expect(value.serialized == #"{"a":"x\"\n\u0001é","b":0.5,"c":3,"d":null}"#)
        let round = try JSONSerialization.jsonObject(with: value.data) as? [String: Any]
        #expect(round?["a"] as? String == "x\"\n\u{1}é")
    }
}
