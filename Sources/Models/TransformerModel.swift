import GGUF
import Kernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The decoder-only transformer the three architectures share: pre-norm blocks of grouped-query
/// attention with RoPE and a gated FFN, with the per-architecture quirks (QKV biases, QK-norm,
/// post-norms, embedding scale, sliding windows, logit softcap) switched on by config and weights.
///
/// Prefill runs each matmul over the whole chunk of tokens at once (`Linear.matmul` with
/// `batch = n`); attention for the chunk is split across the pool by head.
final class TransformerModel: LanguageModel, @unchecked Sendable {
    let config: TransformerConfig
    let info: ModelInfo
    /// Kept so the mapping behind every `WeightMatrix` lives as long as the model.
    private let gguf: GGUFFile
    private let pool: ThreadPool
    private let globals: GlobalWeights
    private let layers: [LayerWeights]
    private let scratch: Scratch
    private let lock = ForwardLock()
    /// The kernels of the forward call in progress (set under `lock`).
    private var matmulMode = MatmulMode.batchInvariant
    /// Distinct RoPE rotations and, per layer, the index of its own (gemma3 uses two bases). Two sets:
    /// `[0]` for caches within the original context, `[1]` beyond it (they differ only under LongRoPE).
    private let ropeTables: [RoPEFrequencies]
    private let layerRopeIndex: [[Int]]
    /// Caches of more positions than this use `layerRopeIndex[1]`.
    private let longRopeThreshold: Int
    /// Tokens per internal chunk: bounds the activation buffers; longer batches run chunk by chunk.
    static let chunkSize = 512
    /// Parallel attention items per head (token rows are dealt round-robin to balance the causal triangle).
    private static let attentionSplits = 4
    /// Below this many multiply-adds, attention runs on the calling thread.
    private static let inlineAttentionWork = 1 << 21

    init(config: TransformerConfig, gguf: GGUFFile, pool: ThreadPool, globals: GlobalWeights,
         layers: [LayerWeights]) {
        self.config = config
        self.info = config.info
        self.gguf = gguf
        self.pool = pool
        self.globals = globals
        self.layers = layers
        longRopeThreshold = config.longRopeFactors?.originalContext ?? Int.max
        var tables: [RoPEFrequencies] = []
        var index: [[Int]] = [[], []]
        for (set, capacity) in [0, longRopeThreshold == Int.max ? 0 : longRopeThreshold + 1].enumerated() {
            for l in 0 ..< config.layerCount {
                let rope = config.rope(layer: l, capacity: capacity)
                if let i = tables.firstIndex(of: rope) { index[set].append(i) } else { tables.append(rope); index[set].append(tables.count - 1) }
            }
        }
        ropeTables = tables
        layerRopeIndex = index
        scratch = Scratch(config, batch: Self.chunkSize, ropeBases: tables.count,
                          scoreItems: config.headCount * Self.attentionSplits)
    }

    func makeCache(capacity: Int) -> KVCache {
        KVCache(capacity: capacity, layerWindows: config.layerWindow, ringSlack: Self.chunkSize,
                kvHeadCount: config.kvHeadCount, keyLength: config.keyLength, valueLength: config.valueLength, owner: self)
    }

    func forward(tokens: [Int32], positions: [Int32], cache: KVCache, outputRows: [Int], mode: MatmulMode) throws(ModelError) -> [Float] {
        var logits = try run(tokens: tokens, positions: positions, cache: cache, outputRows: outputRows, mode: mode,
                             width: config.vocabSize, emit: emitLogits)
        if let cap = config.finalLogitSoftcap {
            for i in logits.indices { logits[i] = cap * tanhf(logits[i] / cap) }
        }
        return logits
    }

    func hiddenStates(tokens: [Int32], positions: [Int32], cache: KVCache, outputRows: [Int], mode: MatmulMode) throws(ModelError) -> [Float] {
        try run(tokens: tokens, positions: positions, cache: cache, outputRows: outputRows, mode: mode,
                width: config.embeddingLength, emit: emitHidden)
    }

