import GGUF
import Kernels
import Models
import Testing
import TestSupport

/// One forward pass over several sequences must give each sequence exactly (bit for bit) what it gets
/// run alone: that is what lets a server batch requests without changing anyone's output.
struct BatchedForwardTests {
    static let pool = ThreadPool(threads: 2)

    /// A sequence in a batch: `history` tokens already in its cache, then `new` tokens evaluated in the
    /// batch (one token is a decode row, several a prompt chunk), with logits wanted at `outputs`.
    struct Sequence {
        var history: [Int32]
        var new: [Int32]
        var outputs: [Int]
    }

    /// Deterministic sequences of the given (history, new) lengths, asking for the last row and, on chunks,
    /// the first one too (out of order, to check ordering).
    static func sequences(_ shapes: [(history: Int, new: Int)], vocab: Int, seed: UInt64) -> [Sequence] {
        var state = seed | 1
        func next() -> Int32 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int32(state % UInt64(vocab))
        }
        return shapes.map { h, n in
            Sequence(history: (0 ..< h).map { _ in next() }, new: (0 ..< n).map { _ in next() },
                     outputs: n > 1 ? [n - 1, 0] : [0])
        }
    }

    /// Runs `seqs` alone and then together, and checks logits (and one more decode step on every cache
    /// afterwards, which reads what the batch stored) are bit-identical.
    static func checkBatchEqualsAlone(_ model: any LanguageModel, _ seqs: [Sequence], label: String,
                                      cacheType: KVCacheType = .f32) throws {
        let vocab = model.info.vocabSize
        func prepared() throws -> [KVCache] {
            try seqs.map { s in
                let cache = try model.makeCache(capacity: s.history.count + s.new.count + 1, type: cacheType)
                if !s.history.isEmpty {
                    _ = try model.forward(tokens: s.history, positions: (0 ..< s.history.count).map(Int32.init),
                                          cache: cache, outputRows: [])
                }
                return cache
            }
        }
        func followUp(_ caches: [KVCache]) throws -> [[Float]] {
            try caches.map { c in
                try model.forward(ForwardBatch(tokens: [5], segments: [.init(cache: c, rows: 0 ..< 1, outputRows: [0])]),
                                  mode: .batchInvariant)
            }
        }

        let soloCaches = try prepared()
        var solo: [Float] = []
        for (s, cache) in zip(seqs, soloCaches) {
            var one = ForwardBatch()
            one.append(s.new, to: cache, outputRows: s.outputs)
            solo += try model.forward(one, mode: .batchInvariant)
        }
        let soloNext = try followUp(soloCaches)

        let batchCaches = try prepared()
        var batch = ForwardBatch()
        for (s, cache) in zip(seqs, batchCaches) { batch.append(s.new, to: cache, outputRows: s.outputs) }
        let together = try model.forward(batch, mode: .batchInvariant)
        #expect(together.count == batch.outputCount * vocab)
        #expect(zip(batchCaches, seqs).allSatisfy { $0.count == $1.history.count + $1.new.count })
        #expect(together == solo, "\(label): batched logits differ from solo (\(firstDifference(together, solo, vocab)))")
        let batchNext = try followUp(batchCaches)
        for i in seqs.indices {
            #expect(batchNext[i] == soloNext[i], "\(label): sequence \(i)'s cache differs after the batch")
        }
    }

    static func firstDifference(_ a: [Float], _ b: [Float], _ vocab: Int) -> String {
        guard a.count == b.count else { return "\(a.count) vs \(b.count) floats" }
        guard let i = a.indices.first(where: { a[$0] != b[$0] }) else { return "none" }
        return "output row \(i / vocab), logit \(i % vocab): \(a[i]) vs \(b[i])"
    }

    /// 1, 3 and 8 sequences: empty and long histories, decode rows and prompt chunks mixed.
    static let shapeSets: [[(history: Int, new: Int)]] = [
        [(7, 1)],
        [(0, 5), (12, 1), (3, 9)],
        [(0, 1), (20, 1), (5, 6), (0, 17), (33, 1), (9, 2), (1, 1), (14, 11)],
    ]

    @Test(arguments: TinyModelTests.architectures)
    func tinyModelBatchEqualsAlone(arch: String) throws {
        let model = try TinyModel(arch: arch).load(pool: Self.pool)
        for (i, shapes) in Self.shapeSets.enumerated() {
            try Self.checkBatchEqualsAlone(model, Self.sequences(shapes, vocab: model.info.vocabSize, seed: UInt64(i + 1)),
                                           label: "\(arch) \(shapes.count) sequences")
        }
    }

    /// More rows than one internal chunk (512), so segments straddle chunk boundaries, and sliding-window
    /// histories longer than the ring (window 8 + 512 slots), so rings have wrapped.
    @Test func chunkBoundariesAndWrappedRings() throws {
        var tiny = TinyModel(arch: "gemma3")
        tiny.slidingWindow = 8
        let model = try tiny.load(pool: Self.pool)
        let shapes = [(history: 1100, new: 1), (0, 300), (700, 260), (3, 1), (530, 1)]
        try Self.checkBatchEqualsAlone(model, Self.sequences(shapes, vocab: model.info.vocabSize, seed: 9),
                                       label: "gemma3 across chunks")
    }

    /// `copyPrefix` (seq_cp) gives a cache that continues exactly as the source would, into a cache of
    /// another size too, and refuses a prefix the source's wrapped rings no longer hold.
    @Test func copiedPrefixContinuesLikeTheSource() throws {
        var tiny = TinyModel(arch: "gemma3")
        tiny.slidingWindow = 8
        let model = try tiny.load(pool: Self.pool)
        let toks = Self.sequences([(history: 0, new: 1200)], vocab: model.info.vocabSize, seed: 5)[0].new
        let source = model.makeCache(capacity: 1300)
        _ = try model.forward(tokens: toks, positions: (0 ..< 1200).map(Int32.init), cache: source, outputRows: [])
        func next(_ cache: KVCache) throws -> [Float] {
            try model.forward(tokens: [7], positions: [Int32(cache.count)], cache: cache, outputRows: [0])
        }
        // Within the ring (it holds the last 520 positions): the copy continues bit-identically.
        for (count, capacity) in [(1000, 1300), (1100, 2048), (1190, 1200)] {
            let reference = model.makeCache(capacity: 1300)
            _ = try model.forward(tokens: Array(toks[..<count]), positions: (0 ..< count).map(Int32.init), cache: reference,
                                  outputRows: [])
            let copy = model.makeCache(capacity: capacity)
            #expect(copy.copyPrefix(from: source, count: count) == count)
            #expect(try next(copy) == next(reference), "copy of \(count) positions into a cache of \(capacity)")
        }
        // Below what the ring can serve: nothing is copied, and the cache is empty rather than wrong.
        #expect(source.earliestReusablePosition > 600)
        let early = model.makeCache(capacity: 1300)
        _ = try model.forward(tokens: [1, 2], positions: [0, 1], cache: early, outputRows: [])
        #expect(early.copyPrefix(from: source, count: 600) == 0)
        #expect(early.count == 0)
        // A global-only model copies any prefix.
        let llama = try TinyModel(arch: "llama").load(pool: Self.pool)
        let a = llama.makeCache(capacity: 64), b = llama.makeCache(capacity: 64), c = llama.makeCache(capacity: 64)
        _ = try llama.forward(tokens: Array(toks[..<40]).map { $0 % 64 }, positions: (0 ..< 40).map(Int32.init), cache: a, outputRows: [])
        _ = try llama.forward(tokens: Array(toks[..<13]).map { $0 % 64 }, positions: (0 ..< 13).map(Int32.init), cache: c, outputRows: [])
        #expect(b.copyPrefix(from: a, count: 13) == 13)
        let fromCopy = try llama.forward(tokens: [3], positions: [13], cache: b, outputRows: [0])
        #expect(fromCopy == (try llama.forward(tokens: [3], positions: [13], cache: c, outputRows: [0])))
    }

    @Test func malformedBatchesAreRejected() throws {
        let model = try TinyModel(arch: "llama").load(pool: Self.pool)
        let a = model.makeCache(capacity: 8), b = model.makeCache(capacity: 8)
        func rejects(_ batch: ForwardBatch) {
            #expect(throws: ModelError.self) { try model.forward(batch, mode: .batchInvariant) }
        }
        rejects(ForwardBatch(tokens: [1, 2], segments: [.init(cache: a, rows: 0 ..< 1, outputRows: [0])]))
        rejects(ForwardBatch(tokens: [1, 2], segments: [.init(cache: a, rows: 0 ..< 1, outputRows: []),
                                                        .init(cache: a, rows: 1 ..< 2, outputRows: [])]))
        rejects(ForwardBatch(tokens: [1, 2], segments: [.init(cache: a, rows: 1 ..< 2, outputRows: []),
                                                        .init(cache: b, rows: 0 ..< 1, outputRows: [])]))
        rejects(ForwardBatch(tokens: [1, 2], segments: [.init(cache: a, rows: 0 ..< 1, outputRows: [1]),
                                                        .init(cache: b, rows: 1 ..< 2, outputRows: [])]))
        rejects(ForwardBatch(tokens: Array(repeating: 1, count: 9), segments: [.init(cache: a, rows: 0 ..< 9, outputRows: [])]))
        // Nothing was evaluated by the rejected calls.
        #expect(a.count == 0 && b.count == 0)
        var ok = ForwardBatch()
        ok.append([1, 2], to: a, outputRows: [1])
        ok.append([3], to: b, outputRows: [0])
        #expect(try model.forward(ok, mode: .batchInvariant).count == 2 * model.info.vocabSize)
    }

    /// The real models, gemma3 with histories past its 512-position window.
    @Test(arguments: ["smollm2:135m", "qwen2.5-coder:0.5b", "gemma3:270m"])
    func realModelBatchEqualsAlone(name: String) throws {
        guard let path = try RealModels.pathOrSkip(name) else { return }
        let model = try ModelRegistry.load(try GGUFFile(path: path), pool: sharedPool)
        var sets = Self.shapeSets
        if name.hasPrefix("gemma3") { sets.append([(history: 1100, new: 1), (0, 40), (600, 8)]) }
        for (i, shapes) in sets.enumerated() {
            try Self.checkBatchEqualsAlone(model, Self.sequences(shapes, vocab: model.info.vocabSize, seed: UInt64(i + 11)),
                                           label: "\(name) \(shapes.count) sequences")
        }
    }
}
