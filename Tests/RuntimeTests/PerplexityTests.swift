import Foundation
import Runtime
import Testing
import TestSupport

/// Perplexity against llama-perplexity's value on the same text and ctx
/// (Fixtures/perplexity-expected.json, made by scripts/make-perplexity-fixtures.py), in llama.cpp's exact
/// configuration: F32 KV cache and no flash attention, like SwiftLM.
@Suite(.serialized) struct PerplexityTests {
    struct Expected: Decodable {
        var ctx: Int
        var tokens: Int
        var chunks: Int
        var perplexity: Double
        var llama_perplexity: Double?
    }

    @Test(arguments: ["smollm2:135m", "qwen2.5-coder:0.5b", "gemma3:270m"])
    func matchesLlamaPerplexity(model name: String) async throws {
        guard try RealModels.pathOrSkip(name) != nil else { return }
        let all = try JSONDecoder().decode([String: Expected].self, from: Data(contentsOf: fixtureURL("perplexity-expected", "json")))
        let expected = try #require(all[name])
        let text = try String(contentsOf: fixtureURL("perplexity", "txt"), encoding: .utf8)
        let model = try await ModelCache.shared.model(name)
        let context = try InferenceContext(model: model, contextLength: expected.ctx)
        let tokens = model.tokenizer.encode(text, addSpecial: true, parseSpecial: false)
        let result = try context.perplexity(tokens: tokens)
        #expect(result.tokens == expected.tokens)
        #expect(result.chunks == expected.chunks)
        let reference = expected.llama_perplexity ?? expected.perplexity
        // gemma3 swings most with last-bit changes (llama.cpp's own F16-KV / flash-attention run lands 2.4%
        // below its F32 one): the interleaved Q5_0 kernel (issue 10), which sums the same integer products
        // with one float rounding fewer per block, moved SwiftLM from +0.42% to -1.19%.
        let tolerance = name == "gemma3:270m" ? 0.015 : 0.01
        #expect(abs(result.perplexity / reference - 1) < tolerance, "SwiftLM \(result.perplexity), llama.cpp \(reference)")
    }

    @Test func tooShortTextIsAnError() async throws {
        guard try RealModels.pathOrSkip("smollm2:135m") != nil else { return }
        let model = try await ModelCache.shared.model("smollm2:135m")
        let context = try InferenceContext(model: model, contextLength: 128)
        #expect(throws: RuntimeError.notEnoughText(tokens: 3, needed: 256, context: 128)) {
            _ = try context.perplexity(tokens: [1, 2, 3])
        }
    }
}
