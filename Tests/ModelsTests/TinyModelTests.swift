import GGUF
import Kernels
import Models
import Testing

/// Tiny random-weight models of each architecture: the batched forward pass must equal
/// token-by-token decoding, and bad files must give clean errors.
struct TinyModelTests {
    static let pool = ThreadPool(threads: 2)
    static let architectures = ["llama", "qwen2", "gemma3"]

    private func tokens(_ n: Int, vocab: Int) -> [Int32] { (0 ..< n).map { Int32(($0 * 7 + 3) % vocab) } }

    private func maxRelativeDiff(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
        let scale = max(1, b.map(abs).max() ?? 1)
        return zip(a, b).map { abs($0 - $1) }.max()! / scale
    }

    @Test(arguments: architectures)
    func prefillEqualsTokenByToken(arch: String) throws {
        let model = try TinyModel(arch: arch).load(pool: Self.pool)
        let v = model.info.vocabSize, n = 12
        let toks = tokens(n, vocab: v)
        let batchCache = model.makeCache(capacity: 32)
        let batch = try model.forward(tokens: toks, positions: (0 ..< n).map(Int32.init), cache: batchCache,
                                      outputRows: Array(0 ..< n))
        #expect(batchCache.count == n)
        let stepCache = model.makeCache(capacity: 32)
        for i in 0 ..< n {
            let step = try model.forward(tokens: [toks[i]], positions: [Int32(i)], cache: stepCache, outputRows: [0])
            let diff = maxRelativeDiff(step[0 ..< v], batch[i * v ..< (i + 1) * v])
            #expect(diff < 1e-5, "\(arch) position \(i): prefill and decode differ by \(diff)")
        }
        // The model must actually depend on context: logits at different positions differ.
        #expect(maxRelativeDiff(batch[0 ..< v], batch[v ..< 2 * v]) > 1e-3)
    }

    /// Batches longer than the internal chunk (512) and sliding windows past their size: a long
    /// prefill equals the same tokens fed in uneven pieces.
    @Test(arguments: architectures)
    func longPrefillEqualsPiecewise(arch: String) throws {
        let model = try TinyModel(arch: arch).load(pool: Self.pool)
        let v = model.info.vocabSize, n = 600
        let toks = tokens(n, vocab: v)
        let whole = model.makeCache(capacity: n)
        let all = try model.forward(tokens: toks, positions: (0 ..< n).map(Int32.init), cache: whole,
                                    outputRows: [0, 299, 599])
        let parts = model.makeCache(capacity: n)
        var last: [Float] = []
        var at = 0
        for len in [5, 294, 1, 300] {
            last = try model.forward(tokens: Array(toks[at ..< at + len]), positions: (at ..< at + len).map(Int32.init),
                                     cache: parts, outputRows: [len - 1])
            at += len
        }
        #expect(maxRelativeDiff(last[0 ..< v], all[2 * v ..< 3 * v]) < 1e-5)
        // Rewind and replay: truncation must leave the earlier positions intact.
        parts.truncate(to: 299)
        let replay = try model.forward(tokens: [toks[299]], positions: [299], cache: parts, outputRows: [0])
        #expect(maxRelativeDiff(replay[0 ..< v], all[v ..< 2 * v]) < 1e-5)
    }

    @Test func outputRowsInAnyOrder() throws {
        let model = try TinyModel(arch: "llama").load(pool: Self.pool)
        let v = model.info.vocabSize
        let toks = tokens(6, vocab: v)
        let a = try model.forward(tokens: toks, positions: (0 ..< 6).map(Int32.init), cache: model.makeCache(capacity: 8),
                                  outputRows: [0, 1, 2, 3, 4, 5])
        let b = try model.forward(tokens: toks, positions: (0 ..< 6).map(Int32.init), cache: model.makeCache(capacity: 8),
                                  outputRows: [5, 2, 3])
        #expect(Array(b[0 ..< v]) == Array(a[5 * v ..< 6 * v]))
        #expect(Array(b[v ..< 3 * v]) == Array(a[2 * v ..< 4 * v]))
    }

    @Test func unknownArchitectureListsSupported() throws {
        var tiny = TinyModel(arch: "llama")
        tiny.arch = "mamba9"
        #expect(throws: ModelError.unknownArchitecture("mamba9", supported: ["llama", "qwen2", "gemma3", "qwen3", "qwen3moe", "gemma2", "olmo2", "granite", "phi3", "mistral3", "bert"])) {
            try tiny.load(pool: Self.pool)
        }
        let message = ModelError.unknownArchitecture("mamba9", supported: ModelRegistry.supportedArchitectures).description
        #expect(message.contains("llama") && message.contains("qwen2") && message.contains("gemma3") && message.contains("bert"))
    }

    @Test func missingTensorIsNamed() throws {
        var tiny = TinyModel(arch: "qwen2")
        tiny.omit = ["blk.1.attn_k.bias"]
        #expect(throws: ModelError.missingTensor("blk.1.attn_k.bias")) { try tiny.load(pool: Self.pool) }
        var gemma = TinyModel(arch: "gemma3")
        gemma.omit = ["blk.0.attn_q_norm.weight"]
        #expect(throws: ModelError.missingTensor("blk.0.attn_q_norm.weight")) { try gemma.load(pool: Self.pool) }
    }

    @Test func wrongShapeReportsExpectedAndFound() throws {
        var tiny = TinyModel(arch: "llama")
        tiny.reshape = ["blk.0.ffn_up.weight": [32, 40]]
        #expect(throws: ModelError.wrongShape(tensor: "blk.0.ffn_up.weight", expected: [32, 48], found: [32, 40])) {
            try tiny.load(pool: Self.pool)
        }
    }

    @Test func badInputIsAnErrorNotACrash() throws {
        let model = try TinyModel(arch: "gemma3").load(pool: Self.pool)
        let cache = model.makeCache(capacity: 4)
        #expect(throws: ModelError.contextOverflow(needed: 5, capacity: 4)) {
            try model.forward(tokens: [1, 2, 3, 4, 5], positions: [0, 1, 2, 3, 4], cache: cache, outputRows: [4])
        }
        #expect(cache.count == 0)
        #expect(throws: ModelError.self) { try model.forward(tokens: [64], positions: [0], cache: cache, outputRows: [0]) }
        #expect(throws: ModelError.self) { try model.forward(tokens: [1], positions: [3], cache: cache, outputRows: [0]) }
        #expect(throws: ModelError.self) { try model.forward(tokens: [1], positions: [0], cache: cache, outputRows: [1]) }
        let other = try TinyModel(arch: "gemma3").load(pool: Self.pool)
        #expect(throws: ModelError.self) {
            try other.forward(tokens: [1], positions: [0], cache: cache, outputRows: [0])
        }
        // Still usable after the rejected calls.
        #expect(try model.forward(tokens: [1], positions: [0], cache: cache, outputRows: [0]).count == model.info.vocabSize)
    }
}
