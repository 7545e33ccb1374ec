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
        let reference = expected.llama_perplexity ?? expected.perplexity
        // gemma3 swings most with last-bit changes (llama.cpp's own F16-KV / flash-attention run lands 2.4%
        // below its F32 one): the interleaved Q5_0 kernel (issue 10), which sums the same integer products
        // with one float rounding fewer per block, moved SwiftLM from +0.42% to -1.19%.
        let tolerance = name == "gemma3:270m" ? 0.015 : 0.01
        #expect(abs(result.perplexity / reference - 1) < tolerance, "SwiftLM \(result.perplexity), llama.cpp \(reference)")
    }

    /// llama-perplexity -ctk T -ctv T per KV cache type (Fixtures/perplexity-kv-expected.json, made by
    /// scripts/make-perplexity-fixtures.py --kv-types), flash attention off and on.
    struct KVExpected: Decodable {
        var ctx: Int
        var f32: [String: Double]
        var f16: [String: Double]
        var q8_0: [String: Double]
        func runs(_ type: KVCacheType) -> [Double] {
            Array((type == .f32 ? f32 : type == .f16 ? f16 : q8_0).values)
        }
    }

    /// SwiftLM's perplexity with each KV cache type against llama.cpp's with the same type.
    ///
    /// 0.2% is below llama.cpp's own spread on this text: its two attention paths for one type (flash
    /// attention off: Q rounded to the K type, probabilities to f16; on: online softmax, f16 V sums) land
    /// 0.2-2.4% apart (gemma3 the most), and SwiftLM's f32 baseline already sits 0.1-1.2% from llama.cpp's.
    /// So a type passes when SwiftLM is within 1.0% (gemma3: 2.5%) of one of llama.cpp's runs of that
    /// type: 1.0% is llama.cpp's own spread when its matmul outputs move by one ulp (+0.4..+1.0%, see
    /// PERFORMANCE.md's accuracy section), which a change of float summation order in a kernel does
    /// (the packed Q4_K/Q6_K tiles moved qwen's f16 and q8_0 runs from 0.5% to 0.85-0.88%). The
    /// per-run figures are in docs/PERFORMANCE.md. A broken conversion misses by far more
    /// (q8_0 alone moves qwen2.5-coder by 6.4% in both engines). gemma3's bound is llama.cpp's own 2.4%
    /// spread there: the packed Q8_0 tile (its tied output and half of attn_v; same integer products,
    /// another float summation order) moved its q8_0-cache run from +0.2% to -1.7% of llama.cpp's only
    /// q8_0 run (flash attention on), its f32 and f16 runs by 0.2% and 0.1%.
    @Test(arguments: ["smollm2:135m", "qwen2.5-coder:0.5b", "gemma3:270m"])
    func matchesLlamaPerplexityPerKVType(model name: String) async throws {
        guard try RealModels.pathOrSkip(name) != nil else { return }
        let all = try JSONDecoder().decode([String: KVExpected].self,
                                           from: Data(contentsOf: fixtureURL("perplexity-kv-expected", "json")))
        let expected = try #require(all[name])
        let text = try String(contentsOf: fixtureURL("perplexity", "txt"), encoding: .utf8)
        let model = try await ModelCache.shared.model(name)
        let tokens = model.tokenizer.encode(text, addSpecial: true, parseSpecial: false)
        let tolerance = name == "gemma3:270m" ? 0.025 : 0.010
        for type in KVCacheType.allCases {
            let context = try InferenceContext(model: model, contextLength: expected.ctx, kvType: type)
            #expect(context.kvType == type)
            let ppl = try context.perplexity(tokens: tokens).perplexity
            let references = expected.runs(type)
            #expect(!references.isEmpty)
            let closest = references.map { abs(ppl / $0 - 1) }.min() ?? .infinity
            #expect(closest < tolerance, "\(name) \(type): SwiftLM \(ppl), llama.cpp \(references)")
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
