import GGUF
import Kernels
import Models
import Testing
import TestSupport

/// Attention with a q8_0 cache and head size 64 rotates Q, K and V (``KVRotation``, as llama.cpp does): the
/// cache keeps every promise it made unrotated (batched equals solo, prefill equals decode), and keys with
/// outlier channels like qwen2's no longer cost the small channels their precision.
struct KVRotationModelTests {
    static let pool = ThreadPool(threads: 2)

    /// Head size 64, so a q8_0 cache is rotated (KVCacheTypeTests' models have 32: not rotated). With
    /// `outliers`, a qwen2's K and V biases put two channels of every head at 20-40x the others.
    static func model(_ arch: String, outliers: Bool = false) throws -> any LanguageModel {
        var tiny = TinyModel(arch: arch)
        tiny.embd = 128
        tiny.heads = 2
        tiny.kvHeads = 1
        tiny.headDim = 64
        tiny.slidingWindow = 8
        if outliers {
            var bias = (0 ..< 64).map { Float(($0 * 37) % 11) / 20 - 0.25 }
            bias[3] += 60
            bias[44] -= 40
            for l in 0 ..< tiny.layers {
                tiny.values[GGUFTensorName.block(l, .attnKBias)] = bias
                tiny.values[GGUFTensorName.block(l, .attnVBias)] = bias.reversed()
            }
        }
        return try tiny.load(pool: pool)
    }

    static func logits(_ model: any LanguageModel, _ type: KVCacheType, tokens: [Int32]) throws -> [Float] {
        try model.forward(tokens: tokens, positions: (0 ..< tokens.count).map(Int32.init),
                          cache: model.makeCache(capacity: tokens.count, type: type), outputRows: Array(0 ..< tokens.count))
    }

    /// Measured: unrotated (the code before the rotation) this model's q8_0 logits are 8.2% (max over rows,
    /// relative to the largest f32 logit) off its f32 ones, rotated 2.8%, f16 0.13%. The bound sits between the
    /// two q8_0 figures; a rotation left out on one side of the cache, or an output not rotated back, is off by
    /// far more than either.
    @Test func q8_0TracksF32DespiteOutlierChannels() throws {
        let model = try Self.model("qwen2", outliers: true)
        let toks = BatchedForwardTests.sequences([(0, 40)], vocab: model.info.vocabSize, seed: 23)[0].new
        let f32 = try Self.logits(model, .f32, tokens: toks)
        let scale = f32.map(abs).max()!
        func error(_ type: KVCacheType) throws -> Float {
            zip(try Self.logits(model, type, tokens: toks), f32).map { abs($0 - $1) }.max()! / scale
        }
        let e16 = try error(.f16), e8 = try error(.q8_0)
        // bf16 attention products (KVRows.bf16Arithmetic: q, k, the weights and v rounded to 8 bits) put f16 at
        // 0.78% here.
        #expect(e16 < (KVRows.bf16Arithmetic ? 2e-2 : 3e-3), "f16 relative error \(e16)")
        #expect(e8 > 0 && e8 < 0.05, "q8_0 relative error \(e8)")
    }

    @Test func rotatedCacheBatchedEqualsSolo() throws {
        for arch in ["qwen2", "gemma3"] {
            let model = try Self.model(arch, outliers: arch == "qwen2")
            // The last set's prompts are long enough for the rotations to be split over the pool.
            let sets = BatchedForwardTests.shapeSets + [[(history: 100, new: 1), (0, 150), (70, 90)]]
            for (i, shapes) in sets.enumerated() {
                try BatchedForwardTests.checkBatchEqualsAlone(
                    model, BatchedForwardTests.sequences(shapes, vocab: model.info.vocabSize, seed: UInt64(i + 31)),
                    label: "\(arch) q8_0 rotated x\(shapes.count)", cacheType: .q8_0)
            }
        }
    }

    @Test func rotatedCachePrefillEqualsDecode() throws {
        for arch in ["qwen2", "gemma3"] {
            let model = try Self.model(arch, outliers: arch == "qwen2")
            // 130 rows: the prefill's rotations run split over the pool, the decode's inline.
            let toks = BatchedForwardTests.sequences([(0, 130)], vocab: model.info.vocabSize, seed: 29)[0].new
            let whole = try model.makeCache(capacity: 130, type: .q8_0)
            let batch = try model.forward(tokens: toks, positions: (0 ..< 130).map(Int32.init), cache: whole, outputRows: [129])
            let steps = try model.makeCache(capacity: 130, type: .q8_0)
            var last: [Float] = []
            for (i, t) in toks.enumerated() {
                last = try model.forward(tokens: [t], positions: [Int32(i)], cache: steps, outputRows: [0])
            }
            #expect(batch == last, "\(arch) q8_0 rotated: prefill and decode differ")
        }
    }
}
