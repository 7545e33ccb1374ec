#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Activation buffers for one chunk of up to `batch` tokens, allocated once at load so the forward
/// pass never allocates per token. Row-major `[token][feature]` throughout, as `Linear.matmul` reads
/// and writes them.
final class Scratch {
    let batch: Int
    /// Residual stream `[batch x embd]`.
    let x: UnsafeMutablePointer<Float>
    /// Normed input to a sub-block / final norm output `[batch x embd]`.
    let h: UnsafeMutablePointer<Float>
    /// Sub-block output before the residual add `[batch x embd]`.
    let o: UnsafeMutablePointer<Float>
    let q: UnsafeMutablePointer<Float>    // [batch x heads*keyLength]
    let k: UnsafeMutablePointer<Float>    // [batch x kvHeads*keyLength]
    let v: UnsafeMutablePointer<Float>    // [batch x kvHeads*valueLength]
    let attn: UnsafeMutablePointer<Float> // [batch x heads*valueLength]
    let gate: UnsafeMutablePointer<Float> // [batch x ffn]
    let up: UnsafeMutablePointer<Float>   // [batch x ffn]
    /// RoPE tables per distinct base: `[base][batch x rotaryDims/2]`.
    let ropeCos: UnsafeMutablePointer<Float>
    let ropeSin: UnsafeMutablePointer<Float>
    let ropeStride: Int
    /// Attention scores, one row of `scoreStride` per query (row x head) of each parallel work item
    /// (`[scoreItems x scoreStride]`); grown with cache capacity.
    private(set) var scores: UnsafeMutablePointer<Float>
    private(set) var scoreStride = 0
    let scoreItems: Int
    /// The mixture-of-experts FFN's buffers (nil for dense models).
    let experts: ExpertScratch?

    private var owned: [UnsafeMutablePointer<Float>] = []

    init(_ c: TransformerConfig, batch: Int, ropeBases: Int, scoreItems: Int) {
        self.batch = batch
        self.scoreItems = scoreItems
        func make(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(1, n))
            p.initialize(repeating: 0, count: max(1, n))
            return p
        }
        x = make(batch * c.embeddingLength)
        h = make(batch * c.embeddingLength)
        o = make(batch * c.embeddingLength)
        q = make(batch * c.headCount * c.keyLength)
        k = make(batch * c.kvHeadCount * c.keyLength)
        v = make(batch * c.kvHeadCount * c.valueLength)
        attn = make(batch * c.headCount * c.valueLength)
        gate = make(batch * c.feedForwardLength)
        up = make(batch * c.feedForwardLength)
        ropeStride = batch * (c.rotaryDims / 2)
        ropeCos = make(ropeBases * ropeStride)
        ropeSin = make(ropeBases * ropeStride)
        scores = make(0)
        experts = c.experts.map { ExpertScratch($0, embd: c.embeddingLength, batch: batch) }
        owned = [x, h, o, q, k, v, attn, gate, up, ropeCos, ropeSin]
    }

    /// Makes room for attention over `positions` keys (only grows; reallocates when a larger cache appears).
    func reserveScores(positions: Int) {
        guard positions > scoreStride else { return }
        scores.deallocate()
        scores = .allocate(capacity: positions * scoreItems)
        scoreStride = positions
    }

    deinit {
        for p in owned { p.deallocate() }
        scores.deallocate()
    }
}

/// Serializes forward passes of one model (they share its ``Scratch``).
final class ForwardLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() { pthread_mutex_init(mutex, nil) }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