    /// The shared forward pass: chunk by chunk through every layer, then `emit` writes the chunk's
    /// requested rows (`width` floats each) into the result.
    private func run(tokens: [Int32], positions: [Int32], cache: KVCache, outputRows: [Int], mode: MatmulMode, width: Int,
                     emit: (_ chunkStart: Int, _ count: Int, _ outputRows: [Int], _ out: UnsafeMutablePointer<Float>) -> Void)
        throws(ModelError) -> [Float] {
        try validate(tokens: tokens, positions: positions, cache: cache, outputRows: outputRows)
        var result = [Float](repeating: 0, count: outputRows.count * width)
        guard !tokens.isEmpty else { return result }
        lock.withLock {
            matmulMode = mode
            scratch.reserveScores(positions: cache.capacity)
            result.withUnsafeMutableBufferPointer { out in
                var start = 0
                while start < tokens.count {
                    let n = min(Self.chunkSize, tokens.count - start)
                    runChunk(tokens: tokens[start ..< start + n], cache: cache)
                    emit(start, n, outputRows, out.baseAddress!)
                    cache.advance(by: n)
                    start += n
                }
            }
        }
        return result
    }

    private func validate(tokens: [Int32], positions: [Int32], cache: KVCache, outputRows: [Int]) throws(ModelError) {
        guard cache.ownerID == ObjectIdentifier(self) else {
            throw .invalidInput("the KV cache was made by a different model; use this model's makeCache(capacity:)")
        }
        guard positions.count == tokens.count else {
            throw .invalidInput("\(tokens.count) tokens but \(positions.count) positions")
        }
        let needed = cache.count + tokens.count
        if needed > cache.capacity { throw .contextOverflow(needed: needed, capacity: cache.capacity) }
        for (i, p) in positions.enumerated() where Int(p) != cache.count + i {
            throw .invalidInput("position \(p) at batch index \(i) does not continue the cache (expected \(cache.count + i))")
        }
        for t in tokens where t < 0 || Int(t) >= config.vocabSize {
            throw .invalidInput("token id \(t) is outside the vocabulary 0..<\(config.vocabSize)")
        }
        for r in outputRows where r < 0 || r >= tokens.count {
            throw .invalidInput("output row \(r) is outside the batch 0..<\(tokens.count)")
        }
    }

    // MARK: - One chunk

    private func runChunk(tokens: ArraySlice<Int32>, cache: KVCache) {
        let c = config, s = scratch, n = tokens.count, e = c.embeddingLength
        let start = cache.count
        for (i, t) in tokens.enumerated() {
            Linear.dequantizeRow(globals.tokenEmbedding, row: Int(t), into: s.x + i * e)
        }
        if let scale = c.embeddingScale { Ops.scale(s.x, s.x, by: scale, count: n * e) }
        fillRopeTables(start: start, count: n)
        let ropeSet = cache.capacity > longRopeThreshold ? 1 : 0
        for l in 0 ..< c.layerCount { block(l, count: n, start: start, cache: cache, rope: layerRopeIndex[ropeSet][l]) }
    }

    /// cos/sin of `position · frequency[i]` (times the table's magnitude) for each distinct rotation, in
    /// double so long positions keep their precision.
    private func fillRopeTables(start: Int, count n: Int) {
        let half = config.rotaryDims / 2
        for (b, table) in ropeTables.enumerated() {
            let cosT = scratch.ropeCos + b * scratch.ropeStride, sinT = scratch.ropeSin + b * scratch.ropeStride
            for i in 0 ..< half {
                let freq = table.frequencies[i]
                for t in 0 ..< n {
                    let theta = Double(start + t) * freq
                    cosT[t * half + i] = Float(cos(theta)) * table.magnitude
                    sinT[t * half + i] = Float(sin(theta)) * table.magnitude
                }
            }
        }
    }

