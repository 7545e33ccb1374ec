import Foundation
import Kernels
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
        var llama_perplexity_default: Double?
    }

    @Test(arguments: ["smollm2:135m", "qwen2.5-coder:0.5b", "gemma3:270m"])
    func matchesLlamaPerplexity(model name: String) async throws {
        guard try RealModels.pathOrSkip(name) != nil else { return }
        let all = try JSONDecoder().decode([String: Expected].self, from: Data(contentsOf: fixtureURL("perplexity-expected", "json")))
        let expected = try #require(all[name])
        let text = try String(contentsOf: fixtureURL("perplexity", "txt"), encoding: .utf8)
        let model = try await ModelCache.shared.model(name)
        let context = try InferenceContext(model: model, contextLength: expected.ctx, kvType: .f32)
        let tokens = model.tokenizer.encode(text, addSpecial: true, parseSpecial: false)
        let result = try context.perplexity(tokens: tokens)
        #expect(result.tokens == expected.tokens)
        #expect(result.chunks == expected.chunks)
        // The nearer of llama.cpp's two runs: F32 KV without flash attention (SwiftLM's configuration) and its
        // defaults (F16 KV, flash attention). On these 504 scored tokens last-bit changes swing a model by more
        // than the bound, and the two runs bracket that noise: gemma3's default run is 2.4% below its F32 one, and
        // SwiftLM's gemma3 went from -1.43% to -2.54% of the F32 run (-0.15% of the default one) when softmax's
        // exponential went from double to float, while with that change (and bf16 weighted sums) its F16 value on the
        // 38K-token text of scripts/perplexity-vs-llamacpp moved 0.02%. The interleaved Q5_0 kernel (issue 10), one
        // float rounding fewer per block, had moved it from +0.42% to -1.19%.
        let runs = [expected.llama_perplexity ?? expected.perplexity] + (expected.llama_perplexity_default.map { [$0] } ?? [])
        let reference = runs.min { abs(result.perplexity / $0 - 1) < abs(result.perplexity / $1 - 1) }!
        let tolerance = name == "gemma3:270m" ? 0.015 : 0.01
        #expect(abs(result.perplexity / reference - 1) < tolerance, "SwiftLM \(result.perplexity), llama.cpp \(reference)")
    }

    /// llama-perplexity -ctk T -ctv T per KV cache type on the long text (Fixtures/perplexity-kv-expected.json,
    /// made by scripts/make-perplexity-fixtures.py --kv-types --ctx 512), flash attention off and on.
    struct KVExpected: Decodable {
        var ctx: Int
        var f32: [String: Double]
        var f16: [String: Double]
        var q8_0: [String: Double]
        func runs(_ type: KVCacheType) -> [Double] {
            Array((type == .f32 ? f32 : type == .f16 ? f16 : q8_0).values)
        }
    }

    /// SwiftLM's perplexity with each KV cache type against llama.cpp's with the same type, on the GPL 3
    /// text (Fixtures/perplexity-long.txt: 14 chunks of 512, 3570 scored tokens). On the short text a last-bit
    /// change in one kernel moves smollm2 by 1-2% (llama.cpp's own two attention paths of one type land
    /// 0.2-2.4% apart there), so it could not tell issue 9's 0.2% from noise. On this text the noise is
    /// smaller but not below 0.2%: llama.cpp's two paths for one type differ by up to 0.26% (qwen f16), and
    /// SwiftLM's own last-bit changes moved it by up to 0.38% (another summation order in the f16 attention
    /// scores: qwen f16 5.3106 -> 5.2930; a float exp in softmax: smollm2 q8_0 +0.38%). A type passes within
    /// 0.75% of one of llama.cpp's runs of that type, their sum with margin; a broken conversion misses by
    /// several percent (an unrotated q8_0 cache moved qwen2.5-coder by 4%). Per-run figures in
    /// docs/PERFORMANCE.md.
    @Test(arguments: ["smollm2:135m", "qwen2.5-coder:0.5b", "gemma3:270m"])
    func matchesLlamaPerplexityPerKVType(model name: String) async throws {
        guard try RealModels.pathOrSkip(name) != nil else { return }
        let all = try JSONDecoder().decode([String: KVExpected].self,
                                           from: Data(contentsOf: fixtureURL("perplexity-kv-expected", "json")))
        let expected = try #require(all[name])
        let text = try String(contentsOf: fixtureURL("perplexity-long", "txt"), encoding: .utf8)
        let model = try await ModelCache.shared.model(name)
        let tokens = model.tokenizer.encode(text, addSpecial: true, parseSpecial: false)
        for type in KVCacheType.allCases {
            let context = try InferenceContext(model: model, contextLength: expected.ctx, kvType: type)
            #expect(context.kvType == type)
            let ppl = try context.perplexity(tokens: tokens).perplexity
            let references = expected.runs(type)
            #expect(!references.isEmpty)
            let closest = references.map { abs(ppl / $0 - 1) }.min() ?? .infinity
            #expect(closest < 0.0075, "\(name) \(type): SwiftLM \(ppl), llama.cpp \(references)")
        }
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
