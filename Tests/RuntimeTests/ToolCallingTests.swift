import Foundation
import Runtime
import SwiftLM
import Template
import TestSupport
import Testing

/// scripts/make-tool-fixtures.py: qwen2.5-coder:0.5b's template rendered by jinja2 with a weather tool,
/// and llama.cpp's greedy reply to the first turn.
enum ToolFixture {
    static let value: TemplateValue = {
        let url = Bundle.module.url(forResource: "Fixtures/tools-qwen2.5-coder-0.5b", withExtension: "json")!
        return try! TemplateValue(jsonData: Array(try! Data(contentsOf: url)))
    }()

    static var tools: [TemplateValue] {
        guard case let .array(t)? = value["tools"] else { return [] }
        return t
    }

    static func prompt(_ turn: String) -> String { value["turns"]?[turn]?["prompt"]?.stringValue ?? "" }

    /// The turn's messages as the library takes them (keys in the fixture's order).
    static func messages(_ turn: String) -> [ChatMessage] {
        guard case let .array(list)? = value["turns"]?[turn]?["messages"] else { return [] }
        return list.map { m in
            var calls: [ChatToolCall]?
            if case let .array(c)? = m["tool_calls"] {
                calls = c.map { ChatToolCall(id: $0["id"]?.stringValue, name: $0["function"]?["name"]?.stringValue ?? "",
                                             arguments: $0["function"]?["arguments"] ?? .null) }
            }
            return ChatMessage(role: m["role"]?.stringValue ?? "", content: m["content"]?.stringValue ?? "", toolCalls: calls,
                               toolCallID: m["tool_call_id"]?.stringValue, name: m["name"]?.stringValue)
        }
    }
}

private let qwen = "qwen2.5-coder:0.5b"

