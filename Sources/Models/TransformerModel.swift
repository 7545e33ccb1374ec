import GGUF
import Kernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The decoder-only transformer machinery every architecture shares: a forward batch of several sequences
/// run chunk by chunk, the token embedding, each architecture's own blocks (``TransformerBlock``, one per
/// layer), the final norm and the output projection, and the attention core the blocks' ``Attention``
/// calls (RoPE tables per row position, K/V appended to each sequence's cache, causal or windowed attention).
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
    private let layers: [any TransformerBlock]
    private let scratch: Scratch
    /// Serializes forward calls: they share `scratch`.
    private let lock = ForwardLock()
    /// Distinct RoPE rotations and, per layer, the index of its own (gemma3 uses two bases). Two sets:
    /// `[0]` for caches within the original context, `[1]` beyond it (they differ only under LongRoPE).
    private let ropeTables: [RoPEFrequencies]
    private let layerRopeIndex: [[Int]]
    /// Caches of more positions than this use `layerRopeIndex[1]`.
    private let longRopeThreshold: Int
    /// Tokens per internal chunk: bounds the activation buffers; longer batches run chunk by chunk.
    static let chunkSize = 512
    /// Parallel attention items per head and segment (token rows are dealt round-robin to balance the causal triangle).
    private static let attentionSplits = 4
    /// Query rows of one split attended together: each K and V row is read (and converted from the
    /// cache's type) once per block of rows x query heads of a KV group instead of once per query.
    /// 8 rather than 4: at depth a KV head's K and V (1.1 MB at 4096 f16 positions of 64 dims) no longer
    /// fit a core's L2 next to the score rows, so each block streams them again; twice the rows per block
    /// halves that traffic and the per-block tile conversions, for score rows of 8 · group · positions floats.
    private static let attentionRowBlock = 8
    /// Score rows per head in `scratch`: one segment's splits, each with a block of rows.
    private static let attentionItemsPerHead = attentionSplits * attentionRowBlock
    /// Below this many multiply-adds, attention runs on the calling thread.
    private static let inlineAttentionWork = 1 << 21

    init(config: TransformerConfig, gguf: GGUFFile, pool: ThreadPool, globals: GlobalWeights,
         layers: [any TransformerBlock]) {
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
                          scoreItems: config.headCount * Self.attentionItemsPerHead)
    }

    func makeCache(capacity: Int, type: KVCacheType) throws(ModelError) -> KVCache {
        guard cacheBytes(capacity: capacity, type: type) != nil else {
            throw .invalidInput("a \(type.rawValue) KV cache needs head sizes that are multiples of 32; this model's are \(config.keyLength) (keys) and \(config.valueLength) (values)")
        }
        return KVCache(capacity: capacity, type: type, layerWindows: config.layerWindow, ringSlack: Self.chunkSize,
                       kvHeadCount: config.kvHeadCount, keyLength: config.keyLength, valueLength: config.valueLength, owner: self)
    }

    func cacheBytes(capacity: Int, type: KVCacheType) -> Int? {
        KVCache.byteCount(type: type, capacity: capacity, layerWindows: config.layerWindow, ringSlack: Self.chunkSize,
                          kvHeadCount: config.kvHeadCount, keyLength: config.keyLength, valueLength: config.valueLength)
    }

    func forward(_ batch: ForwardBatch, mode: MatmulMode) throws(ModelError) -> [Float] {
        var logits = try run(batch, mode: mode, width: config.vocabSize, emit: emitLogits)
        if let scale = config.logitScale {
            // llama.cpp multiplies by the reciprocal; so do we, to the last bit.
            let inverse = 1 / scale
            for i in logits.indices { logits[i] *= inverse }
        }
        if let cap = config.finalLogitSoftcap {
            for i in logits.indices { logits[i] = cap * tanhf(logits[i] / cap) }
        }
        return logits
    }

    func hiddenStates(_ batch: ForwardBatch, mode: MatmulMode) throws(ModelError) -> [Float] {
        try run(batch, mode: mode, width: config.embeddingLength, emit: emitHidden)
    }

    /// One segment's rows inside one chunk: rows `rows` of the chunk, at positions `start...` of `cache`.
    struct Piece {
        let cache: KVCache
        let rows: Range<Int>
        let start: Int
    }

    /// The shared forward pass: chunk by chunk (up to ``chunkSize`` rows, across segment boundaries)
    /// through every layer, then `emit` writes the chunk's requested rows (`width` floats each) into the result.
    private func run(_ batch: ForwardBatch, mode: MatmulMode, width: Int,
                     emit: (_ chunkStart: Int, _ count: Int, _ outputRows: [Int], _ mode: MatmulMode,
                            _ out: UnsafeMutablePointer<Float>) -> Void)
        throws(ModelError) -> [Float] {
        try validate(batch)
        // Every requested row as a batch index, in result order.
        var outputs: [Int] = []
        for segment in batch.segments { outputs += segment.outputRows.map { segment.rows.lowerBound + $0 } }
        var result = [Float](repeating: 0, count: outputs.count * width)
        let tokens = batch.tokens
        guard !tokens.isEmpty else { return result }
        lock.withLock {
            scratch.reserveScores(positions: batch.segments.map(\.cache.capacity).max() ?? 0)
            result.withUnsafeMutableBufferPointer { out in
                var start = 0
                while start < tokens.count {
                    let n = min(Self.chunkSize, tokens.count - start)
                    // Each segment's part of this chunk, at its cache's current end.
                    let pieces = batch.segments.compactMap { seg -> Piece? in
                        let lo = max(seg.rows.lowerBound, start), hi = min(seg.rows.upperBound, start + n)
                        return lo < hi ? Piece(cache: seg.cache, rows: lo - start ..< hi - start, start: seg.cache.count) : nil
                    }
                    runChunk(tokens: tokens[start ..< start + n], pieces: pieces, mode: mode)
                    emit(start, n, outputs, mode, out.baseAddress!)
                    for p in pieces { p.cache.advance(by: p.rows.count) }
                    start += n
                }
            }
        }
        return result
    }

    private func validate(_ batch: ForwardBatch) throws(ModelError) {
        var next = 0
        var caches = Set<ObjectIdentifier>()
        for (i, seg) in batch.segments.enumerated() {
            let cache = seg.cache
            guard cache.ownerID == ObjectIdentifier(self) else {
                throw .invalidInput("the KV cache was made by a different model; use this model's makeCache(capacity:)")
            }
            guard caches.insert(ObjectIdentifier(cache)).inserted else {
                throw .invalidInput("segment \(i) appends to a KV cache another segment of the batch already uses")
            }
            guard seg.rows.lowerBound == next else {
                throw .invalidInput("segment \(i) starts at row \(seg.rows.lowerBound), expected \(next): segments must tile the batch in order")
            }
            next = seg.rows.upperBound
            let needed = cache.count + seg.rows.count
            if needed > cache.capacity { throw .contextOverflow(needed: needed, capacity: cache.capacity) }
            for r in seg.outputRows where r < 0 || r >= seg.rows.count {
                throw .invalidInput("output row \(r) is outside the segment's rows 0..<\(seg.rows.count)")
            }
        }
        guard next == batch.tokens.count else {
            throw .invalidInput("the segments cover \(next) rows but the batch has \(batch.tokens.count) tokens")
        }
        for t in batch.tokens where t < 0 || Int(t) >= config.vocabSize {
            throw .invalidInput("token id \(t) is outside the vocabulary 0..<\(config.vocabSize)")
        }
    }

    // MARK: - One chunk

    private func runChunk(tokens: ArraySlice<Int32>, pieces: [Piece], mode: MatmulMode) {
        let c = config, s = scratch, n = tokens.count, e = c.embeddingLength
        for (i, t) in tokens.enumerated() {
            Linear.dequantizeRow(globals.tokenEmbedding, row: Int(t), into: s.x + i * e)
        }
        if let scale = c.embeddingScale { Ops.scale(s.x, s.x, by: scale, count: n * e) }
        fillRopeTables(pieces)
        for l in 0 ..< c.layerCount { block(l, count: n, pieces: pieces, mode: mode) }
    }

    /// cos/sin of `position · frequency[i]` (times the table's magnitude) for each distinct rotation and
    /// each row's own position, in double so long positions keep their precision.
    private func fillRopeTables(_ pieces: [Piece]) {
        let half = config.rotaryDims / 2
        for (b, table) in ropeTables.enumerated() {
            let cosT = scratch.ropeCos + b * scratch.ropeStride, sinT = scratch.ropeSin + b * scratch.ropeStride
            for i in 0 ..< half {
                let freq = table.frequencies[i]
                for p in pieces {
                    for t in p.rows {
                        let theta = Double(p.start + t - p.rows.lowerBound) * freq
                        cosT[t * half + i] = Float(cos(theta)) * table.magnitude
                        sinT[t * half + i] = Float(sin(theta)) * table.magnitude
                    }
                }
            }
        }
    }

    private func block(_ l: Int, count n: Int, pieces: [Piece], mode: MatmulMode) {
        layers[l].forward(BlockContext(rows: n, layer: l, scratch: scratch, pool: pool, mode: mode,
                                       epsilon: config.rmsEpsilon, model: self, pieces: pieces))
    }

    /// Attention of layer `l` from the chunk's Q, K, V rows in the scratch (`[rows x heads·dk]`,
    /// `[rows x kvHeads·dk]`, `[rows x kvHeads·dv]`) to its heads' output `scratch.attn` (`[rows x heads·dv]`):
    /// RoPE on Q and K at each row's position, K and V appended to each piece's cache, then attention.
    func attentionCore(layer l: Int, pieces: [Piece]) {
        let c = config, s = scratch
        let qDim = c.queryWidth, kDim = c.keyWidth, vDim = c.valueWidth
        let half = c.rotaryDims / 2
        for p in pieces {
            // LongRoPE picks its factors by the sequence's context size, so each piece by its own cache.
            let r = layerRopeIndex[p.cache.capacity > longRopeThreshold ? 1 : 0][l]
            for t in p.rows {
                let cosT = s.ropeCos + r * s.ropeStride + t * half, sinT = s.ropeSin + r * s.ropeStride + t * half
                Ops.rope(s.q + t * qDim, heads: c.headCount, headDim: c.keyLength, rotaryDims: c.rotaryDims,
                         cos: cosT, sin: sinT, neox: c.ropeNeox)
                Ops.rope(s.k + t * kDim, heads: c.kvHeadCount, headDim: c.keyLength, rotaryDims: c.rotaryDims,
                         cos: cosT, sin: sinT, neox: c.ropeNeox)
            }
        }
        for p in pieces { rotateForCache(piece: p, qDim: qDim, kDim: kDim, vDim: vDim) }
        for p in pieces { storeKV(layer: l, piece: p, kDim: kDim, vDim: vDim) }
        attention(layer: l, pieces: pieces)
        for p in pieces { rotateOutputBack(piece: p) }
    }

    /// Rotates a piece's Q and K rows (after RoPE) and V rows for its cache type (``KVRotation``; nothing for
    /// f32 and f16): a quantized cache then stores keys and values whose outlier channels are spread over
    /// their blocks, and the scores are unchanged in exact arithmetic since Q turns with K.
    private func rotateForCache(piece p: Piece, qDim: Int, kDim: Int, vDim: Int) {
        let c = config, s = scratch, type = p.cache.type
        let kn = KVRotation.keyBlock(for: type, headDim: c.keyLength), vn = KVRotation.valueBlock(for: type, headDim: c.valueLength)
        guard kn != nil || vn != nil else { return }
        forEachRow(of: p) { t in
            if let n = kn {
                KVRotation.rotate(s.q + t * qDim, count: qDim, block: n)
                KVRotation.rotate(s.k + t * kDim, count: kDim, block: n)
            }
            if let n = vn { KVRotation.rotate(s.v + t * vDim, count: vDim, block: n) }
        }
    }

    /// Undoes the V rotation on a piece's attention output: its weighted sums of rotated V rows are the
    /// rotated output, and the rotation is its own inverse.
    private func rotateOutputBack(piece p: Piece) {
        let c = config, out = scratch.attn, width = c.headCount * c.valueLength
        guard let n = KVRotation.valueBlock(for: p.cache.type, headDim: c.valueLength) else { return }
        forEachRow(of: p) { t in KVRotation.rotate(out + t * width, count: width, block: n) }
    }

    /// Rows per pool item of the rotations: a prompt chunk's rotations (qwen2.5-coder, 512 rows x 2048 values:
    /// ~0.6 ms a layer on one core, under 1% of its prefill) spread over the pool; a decode step's few rows
    /// stay inline, where a pool round trip would cost more than the work.
    private static let rotationRowsPerItem = 64

    /// `body(t)` for every row `t` of `p`; each row's work is its own, so the split does not change results.
    private func forEachRow(of p: Piece, _ body: (Int) -> Void) {
        let per = Self.rotationRowsPerItem, items = (p.rows.count + per - 1) / per
        guard items > 1 else { for t in p.rows { body(t) }; return }
        pool.parallelFor(items) { i in
            let lo = p.rows.lowerBound + i * per
            for t in lo ..< min(lo + per, p.rows.upperBound) { body(t) }
        }
    }

    private func rmsNormRows(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ weight: [Float],
                             rows: Int, width: Int) {
        weight.withUnsafeBufferPointer { wb in
            Ops.rmsNorm(y, x, weight: wb.baseAddress!, epsilon: config.rmsEpsilon, count: width, rows: rows)
        }
    }

    /// Stores a piece's K and V rows (`[token][kvHead][dim]`, f32) into its cache's `[kvHead][slot][row]`
    /// in the cache's type (slot = position modulo the layer's slots: a ring on sliding-window layers).
    private func storeKV(layer l: Int, piece p: Piece, kDim: Int, vDim: Int) {
        let c = config, cache = p.cache, slots = cache.layerSlots[l]
        precondition(p.rows.count <= Self.chunkSize, "a chunk larger than the ring slack would overwrite keys it still reads")
        for h in 0 ..< c.kvHeadCount {
            let kc = cache.keys(layer: l, head: h), vc = cache.values(layer: l, head: h)
            for (i, t) in p.rows.enumerated() {
                let slot = (p.start + i) % slots
                KVRows.store(cache.type, scratch.k + t * kDim + h * c.keyLength, into: kc + slot * cache.keyRowBytes,
                             count: c.keyLength)
                KVRows.store(cache.type, scratch.v + t * vDim + h * c.valueLength, into: vc + slot * cache.valueRowBytes,
                             count: c.valueLength)
            }
        }
    }

    /// Causal (and, on sliding-window layers, windowed) attention of each piece's queries over its own
    /// cache: per query head, scores = q·K over the visible range, softmax, then the weighted sum of V.
    ///
    /// Work items are (piece, split, KV head, query heads of that KV head's group): a split takes every
    /// `splits`-th row of its piece, so a long prompt's causal triangle is shared evenly, and attends its
    /// rows in blocks of up to ``attentionRowBlock`` rows x the item's query heads, so each K/V row is
    /// converted once per block. Every (query, key) score and every query's weighted sum runs the same
    /// arithmetic in the same order as one query alone, so a row's result does not depend on which item,
    /// block or thread runs it: results stay batch-invariant. Items go to the pool in groups whose
    /// score rows fit ``Scratch``.
    private func attention(layer l: Int, pieces: [Piece]) {
        let heads = config.headCount, kvHeads = config.kvHeadCount, group = heads / kvHeads
        let dk = config.keyLength, dv = config.valueLength
        // One entry per (piece, split, head subgroup); each runs once per KV head.
        var items: [(piece: Int, split: Int, splits: Int, block: Int, heads: Range<Int>, scoreRow: Int)] = []
        var rowsUsed = 0, work = 0
        func flush() {
            // A decode step's attention is tiny next to its matmuls; a pool round trip would cost more
            // than it saves (and on a busy machine each barrier can wait for a descheduled worker).
            let batchItems = items
            let body = { (i: Int) in
                let item = batchItems[i / kvHeads], g = i % kvHeads
                // Each KV head's items take the next `block · heads.count` score rows of the entry's share.
                let row = item.scoreRow + g * item.block * item.heads.count
                self.attend(layer: l, piece: pieces[item.piece], kvHead: g, heads: item.heads, split: item.split,
                            splits: item.splits, block: item.block, scores: self.scratch.scores + row * self.scratch.scoreStride)
            }
            if work < Self.inlineAttentionWork {
                for i in 0 ..< batchItems.count * kvHeads { body(i) }
            } else {
                pool.parallelFor(batchItems.count * kvHeads, body)
            }
            items.removeAll(keepingCapacity: true)
            rowsUsed = 0
            work = 0
        }
        for (index, p) in pieces.enumerated() {
            let splits = min(p.rows.count, Self.attentionSplits)
            let block = min(Self.attentionRowBlock, (p.rows.count + splits - 1) / splits)
            // Fewer (segment, split, KV head) items than the pool has threads split each KV group's query heads
            // over several items, so a decode step of a model with one KV head still uses every thread; no
            // more than that, because an item attends all its heads together (each K/V row converted once for
            // all of them, 2-4x the rate of one head alone) and its results do not depend on the grouping.
            let minItems = pool.threadCount
            let subgroups = min(group, max(1, (minItems + splits * kvHeads - 1) / (splits * kvHeads)))
            // splits · block · heads <= attentionItemsPerHead · heads = scoreItems: a piece always fits alone.
            if rowsUsed + splits * block * heads > scratch.scoreItems { flush() }
            for split in 0 ..< splits {
                for sub in 0 ..< subgroups {
                    let hs = sub * group / subgroups ..< (sub + 1) * group / subgroups
                    items.append((index, split, splits, block, hs, rowsUsed))
                    rowsUsed += block * hs.count * kvHeads
                }
            }
            work += heads * p.rows.count * (p.start + p.rows.count) * (dk + dv)
        }
        if !items.isEmpty { flush() }
    }

    /// Query heads `g · group + heads` (those of KV head `g`) over every `splits`-th row of `piece` from
    /// `split` on, `block` rows at a time; `sc` holds `block · heads.count` rows of `scoreStride`
    /// (one per query, `[row in block][head]`), each one row of the cache's positions.
    ///
    /// A block's rows see keys `[lo_k, p_k]` (lo from the window, 0 without one). The positions every
    /// row sees, `[lo of the last row, p of the first]`, go through the blocked kernels; each row's own
    /// prefix and suffix through the per-query ones. The weighted sum takes prefix, shared run and
    /// suffix in position order, so each output lane sees the same chain of fmas as a single call.
    private func attend(layer l: Int, piece: Piece, kvHead g: Int, heads hs: Range<Int>, split: Int, splits: Int,
                        block: Int, scores sc: UnsafeMutablePointer<Float>) {
        let c = config, s = scratch
        let heads = c.headCount, group = c.headCount / c.kvHeadCount
        let dk = c.keyLength, dv = c.valueLength, scale = c.attentionScale
        let cache = piece.cache, type = cache.type, kRow = cache.keyRowBytes, vRow = cache.valueRowBytes
        let window = c.layerWindow[l], slots = cache.layerSlots[l], stride = s.scoreStride
        let keys = cache.keys(layer: l, head: g), values = cache.values(layer: l, head: g)
        let h0 = g * group + hs.lowerBound, hn = hs.count
        func lowest(_ p: Int) -> Int { window.map { max(0, p - $0 + 1) } ?? 0 }
        // Positions [a, a + n) of the ring: one run up to its end, then the rest from slot 0.
        func runs(_ a: Int, _ n: Int, _ f: (_ slot: Int, _ count: Int, _ done: Int) -> Void) {
            guard n > 0 else { return }
            let first = a % slots, run1 = min(n, slots - first)
            f(first, run1, 0)
            if n > run1 { f(0, n - run1, run1) }
        }
        // [query] pointers: queries and weights (score rows), then score rows and outputs.
        withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: 2 * block * hn) { cp in
        withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<Float>?.self, capacity: 2 * block * hn) { mp in
            let queries = cp.baseAddress!, weights = queries + block * hn
            let scoreRows = mp.baseAddress!, outputs = scoreRows + block * hn
            var i = split
            while i < piece.rows.count {
                let nb = min(block, (piece.rows.count - i + splits - 1) / splits)
                let last = piece.start + i + (nb - 1) * splits, first = piece.start + i
                // The run every row of the block sees: [shared, shared + sharedCount).
                let shared = lowest(last), sharedCount = max(0, first - shared + 1)
                // Row k of the block: its scratch row, position, lowest visible position, and how many of its
                // keys come before the shared run (`pre`) and after it (`suf`). Without a shared run the whole
                // span is the prefix.
                func rowSpan(_ k: Int) -> (t: Int, p: Int, lo: Int, pre: Int, suf: Int) {
                    let p = first + k * splits, lo = lowest(p)
                    return (piece.rows.lowerBound + i + k * splits, p, lo,
                            sharedCount > 0 ? shared - lo : p - lo + 1, sharedCount > 0 ? p - first : 0)
                }
                for k in 0 ..< nb {
                    let (t, p, lo, pre, suf) = rowSpan(k)
                    for hh in 0 ..< hn {
                        let m = k * hn + hh, row = sc + m * stride
                        let qv = s.q + t * heads * dk + (h0 + hh) * dk
                        queries[m] = UnsafePointer(qv)
                        scoreRows[m] = row + pre
                        weights[m] = UnsafePointer(row + pre)
                        outputs[m] = s.attn + t * heads * dv + (h0 + hh) * dv
                        runs(lo, pre) { slot, n, done in
                            KVRows.dots(type, query: qv, rows: keys + slot * kRow, stride: kRow, count: n, length: dk,
                                        scale: scale, into: row + done)
                        }
                        runs(p - suf + 1, suf) { slot, n, done in
                            KVRows.dots(type, query: qv, rows: keys + slot * kRow, stride: kRow, count: n, length: dk,
                                        scale: scale, into: row + pre + sharedCount + done)
                        }
                    }
                }
                runs(shared, sharedCount) { slot, n, done in
                    KVRows.dots(type, queries: queries, count: nb * hn, rows: keys + slot * kRow, stride: kRow, rowCount: n,
                                length: dk, scale: scale, into: scoreRows, offset: done)
                }
                for k in 0 ..< nb {
                    let r = rowSpan(k), span = r.p - r.lo + 1
                    for hh in 0 ..< hn {
                        let row = sc + (k * hn + hh) * stride
                        if let cap = c.attentionSoftcap { for j in 0 ..< span { row[j] = cap * tanhf(row[j] / cap) } }
                        Ops.softmax(row, count: span)
                        outputs[k * hn + hh]!.update(repeating: 0, count: dv)
                    }
                }
                // Weighted sums in position order: each row's prefix, the shared run, each row's suffix.
                for k in 0 ..< nb {
                    let (_, _, lo, pre, _) = rowSpan(k)
                    for hh in 0 ..< hn {
                        let m = k * hn + hh, scores = sc + m * stride
                        runs(lo, pre) { slot, n, done in
                            KVRows.accumulate(type, into: outputs[m]!, weights: scores + done, rows: values + slot * vRow,
                                              stride: vRow, count: n, length: dv)
                        }
                    }
                }
                runs(shared, sharedCount) { slot, n, done in
                    KVRows.accumulate(type, into: outputs, count: nb * hn, weights: weights, offset: done,
                                      rows: values + slot * vRow, stride: vRow, rowCount: n, length: dv)
                }
                for k in 0 ..< nb {
                    let (_, p, _, pre, suf) = rowSpan(k)
                    for hh in 0 ..< hn {
                        let m = k * hn + hh, scores = sc + m * stride
                        runs(p - suf + 1, suf) { slot, n, done in
                            KVRows.accumulate(type, into: outputs[m]!, weights: scores + pre + sharedCount + done,
                                              rows: values + slot * vRow, stride: vRow, count: n, length: dv)
                        }
                    }
                }
                i += nb * splits
            }
        }
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
    private func emitLogits(chunkStart: Int, count n: Int, outputRows: [Int], mode: MatmulMode,
                            into out: UnsafeMutablePointer<Float>) {
        let vocab = config.vocabSize
        emitRows(chunkStart: chunkStart, count: n, outputRows: outputRows) { len, j in
            Linear.matmul(globals.output, scratch.h, batch: len, out + j * vocab, pool: pool, mode: mode)
        }
    }

    /// Hidden states of the requested rows after the final norm (llama.cpp's `result_norm`, what its
    /// embedding pooling reads), `[rows x embd]`.
    private func emitHidden(chunkStart: Int, count n: Int, outputRows: [Int], mode: MatmulMode,
                            into out: UnsafeMutablePointer<Float>) {
        let e = config.embeddingLength
        emitRows(chunkStart: chunkStart, count: n, outputRows: outputRows) { len, j in
            (out + j * e).update(from: scratch.h, count: len * e)
        }
    }
}