    private func block(_ l: Int, count n: Int, start: Int, cache: KVCache, rope r: Int) {
        let c = config, s = scratch, w = layers[l], e = c.embeddingLength
        let qDim = c.headCount * c.keyLength, kDim = c.kvHeadCount * c.keyLength, vDim = c.kvHeadCount * c.valueLength

        // Attention sub-block.
        rmsNormRows(s.h, s.x, w.attnNorm, rows: n, width: e)
        Linear.matmul(w.wq, s.h, batch: n, s.q, pool: pool, mode: matmulMode)
        Linear.matmul(w.wk, s.h, batch: n, s.k, pool: pool, mode: matmulMode)
        Linear.matmul(w.wv, s.h, batch: n, s.v, pool: pool, mode: matmulMode)
        addBias(s.q, w.bq, rows: n)
        addBias(s.k, w.bk, rows: n)
        addBias(s.v, w.bv, rows: n)
        if let qn = w.qNorm { rmsNormRows(s.q, s.q, qn, rows: n * c.headCount, width: c.keyLength) }
        if let kn = w.kNorm { rmsNormRows(s.k, s.k, kn, rows: n * c.kvHeadCount, width: c.keyLength) }
        let half = c.rotaryDims / 2
        for t in 0 ..< n {
            let cosT = s.ropeCos + r * s.ropeStride + t * half, sinT = s.ropeSin + r * s.ropeStride + t * half
            Ops.rope(s.q + t * qDim, heads: c.headCount, headDim: c.keyLength, rotaryDims: c.rotaryDims,
                     cos: cosT, sin: sinT, neox: c.ropeNeox)
            Ops.rope(s.k + t * kDim, heads: c.kvHeadCount, headDim: c.keyLength, rotaryDims: c.rotaryDims,
                     cos: cosT, sin: sinT, neox: c.ropeNeox)
        }
        storeKV(layer: l, count: n, start: start, cache: cache, kDim: kDim, vDim: vDim)
        attention(layer: l, count: n, start: start, cache: cache)
        Linear.matmul(w.wo, s.attn, batch: n, s.o, pool: pool, mode: matmulMode)
        if let pn = w.postAttnNorm { rmsNormRows(s.o, s.o, pn, rows: n, width: e) }
        Ops.axpy(s.x, 1, s.o, count: n * e)

        // Feed-forward sub-block.
        let f = c.feedForwardLength
        rmsNormRows(s.h, s.x, w.ffnNorm, rows: n, width: e)
        Linear.matmul(w.gate, s.h, batch: n, s.gate, pool: pool, mode: matmulMode)
        Linear.matmul(w.up, s.h, batch: n, s.up, pool: pool, mode: matmulMode)
        switch c.activation {
        case .silu: Ops.siluMul(s.gate, s.up, count: n * f)
        case .geluTanh: Ops.geluMul(s.gate, s.up, count: n * f)
        }
        Linear.matmul(w.down, s.gate, batch: n, s.o, pool: pool, mode: matmulMode)
        if let pn = w.postFFNNorm { rmsNormRows(s.o, s.o, pn, rows: n, width: e) }
        Ops.axpy(s.x, 1, s.o, count: n * e)
    }

    private func rmsNormRows(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ weight: [Float],
                             rows: Int, width: Int) {
        weight.withUnsafeBufferPointer { wb in
            for r in 0 ..< rows {
                Ops.rmsNorm(y + r * width, x + r * width, weight: wb.baseAddress!, epsilon: config.rmsEpsilon, count: width)
            }
        }
    }

    private func addBias(_ y: UnsafeMutablePointer<Float>, _ bias: [Float]?, rows: Int) {
        guard let bias else { return }
        bias.withUnsafeBufferPointer { b in
            for r in 0 ..< rows { Ops.axpy(y + r * b.count, 1, b.baseAddress!, count: b.count) }
        }
    }

    /// Copies the chunk's K and V rows (`[token][kvHead][dim]`) into the cache's `[kvHead][slot][dim]`
    /// (slot = position modulo the layer's slots: a ring on sliding-window layers).
    private func storeKV(layer l: Int, count n: Int, start: Int, cache: KVCache, kDim: Int, vDim: Int) {
        let c = config, slots = cache.layerSlots[l]
        precondition(n <= Self.chunkSize, "a chunk larger than the ring slack would overwrite keys it still reads")
        for h in 0 ..< c.kvHeadCount {
            let kc = cache.keys(layer: l, head: h), vc = cache.values(layer: l, head: h)
            for t in 0 ..< n {
                let slot = (start + t) % slots
                (kc + slot * c.keyLength).update(from: scratch.k + t * kDim + h * c.keyLength, count: c.keyLength)
                (vc + slot * c.valueLength).update(from: scratch.v + t * vDim + h * c.valueLength, count: c.valueLength)
            }
        }
    }

