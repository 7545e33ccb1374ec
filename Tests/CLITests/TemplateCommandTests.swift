import Foundation
import GGUF
import Testing
import TestSupport

/// `swiftlm template (MODEL | --template FILE) --context FILE.json` prints exactly the rendered text.
@Suite struct TemplateCommandTests {
    /// A temporary directory with the given files written into it.
    func files(_ contents: [String: String]) throws -> (dir: String, cleanup: () -> Void) {
        let tmp = try makeTemporaryDirectory("template-cli")
        for (name, text) in contents { try Data(text.utf8).write(to: URL(fileURLWithPath: tmp.path + "/" + name)) }
        return (tmp.path, tmp.cleanup)
    }

    /// A header-only model with a chat template and BOS / EOS tokens.
    func tinyModel(in dir: String, template: String?) throws -> String {
        var metadata: [(key: String, value: GGUFValue)] = [
            (GGUFKey.architecture, .string("llama")),
            (GGUFKey.name, .string("Tiny")),
            (GGUFKey.tokens, .array(.strings(["<unk>", "<|begin|>", "<|end|>"]))),
            (GGUFKey.bosID, .uint32(1)),
            (GGUFKey.eosID, .uint32(2)),
        ]
        if let template { metadata.append((GGUFKey.chatTemplate, .string(template))) }
        return try GGUFWriter(metadata: metadata).write(to: dir + "/tiny.gguf")
    }

    static let chatML = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
        + "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"

    @Test func rendersATemplateFileExactlyWithoutTrailingNewline() throws {
        let (dir, cleanup) = try files([
            "t.jinja": Self.chatML,
            "c.json": #"{"messages": [{"role": "user", "content": "早上好 \"ok\""}], "add_generation_prompt": true}"#,
        ])
        defer { cleanup() }
        let r = try runSwiftLM(["template", "--template", dir + "/t.jinja", "--context", dir + "/c.json"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout == "<|im_start|>user\n早上好 \"ok\"<|im_end|>\n<|im_start|>assistant\n")
    }

    @Test func modelTemplateGetsTheModelsBosAndEosUnlessTheContextSetsThem() throws {
        let (dir, cleanup) = try files(["c.json": #"{"messages": [{"role": "user", "content": "x"}]}"#,
                                        "d.json": #"{"messages": [], "bos_token": "B", "eos_token": "E"}"#])
        defer { cleanup() }
        let model = try tinyModel(in: dir, template: "{{ bos_token }}|{{ messages | length }}|{{ eos_token }}")
        let r = try runSwiftLM(["template", model, "--context", dir + "/c.json"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout == "<|begin|>|1|<|end|>")
        let d = try runSwiftLM(["template", model, "--context", dir + "/d.json"])
        #expect(d.stdout == "B|0|E")
    }

    @Test func readsTheContextFromStandardInputAndPinsTheClock() throws {
        let (dir, cleanup) = try files(["t.jinja": "{{ strftime_now('%d %B %Y') }} {{ who }}"])
        defer { cleanup() }
        let r = try runSwiftLM(["template", "--template", dir + "/t.jinja", "--context", "-"],
                               env: ["SWIFTLM_TEMPLATE_NOW": "1768480496"], stdin: #"{"who": "me"}"#)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout == "15 January 2026 me")
    }

    @Test func aModelWithoutTemplateFailsPointingToTemplateNotRaw() throws {
        let (dir, cleanup) = try files(["c.json": #"{"messages": []}"#])
        defer { cleanup() }
        let r = try runSwiftLM(["template", try tinyModel(in: dir, template: nil), "--context", dir + "/c.json"])
        #expect(r.status != 0)
        #expect(r.stdout.isEmpty)
        #expect(r.status == 1)
        #expect(r.stderr.contains("no chat template") && r.stderr.contains("--template FILE"))
        #expect(!r.stderr.contains("--raw"), "template has no --raw: \(r.stderr)")
    }

    @Test func templateErrorsAreReportedWithPositionAndTheTemplatesMessage() throws {
        let (dir, cleanup) = try files([
            "raise.jinja": "ok\n{{ raise_exception('Roles must alternate') }}",
            "syntax.jinja": "{% if x %}unclosed",
            "c.json": "{}",
            "bad.json": #"{"messages": ["#,
        ])
        defer { cleanup() }
        let raised = try runSwiftLM(["template", "--template", dir + "/raise.jinja", "--context", dir + "/c.json"])
        #expect(raised.status != 0 && raised.stdout.isEmpty)
        #expect(raised.stderr.contains("Roles must alternate") && raised.stderr.contains("line 2"))
        let syntax = try runSwiftLM(["template", "--template", dir + "/syntax.jinja", "--context", dir + "/c.json"])
        #expect(syntax.status != 0 && syntax.stderr.contains("line 1"))
        let json = try runSwiftLM(["template", "--template", dir + "/raise.jinja", "--context", dir + "/bad.json"])
        #expect(json.status != 0 && json.stderr.contains("JSON"))
        let neither = try runSwiftLM(["template", "--context", dir + "/c.json"])
        #expect(neither.status != 0)
    }

    @Test(.enabled(if: RealModels.shouldRun("qwen2.5-coder:0.5b")))
    func rendersTheDefaultModelsOwnTemplateWithTools() throws {
        _ = try RealModels.path("qwen2.5-coder:0.5b")
        let context = #"""
        {"messages": [{"role": "user", "content": "Weather in Paris?"},
                      {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
                      {"role": "tool", "content": "sunny"}],
         "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
         "add_generation_prompt": true}
        """#
        let r = try runSwiftLM(["template", "qwen2.5-coder:0.5b", "--context", "-"], stdin: context)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        // Checked against transformers-configured jinja2 with the model's tokenizer.chat_template.
        #expect(r.stdout == """
        <|im_start|>system
        You are Qwen, created by Alibaba Cloud. You are a helpful assistant.

        # Tools

        You may call one or more functions to assist with the user query.

        You are provided with function signatures within <tools></tools> XML tags:
        <tools>
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
        </tools>

        For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
        <tool_call>
        {"name": <function-name>, "arguments": <args-json-object>}
        </tool_call><|im_end|>
        <|im_start|>user
        Weather in Paris?<|im_end|>
        <|im_start|>assistant
        <tool_call>
        {"name": "get_weather", "arguments": {"city": "Paris"}}
        </tool_call><|im_end|>
        <|im_start|>user
        <tool_response>
        sunny
        </tool_response><|im_end|>
        <|im_start|>assistant

        """)
    }
}
