import Foundation
import GGUF
import Template
import Testing
import TestSupport

@Suite struct ChatTemplateTests {
    static let chatML = """
    {% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}\
    {% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}
    """

    @Test func rendersMessagesWithGenerationPrompt() throws {
        let t = try ChatTemplate(source: Self.chatML)
        let out = try t.render(messages: [ChatMessage(role: "system", content: "Be nice."), ChatMessage(role: "user", content: "早上好")],
                               addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>")
        #expect(out == "<|im_start|>system\nBe nice.<|im_end|>\n<|im_start|>user\n早上好<|im_end|>\n<|im_start|>assistant\n")
        let closed = try t.render(messages: [ChatMessage(role: "user", content: "hi")], addGenerationPrompt: false, bosToken: "", eosToken: "")
        #expect(closed == "<|im_start|>user\nhi<|im_end|>\n")
    }

    @Test func passesToolCallsToolResultsToolsAndExtraVariables() throws {
        let source = """
        {{ bos_token }}{% for t in tools %}[{{ t.function.name }}]{% endfor %}{{ enable_thinking }}
        {% for m in messages %}{{ m.role }}:{% if m.tool_calls %}{% for c in m.tool_calls %}{{ c.id }} {{ c.type }} \
        {{ c.function.name }}{{ c.function.arguments | tojson }}{% endfor %}{% else %}{{ m.content }}{% endif %}\
        {% if m.tool_call_id is defined %}<{{ m.tool_call_id }}/{{ m.name }}>{% endif %}|{% endfor %}{{ eos_token }}
        """
        let messages = [
            ChatMessage(role: "user", content: "weather?"),
            ChatMessage(role: "assistant", content: "", toolCalls: [
                ChatToolCall(id: "c1", name: "get_weather", arguments: ["city": "Zürich", "days": 2]),
            ]),
            ChatMessage(role: "tool", content: "sunny", toolCallID: "c1", name: "get_weather"),
        ]
        let tool: TemplateValue = ["type": "function", "function": ["name": "get_weather", "parameters": [:]]]
        let out = try ChatTemplate(source: source).render(messages: messages, addGenerationPrompt: false, bosToken: "<s>",
                                                          eosToken: "</s>", tools: [tool], extra: ["enable_thinking": false])
        #expect(out == "<s>[get_weather]False\nuser:weather?|assistant:c1 function get_weather{\"city\": \"Zürich\", \"days\": 2}|tool:sunny<c1/get_weather>|</s>")
    }

    @Test func absentMessageFieldsAreUndefined() throws {
        let t = try ChatTemplate(source: "{{ messages[0].name is defined }}{{ messages[0].tool_calls is defined }}")
        #expect(try t.render(messages: [ChatMessage(role: "user", content: "x")], addGenerationPrompt: false, bosToken: "", eosToken: "") == "FalseFalse")
    }

    @Test func chatMessageCodableUsesSnakeCase() throws {
        let m = ChatMessage(role: "tool", content: "42", toolCallID: "abc", name: "calc")
        let json = try TemplateValue(json: "{\"role\":\"tool\",\"content\":\"42\",\"tool_call_id\":\"abc\",\"name\":\"calc\"}")
        #expect(m.templateValue == json)
    }

    @Test func chatMessageDecodesTheOpenAIShape() throws {
        let json = #"""
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
          "function": {"name": "get", "arguments": "{\"q\": 1}"}}]}
        """#
        let m = try JSONDecoder().decode(ChatMessage.self, from: Data(json.utf8))
        #expect(m == ChatMessage(role: "assistant", content: "", toolCalls: [ChatToolCall(id: "c1", name: "get", arguments: "{\"q\": 1}")]))
        let again = try JSONDecoder().decode(ChatMessage.self, from: try JSONEncoder().encode(m))
        #expect(again == m)
    }

    @Test func contextKeyOrderIsIrrelevantButObjectKeyOrderIsKept() throws {
        let t = try ChatTemplate(source: "{{ a | tojson }}{{ b }}")
        let v = try TemplateValue(json: "{\"z\": 1, \"a\": {\"y\": [1, 2.5, \"\\u00e9\\ud83d\\ude00\"], \"b\": null}}")
        #expect(try t.render(["b": "!", "a": v]) == "{\"z\": 1, \"a\": {\"y\": [1, 2.5, \"é😀\"], \"b\": null}}!")
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "tru", "\"unterminated", "1 2", "{\"a\": 1,}"])
    func badJSONIsAnError(_ text: String) {
        #expect(throws: TemplateError.self) { try TemplateValue(json: text) }
    }

    @Test func jsonRoundTripsThroughTojson() throws {
        let text = "{\"name\": \"x\", \"n\": -3, \"f\": 0.5, \"big\": 1e+20, \"ok\": true, \"list\": [], \"o\": {}, \"s\": \"a\\\"b\\\\c\\nd\\u0001\"}"
        #expect(try TemplateValue(json: text).jsonString == text)
    }

    // MARK: - Templates from model files

    func model(metadata: [(key: String, value: GGUFValue)]) throws -> (GGUFFile, () -> Void) {
        let dir = try makeTemporaryDirectory("template")
        let path = try GGUFWriter(metadata: [(GGUFKey.architecture, .string("llama")), (GGUFKey.name, .string("Tiny"))] + metadata)
            .write(to: dir.path + "/m.gguf")
        return (try GGUFFile(path: path), dir.cleanup)
    }

    @Test func readsTheModelsTemplateAndNamedVariants() throws {
        let (file, cleanup) = try model(metadata: [
            (GGUFKey.chatTemplate, .string("default {{ x }}")),
            (GGUFKey.chatTemplate(named: "tool_use"), .string("tools {{ x }}")),
            (GGUFKey.tokens, .array(.strings(["<unk>", "<s>", "</s>"]))),
            (GGUFKey.bosID, .uint32(1)),
            (GGUFKey.eosID, .uint32(2)),
        ])
        defer { cleanup() }
        #expect(try ChatTemplate.fromModel(file).render(["x": 1]) == "default 1")
        #expect(try ChatTemplate.fromModel(file, variant: "tool_use").render(["x": 2]) == "tools 2")
        #expect(throws: TemplateError.missingTemplate(model: "Tiny", variant: "rag")) { try ChatTemplate.fromModel(file, variant: "rag") }
        let tokens = ChatTemplate.specialTokens(of: file)
        #expect(tokens.bos == "<s>" && tokens.eos == "</s>")
    }

    @Test func aModelWithoutTemplateIsAnExplicitErrorThatNamesNoFlags() throws {
        let (file, cleanup) = try model(metadata: [])
        defer { cleanup() }
        #expect(throws: TemplateError.missingTemplate(model: "Tiny", variant: nil)) { try ChatTemplate.fromModel(file) }
        let message = TemplateError.missingTemplate(model: "Tiny", variant: nil).description
        // The library names no CLI flags: each command adds the advice that fits it.
        #expect(message.contains("Tiny has no chat template") && !message.contains("--"))
    }

    // MARK: - Real models

    static let conversation = [
        ChatMessage(role: "system", content: "You are a coding assistant."),
        ChatMessage(role: "user", content: "Write hello world in Swift."),
    ]

    @Test(.enabled(if: RealModels.shouldRun("qwen2.5-coder:0.5b")))
    func qwenCoderRendersItsOwnTemplate() throws {
        let file = try GGUFFile(path: try RealModels.path("qwen2.5-coder:0.5b"))
        let tokens = ChatTemplate.specialTokens(of: file)
        let out = try ChatTemplate.fromModel(file).render(messages: Self.conversation, addGenerationPrompt: true,
                                                          bosToken: tokens.bos ?? "", eosToken: tokens.eos ?? "")
        #expect(out == "<|im_start|>system\nYou are a coding assistant.<|im_end|>\n<|im_start|>user\nWrite hello world in Swift.<|im_end|>\n<|im_start|>assistant\n")
    }

    @Test(.enabled(if: RealModels.shouldRun("smollm2:135m")))
    func smolLMRendersItsOwnTemplate() throws {
        let file = try GGUFFile(path: try RealModels.path("smollm2:135m"))
        let out = try ChatTemplate.fromModel(file).render(messages: [ChatMessage(role: "user", content: "Hi")],
                                                          addGenerationPrompt: true, bosToken: "", eosToken: "")
        #expect(out == "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    }

    @Test(.enabled(if: RealModels.shouldRun("gemma3:270m")))
    func gemmaBaseModelHasNoTemplate() throws {
        let file = try GGUFFile(path: try RealModels.path("gemma3:270m"))
        #expect(throws: TemplateError.self) { try ChatTemplate.fromModel(file) }
    }
}
