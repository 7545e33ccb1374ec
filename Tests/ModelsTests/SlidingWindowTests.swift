import Foundation
import GGUF
import Kernels
import Models
import Testing

/// Sliding-window layers keep only a ring of `window + 512` positions: results must not change
/// however far the sequence outgrows the ring, and a rewind the ring cannot serve must say so.
struct SlidingWindowTests {
    static let pool = ThreadPool(threads: 2)
    /// Window 8 on layer 0 (layer 1 is global): the ring holds 8 + 512 = 520 positions.
    static let tiny: TinyModel = { var t = TinyModel(arch: "gemma3"); t.slidingWindow = 8; return t }()
    /// Past two ring lengths, so ring slots are reused more than once.
    static let length = 1200

    private func tokens(_ n: Int, vocab: Int) -> [Int32] { (0 ..< n).map { Int32(($0 * 7 + 3) % vocab) } }

    private func maxRelativeDiff(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
        let scale = max(1, b.map(abs).max() ?? 1)
        return zip(a, b).map { abs($0 - $1) }.max()! / scale
    }

    @Test func ringIsSmallerThanAFullCache() throws {
        let model = try Self.tiny.load(pool: Self.pool)
        let cache = model.makeCache(capacity: 4096)
        // Per position and layer: 2 KV heads x (8 + 8) floats. Global layer: 4096 slots; local: 520.
        #expect(cache.byteCount == 2 * 16 * 4 * (4096 + 520))
        // A cache no longer than the ring holds every position on every layer.
        #expect(model.makeCache(capacity: 100).byteCount == 2 * 16 * 4 * 200)
    }

    /// One forward (chunked at 512 inside), token by token and uneven pieces all agree with a
    /// brute-force evaluation that recomputes every key from scratch.
    @Test func ringMatchesBruteForce() throws {
        let model = try Self.tiny.load(pool: Self.pool)
        let v = model.info.vocabSize, n = Self.length
        let toks = tokens(n, vocab: v)
        let reference = BruteForceGemma(Self.tiny).logits(toks)
        let whole = model.makeCache(capacity: n)
        let all = try model.forward(tokens: toks, positions: (0 ..< n).map(Int32.init), cache: whole,
                                    outputRows: Array(0 ..< n))
        for p in 0 ..< n {
            let d = maxRelativeDiff(all[p * v ..< (p + 1) * v], reference[p * v ..< (p + 1) * v])
            // 3e-4: the F16 GELU (ggml's) turns float-order differences in a gate into whole F16
            // steps (2^-11 relative) now and then; a ring bug costs O(1).
            #expect(d < 3e-4, "batch position \(p) differs from brute force by \(d)")
            if d >= 3e-4 { break }
        }
        let steps = model.makeCache(capacity: n)
        for p in 0 ..< n {
            let row = try model.forward(tokens: [toks[p]], positions: [Int32(p)], cache: steps, outputRows: [0])
            let d = maxRelativeDiff(row[0 ..< v], all[p * v ..< (p + 1) * v])
            #expect(d < 1e-5, "token-by-token position \(p) differs from the batch by \(d)")
            if d >= 1e-5 { break }
        }
        let parts = model.makeCache(capacity: n)
        var at = 0
        for len in [3, 509, 512, 7, 100, 69] {
            let rows = try model.forward(tokens: Array(toks[at ..< at + len]), positions: (at ..< at + len).map(Int32.init),
                                         cache: parts, outputRows: Array(0 ..< len))
            let d = maxRelativeDiff(rows[...], all[at * v ..< (at + len) * v])
            #expect(d < 1e-5, "piece at \(at) of \(len) differs from the batch by \(d)")
            at += len
        }
        #expect(at == n)
    }

    /// A rewind within the ring keeps the prefix; one past it empties the cache instead of
    /// attending to overwritten keys, and re-evaluating from 0 gives the fresh results.
    @Test func truncatePastTheRingStartsOver() throws {
        let model = try Self.tiny.load(pool: Self.pool)
        let v = model.info.vocabSize, n = Self.length
        let toks = tokens(n, vocab: v)
        let fresh = try model.forward(tokens: toks, positions: (0 ..< n).map(Int32.init), cache: model.makeCache(capacity: n),
                                      outputRows: Array(0 ..< n))
        let cache = model.makeCache(capacity: n)
        _ = try model.forward(tokens: toks, positions: (0 ..< n).map(Int32.init), cache: cache, outputRows: [])
        // The ring holds positions [1200 - 520, 1200); position m needs keys from m - 7.
        #expect(cache.earliestReusablePosition == n - 520 + 7)
        #expect(cache.truncate(to: 1000) == 1000)
        var row = try model.forward(tokens: [toks[1000]], positions: [1000], cache: cache, outputRows: [0])
        #expect(maxRelativeDiff(row[0 ..< v], fresh[1000 * v ..< 1001 * v]) < 1e-5)
        #expect(cache.truncate(to: cache.earliestReusablePosition) == n - 520 + 7)
        let m = n - 520 + 7
        row = try model.forward(tokens: [toks[m]], positions: [Int32(m)], cache: cache, outputRows: [0])
        #expect(maxRelativeDiff(row[0 ..< v], fresh[m * v ..< (m + 1) * v]) < 1e-5)

        #expect(cache.truncate(to: 300) == 0, "position 300's window was overwritten: the cache must start over")
        #expect(cache.count == 0 && cache.earliestReusablePosition == 0)
        let again = try model.forward(tokens: Array(toks[0 ..< 301]), positions: (0 ..< 301).map(Int32.init),
                                      cache: cache, outputRows: [300])
        #expect(maxRelativeDiff(again[0 ..< v], fresh[300 * v ..< 301 * v]) < 1e-5)
    }
}

