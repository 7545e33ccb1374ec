import GGUF
import Kernels
import Models
import Testing
import TestSupport

/// f16 and q8_0 KV caches keep every promise the f32 cache makes: batched equals solo bit for bit,
/// prefill equals token-by-token decode, copied prefixes and wrapped sliding-window rings continue
/// exactly, and they take half (f16) or 34/128 (q8_0) of the f32 bytes.
struct KVCacheTypeTests {
    static let pool = ThreadPool(threads: 2)
    static let stored: [KVCacheType] = [.f16, .q8_0]

    /// Head size 32, so q8_0 (whole 32-value blocks) can store the rows.
    static func model(_ arch: String, window: Int = 8) throws -> any LanguageModel {
        var tiny = TinyModel(arch: arch)
        tiny.embd = 64
        tiny.heads = 2
        tiny.kvHeads = 1
        tiny.headDim = 32
        tiny.slidingWindow = window
        return try tiny.load(pool: pool)
    }

    @Test(arguments: stored)
    func batchedEqualsSolo(type: KVCacheType) throws {
        for arch in ["llama", "gemma3"] {
            let model = try Self.model(arch)
            let vocab = model.info.vocabSize
            for (count, seed) in [(1, 3), (3, 4), (8, 5)] as [(Int, UInt64)] {
                // Mixed decode rows (new = 1) and prompt chunks, at different depths.
                let shapes = (0 ..< count).map { i in (history: [0, 5, 17, 30, 2, 9, 40, 1][i], new: [1, 6, 1, 11, 3, 1, 7, 2][i]) }
                try BatchedForwardTests.checkBatchEqualsAlone(model, BatchedForwardTests.sequences(shapes, vocab: vocab, seed: seed),
                                                              label: "\(arch) \(type) x\(count)", cacheType: type)
            }
        }
    }

    /// Prompts longer than a chunk, histories past the ring (window 8 + 512 slots), in one batch.
    @Test(arguments: stored)
    func batchedEqualsSoloAcrossChunksAndWrappedRings(type: KVCacheType) throws {
        let model = try Self.model("gemma3")
        let shapes = [(history: 1100, new: 1), (0, 300), (700, 260), (3, 1)]
        try BatchedForwardTests.checkBatchEqualsAlone(model, BatchedForwardTests.sequences(shapes, vocab: model.info.vocabSize, seed: 9),
                                                      label: "gemma3 \(type) across chunks", cacheType: type)
    }

    /// One prefill gives bit-identical logits to decoding token by token: both store the same rows.
    @Test(arguments: stored)
    func prefillEqualsDecode(type: KVCacheType) throws {
        for arch in ["llama", "qwen2", "gemma3"] {
            let model = try Self.model(arch, window: 4)
            let toks = BatchedForwardTests.sequences([(0, 20)], vocab: model.info.vocabSize, seed: 11)[0].new
            let whole = try model.makeCache(capacity: 20, type: type)
            let batch = try model.forward(tokens: toks, positions: (0 ..< 20).map(Int32.init), cache: whole, outputRows: [19])
            let steps = try model.makeCache(capacity: 20, type: type)
            var last: [Float] = []
            for (i, t) in toks.enumerated() {
                last = try model.forward(tokens: [t], positions: [Int32(i)], cache: steps, outputRows: [0])
            }
            #expect(batch == last, "\(arch) \(type): prefill and decode differ")
        }
    }

    /// The stored types stay close to f32 (a wrong conversion would not), and q8_0 no closer than f16.
    @Test func storedTypesTrackF32() throws {
        let model = try Self.model("llama")
        let toks = BatchedForwardTests.sequences([(0, 24)], vocab: model.info.vocabSize, seed: 13)[0].new
        func logits(_ type: KVCacheType) throws -> [Float] {
            try model.forward(tokens: toks, positions: (0 ..< 24).map(Int32.init), cache: model.makeCache(capacity: 24, type: type),
                              outputRows: [23])
        }
        let f32 = try logits(.f32), f16 = try logits(.f16), q8 = try logits(.q8_0)
        let scale = f32.map(abs).max()!
        let e16 = zip(f16, f32).map { abs($0 - $1) }.max()! / scale, e8 = zip(q8, f32).map { abs($0 - $1) }.max()! / scale
        // bf16 attention products (KVRows.bf16Arithmetic: q, k, the weights and v rounded to 8 significant bits)
        // put this tiny model's f16 logits 0.52% off (0.1% bound with f32 products); real models' perplexity
        // moves under 0.05% (scripts/perplexity-vs-llamacpp).
        #expect(e16 > 0 && e16 < (KVRows.bf16Arithmetic ? 1e-2 : 1e-3), "f16 relative error \(e16)")
        #expect(e8 > 0 && e8 < 2e-2, "q8_0 relative error \(e8)")
    }