@Suite(.serialized, .enabled(if: RealModels.shouldRun(qwen))) struct ToolCallingTests {
    static func session() throws -> ChatSession {
        let model = try LoadedModel(path: try RealModels.path(qwen), threads: 2, name: qwen)
        var options = GenerationOptions(sampling: .greedy, maxTokens: 96)
        options.sampling.seed = 42
        return try model.chat(options: options, contextLength: 2048)
    }

    /// The library renders tools (and past calls and results) byte for byte as transformers + jinja2 do.
    @Test func rendersToolsLikeJinja2() throws {
        let session = try Self.session()
        #expect(session.toolCallFormat == .hermes)
        session.tools = ToolFixture.tools
        for turn in ["first", "after_call"] {
            #expect(try session.promptText(for: ToolFixture.messages(turn)) == ToolFixture.prompt(turn), "\(turn)")
        }
        var withSystem = ToolFixture.messages("with_system")
        session.system = withSystem.removeFirst().content
        #expect(try session.promptText(for: withSystem) == ToolFixture.prompt("with_system"))
    }

    /// A weather question gives a parsed call (the one llama.cpp's greedy decoding gives), no markup
    /// in the text, and the result sent back gives an answer that uses it.
    @Test func roundTrip() async throws {
        let session = try Self.session()
        session.tools = ToolFixture.tools
        var texts: [String] = []
        var calls: [ChatToolCall] = []
        var stats: GenerationStats?
        for try await event in session.send("What is the weather like in Paris today?") {
            switch event {
            case let .text(t): texts.append(t)
            case let .toolCall(c): calls.append(c)
            case let .done(s): stats = s
            case .logprobs: break
            }
        }
        #expect(stats?.doneReason == .stop)
        #expect(!texts.joined().contains("{"), "markup leaked as text: \(texts)")
        var parser = ToolCallParser(format: .hermes)
        let reference = parser.feed(ToolFixture.value["llama_cpp_first_reply"]?.stringValue ?? "") + parser.finish()
        #expect(calls.map(\.name) == ["get_weather"])
        #expect(calls.map { ToolCallEvent.call(ChatToolCall(name: $0.name, arguments: $0.arguments)) }
            == reference.map { guard case let .call(c) = $0 else { return $0 }; return .call(ChatToolCall(name: c.name, arguments: c.arguments)) })
        #expect(calls.first?.arguments["city"] == "Paris")
        let call = try #require(calls.first)
        #expect(call.id?.hasPrefix("call_") == true)

        // The history holds the call as the template expects it.
        let history = session.messages
        #expect(history.last?.role == "assistant")
        #expect(history.last?.toolCalls == calls)

        let answer = try await session.send(toolResults: [.toolResult(for: call, content: #"{"temperature": 21, "condition": "sunny"}"#)]).reply()
        // qwen2.5-coder:0.5b, greedy, repeats the call before it states the result (llama.cpp's greedy
        // reply to the same prompt does too): the result must reach the answer's text.
        #expect(answer.toolCalls.allSatisfy { $0.name == "get_weather" })
        #expect(answer.text.contains("21"), "answer: \(answer.text)")
        #expect(session.messages.map(\.role) == ["user", "assistant", "tool", "assistant"])
        // The next turn's prompt is the jinja2 rendering of the same conversation (ids aside).
        var rendered = session.messages.dropLast().map { $0 }
        rendered[1].toolCalls = rendered[1].toolCalls?.map { var c = $0; c.id = "call_0"; return c }
        rendered[2].toolCallID = "call_0"
        #expect(try session.promptText(for: rendered).hasPrefix(ToolFixture.prompt("first")))
    }

    /// `tool_choice` required / named: the call markup is written for the model, which continues it.
    @Test func forcedCall() async throws {
        let session = try Self.session()
        session.tools = ToolFixture.tools
        session.toolChoice = .function("get_weather")
        #expect(try session.promptText(for: [ChatMessage(role: "user", content: "Hi")])
            .hasSuffix("<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "))
        let reply = try await session.send("Is it raining in Oslo?").reply()
        #expect(reply.toolCalls.map(\.name) == ["get_weather"])
        #expect(reply.toolCalls.first?.arguments["city"] == "Oslo")
        session.toolChoice = .function("nope")
        await #expect(throws: RuntimeError.self) { _ = try await session.send("Hi").reply() }
        session.toolChoice = .none
        #expect(try !session.promptText(for: [ChatMessage(role: "user", content: "Hi")]).contains("<tools>"))
    }

    /// `tool_choice` required at temperature 0.8 on a question no tool answers: the call is still one of
    /// the tools, with arguments that match its schema (the forced call's grammar), for every seed.
    @Test func forcedCallArgumentsFollowTheSchema() async throws {
        let session = try Self.session()
        session.tools = ToolFixture.tools
        session.toolChoice = .required
        for seed: UInt64 in [1, 2, 3] {
            session.clear()
            var options = session.options
            options.sampling = SamplingOptions(temperature: 0.8, seed: seed)
            session.options = options
            let reply = try await session.send("Tell me a joke about databases.").reply()
            #expect(reply.toolCalls.count == 1, "seed \(seed): \(reply)")
            guard let call = reply.toolCalls.first, case let .object(arguments) = call.arguments else { continue }
            #expect(call.name == "get_weather")
            #expect(arguments["city"]?.stringValue != nil, "seed \(seed): \(call.arguments)")
            #expect(Set(arguments.keys).isSubset(of: ["city", "unit"]), "seed \(seed): \(call.arguments)")
            if let unit = arguments["unit"] { #expect(["celsius", "fahrenheit"].contains(unit.stringValue ?? "")) }
            #expect(reply.text.isEmpty, "seed \(seed): \(reply.text)")
        }
    }

    @Test func modelWithoutToolSupportSaysSo() async throws {
        let path = try RealModels.path("smollm2:135m")
        let model = try LoadedModel(path: path, threads: 2, name: "smollm2:135m")
        let session = try model.chat()
        #expect(session.toolCallFormat == nil)
        session.tools = ToolFixture.tools
        await #expect(throws: RuntimeError.toolsUnsupported(model: "smollm2:135m")) { _ = try await session.send("Hi").reply() }
    }
}