/// gemma3 evaluated the obvious way, from the tiny model's weights: every layer's keys and values for
/// the whole sequence, then masked attention. No cache, no chunks, no rings.
struct BruteForceGemma {
    /// ggml's CPU GELU (F16 in, F16 out; see sl_ops_gelu_mul), which the model reproduces.
    static func ggmlGelu(_ x: Float) -> Float {
        if x <= -10 { return 0 }
        if x >= 10 { return x }
        return Float(Float16(OpsReference.geluTanh(Float(Float16(x)))))
    }

    let tiny: TinyModel
    let w: [String: [Float]]

    init(_ tiny: TinyModel) {
        self.tiny = tiny
        var w: [String: [Float]] = [:]
        for t in tiny.weights() { w[t.name] = t.values }
        self.w = w
    }

    /// `y = W x` for a GGUF matrix `[inputs, outputs]` (rows of `inputs` floats).
    private func mul(_ name: String, _ x: [Float]) -> [Float] {
        let m = w[name]!, k = x.count
        return (0 ..< m.count / k).map { o in OpsReference.dot(Array(m[o * k ..< (o + 1) * k]), x) }
    }

    private func norm(_ x: [Float], _ name: String) -> [Float] { OpsReference.rmsNorm(x, weight: w[name]!, epsilon: 1e-6) }

    /// Per-head RMSNorm then RoPE (NEOX, base 10000 on both layer kinds here).
    private func heads(_ x: [Float], count: Int, norm name: String, position: Int) -> [[Float]] {
        let d = tiny.headDim
        return (0 ..< count).map { h in
            OpsReference.rope(norm(Array(x[h * d ..< (h + 1) * d]), name), position: position, base: 10000,
                              rotaryDims: d, neox: true)
        }
    }

    func logits(_ tokens: [Int32]) -> [Float] {
        let e = tiny.embd, d = tiny.headDim, group = tiny.heads / tiny.kvHeads
        let emb = w[GGUFTensorName.tokenEmbedding]!
        var x = tokens.map { t in (0 ..< e).map { emb[Int(t) * e + $0] * Float(e).squareRoot() } }
        for l in 0 ..< tiny.layers {
            func b(_ t: GGUFTensorName.BlockTensor) -> String { GGUFTensorName.block(l, t) }
            let window = l % 2 == 0 ? tiny.slidingWindow : Int.max // period 2: layer 0 local
            let h = x.map { norm($0, b(.attnNorm)) }
            let q = h.indices.map { p in heads(mul(b(.attnQ), h[p]), count: tiny.heads, norm: b(.attnQNorm), position: p) }
            let k = h.indices.map { p in heads(mul(b(.attnK), h[p]), count: tiny.kvHeads, norm: b(.attnKNorm), position: p) }
            let v = h.map { mul(b(.attnV), $0) }
            for p in x.indices {
                var attn: [Float] = []
                for hd in 0 ..< tiny.heads {
                    let kv = hd / group
                    let keys = Array(max(0, p - window + 1) ... p)
                    let probs = OpsReference.softmax(keys.map { OpsReference.dot(q[p][hd], k[$0][kv]) / Float(d).squareRoot() })
                    attn += (0 ..< d).map { i in zip(keys, probs).reduce(Float(0)) { $0 + $1.1 * v[$1.0][kv * d + i] } }
                }
                let o = norm(mul(b(.attnOutput), attn), b(.postAttentionNorm))
                x[p] = zip(x[p], o).map(+)
                let f = norm(x[p], b(.ffnNorm))
                let gate = mul(b(.ffnGate), f), up = mul(b(.ffnUp), f)
                let down = mul(b(.ffnDown), zip(gate, up).map { Self.ggmlGelu($0) * $1 })
                x[p] = zip(x[p], norm(down, b(.postFFNNorm))).map(+)
            }
        }
        return x.flatMap { mul(GGUFTensorName.tokenEmbedding, norm($0, GGUFTensorName.outputNorm)) }
    }
}