    /// copyPrefix and truncate work on stored bytes of any type, rings included.
    @Test(arguments: stored)
    func copiedAndTruncatedCachesContinueExactly(type: KVCacheType) throws {
        let model = try Self.model("gemma3")
        let toks = BatchedForwardTests.sequences([(0, 1200)], vocab: model.info.vocabSize, seed: 5)[0].new
        func filled(_ count: Int, capacity: Int = 1300) throws -> KVCache {
            let cache = try model.makeCache(capacity: capacity, type: type)
            _ = try model.forward(tokens: Array(toks[..<count]), positions: (0 ..< count).map(Int32.init), cache: cache, outputRows: [])
            return cache
        }
        func next(_ cache: KVCache) throws -> [Float] {
            try model.forward(tokens: [7], positions: [Int32(cache.count)], cache: cache, outputRows: [0])
        }
        let source = try filled(1200)
        for (count, capacity) in [(1000, 1300), (1100, 2048)] {
            let copy = try model.makeCache(capacity: capacity, type: type)
            #expect(copy.copyPrefix(from: source, count: count) == count)
            #expect(try next(copy) == next(try filled(count)), "\(type): copy of \(count) positions")
        }
        let rewound = try filled(1200)
        #expect(rewound.truncate(to: 1150) == 1150)
        #expect(try next(rewound) == next(try filled(1150)), "\(type): truncated cache")
    }

    /// The real models with f16 and q8_0 caches: 8 sequences of mixed rows, gemma3 past its window too.
    @Test(arguments: ["smollm2:135m", "gemma3:270m"])
    func realModelBatchEqualsSolo(name: String) throws {
        guard let path = try RealModels.pathOrSkip(name) else { return }
        let model = try ModelRegistry.load(try GGUFFile(path: path), pool: sharedPool)
        var sets = [BatchedForwardTests.shapeSets[2]]
        if name.hasPrefix("gemma3") { sets.append([(history: 1100, new: 1), (0, 40), (600, 8)]) }
        for type in Self.stored {
            for (i, shapes) in sets.enumerated() {
                try BatchedForwardTests.checkBatchEqualsAlone(
                    model, BatchedForwardTests.sequences(shapes, vocab: model.info.vocabSize, seed: UInt64(i + 21)),
                    label: "\(name) \(type) \(shapes.count) sequences", cacheType: type)
            }
        }
    }

    @Test func bytesPerType() throws {
        let model = try Self.model("gemma3")
        let f32 = try model.makeCache(capacity: 100, type: .f32).byteCount
        #expect(try model.makeCache(capacity: 100, type: .f16).byteCount * 2 == f32)
        #expect(try model.makeCache(capacity: 100, type: .q8_0).byteCount * 128 == f32 * 34)
        #expect(model.cacheBytes(capacity: 100, type: .f16) == f32 / 2)
        #expect(try model.makeCache(capacity: 100, type: .f16).type == .f16)
    }

    /// q8_0 needs whole blocks: a head size of 8 is refused with an error, not misread.
    @Test func q8_0RefusesHeadsThatAreNotWholeBlocks() throws {
        let model = try TinyModel(arch: "llama").load(pool: Self.pool)
        #expect(model.cacheBytes(capacity: 8, type: .q8_0) == nil)
        #expect(throws: ModelError.self) { _ = try model.makeCache(capacity: 8, type: .q8_0) }
        #expect(try model.makeCache(capacity: 8, type: .f16).type == .f16)
    }
}