    /// Causal (and, on sliding-window layers, windowed) attention of the chunk's queries over the
    /// cache: per query head, scores = q·K over the visible range, softmax, then the weighted sum of V.
    private func attention(layer l: Int, count n: Int, start: Int, cache: KVCache) {
        let c = config, s = scratch
        let heads = c.headCount, group = c.headCount / c.kvHeadCount
        let dk = c.keyLength, dv = c.valueLength, scale = c.attentionScale
        let window = c.layerWindow[l], slots = cache.layerSlots[l]
        let splits = min(n, Self.attentionSplits)
        let q = s.q, out = s.attn, scores = s.scores, stride = s.scoreStride
        func run(_ item: Int) {
            let h = item % heads, part = item / heads
            let keys = cache.keys(layer: l, head: h / group), values = cache.values(layer: l, head: h / group)
            let sc = scores + item * stride
            var t = part
            while t < n {
                let p = start + t
                let lo = window.map { max(0, p - $0 + 1) } ?? 0
                let span = p - lo + 1
                // [lo, p] in slots: one run up to the end of the ring, then the rest from slot 0.
                let first = lo % slots, run1 = min(span, slots - first)
                let qv = q + t * heads * dk + h * dk
                for j in 0 ..< run1 { sc[j] = Ops.dot(qv, keys + (first + j) * dk, count: dk) * scale }
                for j in run1 ..< span { sc[j] = Ops.dot(qv, keys + (j - run1) * dk, count: dk) * scale }
                Ops.softmax(sc, count: span)
                let o = out + t * heads * dv + h * dv
                o.update(repeating: 0, count: dv)
                for j in 0 ..< run1 { Ops.axpy(o, sc[j], values + (first + j) * dv, count: dv) }
                for j in run1 ..< span { Ops.axpy(o, sc[j], values + (j - run1) * dv, count: dv) }
                t += splits
            }
        }
        // A decode step's attention is tiny next to its matmuls; a pool round trip would cost more
        // than it saves (and on a busy machine each barrier can wait for a descheduled worker).
        let work = heads * n * (start + n) * (dk + dv)
        if work < Self.inlineAttentionWork {
            for item in 0 ..< heads * splits { run(item) }
        } else {
            pool.parallelFor(heads * splits, run)
        }
    }

    // MARK: - Outputs

    /// Final norm, then `project` over each run of consecutive requested rows that falls in this chunk
    /// (normed rows in `scratch.h`, destination row index in the result).
    private func emitRows(chunkStart: Int, count n: Int, outputRows: [Int],
                          project: (_ rows: Int, _ resultRow: Int) -> Void) {
        let e = config.embeddingLength
        var j = 0
        while j < outputRows.count {
            let local = outputRows[j] - chunkStart
            guard local >= 0, local < n else { j += 1; continue }
            var len = 1
            while j + len < outputRows.count, outputRows[j + len] == outputRows[j] + len, local + len < n { len += 1 }
            rmsNormRows(scratch.h, scratch.x + local * e, globals.outputNorm, rows: len, width: e)
            project(len, j)
            j += len
        }
    }

    /// Logits of the requested rows: one batched output matmul per run of rows, straight into the result.
    private func emitLogits(chunkStart: Int, count n: Int, outputRows: [Int], into out: UnsafeMutablePointer<Float>) {
        let vocab = config.vocabSize
        emitRows(chunkStart: chunkStart, count: n, outputRows: outputRows) { len, j in
            Linear.matmul(globals.output, scratch.h, batch: len, out + j * vocab, pool: pool, mode: matmulMode)
        }
    }

    /// Hidden states of the requested rows after the final norm (llama.cpp's `result_norm`, what its
    /// embedding pooling reads), `[rows x embd]`.
    private func emitHidden(chunkStart: Int, count n: Int, outputRows: [Int], into out: UnsafeMutablePointer<Float>) {
        let e = config.embeddingLength
        emitRows(chunkStart: chunkStart, count: n, outputRows: outputRows) { len, j in
            (out + j * e).update(from: scratch.h, count: len * e)
        }
    }
}
