import Foundation
import Grammar
import SwiftLM
import TestSupport
import Testing

/// Loaded models shared by this suite's tests.
actor Models {
    static let shared = Models()
    private var models: [String: LoadedModel] = [:]

    func model(_ name: String) throws -> LoadedModel {
        if let m = models[name] { return m }
        let m = try LoadedModel(path: try RealModels.path(name), threads: 2, name: name)
        models[name] = m
        return m
    }
}

func generate(_ model: LoadedModel, prompt: String, format: OutputFormat, maxTokens: Int, seed: UInt64) async throws -> (String, GenerationStats) {
    let options = GenerationOptions(sampling: SamplingOptions(temperature: 0.8, seed: seed), maxTokens: maxTokens, format: format)
    var text = ""
    var stats = GenerationStats()
    for try await event in try model.complete(prompt, options: options, contextLength: 1024) {
        switch event {
        case let .text(t): text += t
        case let .done(s): stats = s
        case .logprobs, .toolCall: break
        }
    }
    return (text, stats)
}

/// Real generation under grammars: every llama.cpp example grammar drives smollm2, and the output is
/// checked by the independent Earley recognizer; JSON schemas drive qwen2.5-coder and the output parses.
@Suite(.serialized) struct GenerationTests {
    static let prompts: [String: String] = [
        "arithmetic.gbnf": "Write an equation: ", "c.gbnf": "A C function:\n", "chess.gbnf": "A chess game in algebraic notation:\n",
        "english.gbnf": "Describe the sea:", "japanese.gbnf": "日本語で海について書いてください：", "json.gbnf": "A JSON object describing a cat: ",
        "json_arr.gbnf": "A JSON list of three animals: ", "list.gbnf": "A shopping list:\n",
    ]

    @Test(.enabled(if: RealModels.shouldRun("smollm2:135m")))
    func everyLlamaCppGrammarGenerates() async throws {
        let model = try await Models.shared.model("smollm2:135m")
        for name in try GrammarFixtures.names() {
            let source = try GrammarFixtures.text(name)
            let (text, stats) = try await generate(model, prompt: Self.prompts[name] ?? "Text:", format: .grammar(source), maxTokens: 48, seed: 7)
            let earley = EarleyRecognizer(try GBNFParser.parse(source))
            #expect(earley.recognizes(text), "\(name) (\(stats.doneReason), \(stats.generatedTokens) tokens): \(text.debugDescription)")
            #expect(stats.generatedTokens <= 48)
        }
    }

    @Test(.enabled(if: RealModels.shouldRun("qwen2.5-coder:0.5b")))
    func schemaOutputParsesOnQwen() async throws {
        let model = try await Models.shared.model("qwen2.5-coder:0.5b")
        let schema = #"{"type":"object","properties":{"city":{"type":"string","maxLength":20},"population":{"type":"integer","minimum":0},"founded":{"type":"string","format":"date"},"districts":{"type":"array","items":{"type":"string"},"minItems":1,"maxItems":3}},"required":["city","population","founded","districts"],"additionalProperties":false}"#
        for seed: UInt64 in [1, 2] {
            let (text, stats) = try await generate(model, prompt: "Describe Paris as JSON: ", format: .jsonSchema(schema), maxTokens: 80, seed: seed)
            let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            #expect(object?["city"] is String, "\(text)")
            #expect((object?["districts"] as? [Any])?.isEmpty == false, "\(text)")
            #expect(stats.generatedTokens <= 80)
        }
        let (json, _) = try await generate(model, prompt: "Any JSON: ", format: .json, maxTokens: 40, seed: 3)
        #expect(try JSONSerialization.jsonObject(with: Data(json.utf8)) is [String: Any], "\(json)")
    }
}
