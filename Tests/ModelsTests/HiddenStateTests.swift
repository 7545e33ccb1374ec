import GGUF
import Kernels
import Models
import Testing

/// The hidden-state output decoder embeddings pool: it must be exactly what the logits are computed from.
struct HiddenStateTests {
    static let pool = ThreadPool(threads: 2)

    /// llama ties its output to the token embedding, so logits[t][v] = hidden[t] · token_embd[v]:
    /// projecting the returned hidden states by hand must reproduce the model's own logits.
    @Test func hiddenStatesProjectToTheLogits() throws {
        let tiny = TinyModel(arch: "llama")
        let model = try tiny.load(pool: Self.pool)
        let e = model.info.embeddingLength, vocab = model.info.vocabSize, n = 9
        let toks = (0 ..< n).map { Int32(($0 * 5 + 1) % vocab) }
        let positions = (0 ..< n).map(Int32.init)
        let rows = [0, 3, 4, 8]
        let logits = try model.forward(tokens: toks, positions: positions, cache: model.makeCache(capacity: n), outputRows: rows)
        let hidden = try model.hiddenStates(tokens: toks, positions: positions, cache: model.makeCache(capacity: n),
                                            outputRows: rows, mode: .batchInvariant)
        #expect(hidden.count == rows.count * e)
        let embedding = try #require(tiny.weights().first { $0.name == GGUFTensorName.tokenEmbedding }).values
        var worst: Float = 0
        for r in rows.indices {
            for v in 0 ..< vocab {
                var dot: Float = 0
                for j in 0 ..< e { dot += hidden[r * e + j] * embedding[v * e + j] }
                worst = max(worst, abs(dot - logits[r * vocab + v]) / max(1, abs(logits[r * vocab + v])))
            }
        }
        #expect(worst < 1e-4, "hidden states projected by hand differ from the logits by \(worst)")
        // Different positions have different states (the test would pass on all-zero output otherwise).
        let first = hidden[0 ..< e], last = hidden[3 * e ..< 4 * e]
        #expect(zip(first, last).map { abs($0 - $1) }.max()! > 1e-3)
    }

    /// A row's hidden state does not depend on which other rows are requested, nor on the batch it is
    /// evaluated in (batch-invariant kernels), for every architecture.
    @Test(arguments: ["llama", "qwen2", "gemma3"])
    func hiddenStatesAreBatchInvariant(arch: String) throws {
        let model = try TinyModel(arch: arch).load(pool: Self.pool)
        let e = model.info.embeddingLength, n = 20
        let toks = (0 ..< n).map { Int32(($0 * 3 + 2) % model.info.vocabSize) }
        let all = try model.hiddenStates(tokens: toks, positions: (0 ..< n).map(Int32.init),
                                         cache: model.makeCache(capacity: n), outputRows: Array(0 ..< n), mode: .batchInvariant)
        let cache = model.makeCache(capacity: n)
        _ = try model.hiddenStates(tokens: Array(toks[0 ..< 7]), positions: (0 ..< 7).map(Int32.init), cache: cache,
                                   outputRows: [], mode: .batchInvariant)
        let tail = try model.hiddenStates(tokens: Array(toks[7...]), positions: (7 ..< n).map(Int32.init), cache: cache,
                                          outputRows: [12], mode: .batchInvariant)
        #expect(Array(tail) == Array(all[19 * e ..< 20 * e]))
    }
}
