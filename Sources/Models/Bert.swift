import GGUF
import Kernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The BERT encoder (sentence-transformers models such as all-MiniLM-L6-v2, bge, e5): text in, one
/// embedding per input out. Not a next-token predictor.
///
/// Conventions (Hugging Face `BertModel`; GGUF layout from llama.cpp's converter, `conversion/bert.py`):
/// - input = token embedding + learned absolute position embedding + token-type embedding (type 0:
///   every input is a single segment), then LayerNorm (`token_embd_norm`);
/// - post-LayerNorm blocks: `x = LN(x + Attn(x))`, `x = LN(x + FFN(x))`, biases on every linear layer;
/// - bidirectional attention: every token of an input sees every token of that input;
/// - FFN: `down(GELU(up(x)))` with the exact erf GELU (BERT's `hidden_act = gelu`; llama.cpp uses the
///   tanh approximation, which drifts from the sentence-transformers reference);
/// - pooling from `bert.pooling_type` (mean, CLS or last; CLS, BERT's own pooler token, when absent),
///   then L2 normalisation.
///
/// Quantized layer matrices of a small encoder are widened to F32 at load (``widenedWeightLimit``):
/// the quantized matmuls also quantize the activations to 8 bits, which on all-MiniLM Q8_0 costs
/// short inputs up to 2e-3 of cosine to the F32 model (0.9981, llama.cpp alike), against 5e-4 with
/// the same Q8_0 weights applied in F32 (0.9995). An encoder this size is cheap to hold in F32.
///
/// Many inputs run in one pass: they are packed back to back, without padding, into batches of up to
/// ``batchTokens`` rows for the matmuls, and attention runs per input, so no work is spent on padding
/// and an input's vector does not depend on its neighbours.
final class BertModel: EmbeddingModel, LanguageModel, @unchecked Sendable {
    static let architecture = "bert"

    struct Config: Sendable {
        var vocabSize: Int
        var contextLength: Int
        var embeddingLength: Int
        var layerCount: Int
        var headCount: Int
        var feedForwardLength: Int
        var layerNormEpsilon: Float
        var pooling: EmbeddingPooling
        var headDim: Int { embeddingLength / headCount }
    }

    struct Layer: Sendable {
        var wq: WeightMatrix, wk: WeightMatrix, wv: WeightMatrix, wo: WeightMatrix
        var bq: [Float], bk: [Float], bv: [Float], bo: [Float]
        var attnNorm: [Float], attnNormBias: [Float]
        var up: WeightMatrix, down: WeightMatrix
        var upBias: [Float], downBias: [Float]
        var outNorm: [Float], outNormBias: [Float]
    }

    let config: Config
    let info: ModelInfo
    var pooling: EmbeddingPooling { config.pooling }
    /// Kept so the mapping behind every `WeightMatrix` lives as long as the model.
    private let gguf: GGUFFile
    private let pool: ThreadPool
    private let tokenEmbedding: WeightMatrix  // [vocab x embd]
    private let positionEmbedding: WeightMatrix  // [context x embd]
    private let tokenType0: [Float]  // [embd]: row 0 of token_types
    private let embeddingNorm: [Float], embeddingNormBias: [Float]
    private let layers: [Layer]
    private let scratch: BertScratch
    private let lock = ForwardLock()
    /// F32 copies of widened quantized matrices (the `WeightMatrix`es point into them).
    private let widened: WidenedWeights?
    /// Quantized layer weights up to this many parameters are widened to F32 at load (256 MB).
    static let widenedWeightLimit = 64 << 20
    /// Rows per packed batch: at least one whole input of the maximum length.
    let batchTokens: Int

    init(config: Config, gguf: GGUFFile, pool: ThreadPool, tokenEmbedding: WeightMatrix, positionEmbedding: WeightMatrix,
         tokenType0: [Float], embeddingNorm: [Float], embeddingNormBias: [Float], layers: [Layer], widened: WidenedWeights?) {
        self.config = config
        info = ModelInfo(architecture: Self.architecture, vocabSize: config.vocabSize, contextLength: config.contextLength,
                         embeddingLength: config.embeddingLength, layerCount: config.layerCount,
                         headCount: config.headCount, kvHeadCount: config.headCount)
        self.gguf = gguf
        self.pool = pool
        self.tokenEmbedding = tokenEmbedding
        self.positionEmbedding = positionEmbedding
        self.tokenType0 = tokenType0
        self.embeddingNorm = embeddingNorm
        self.embeddingNormBias = embeddingNormBias
        self.layers = layers
        self.widened = widened
        batchTokens = max(512, config.contextLength)
        scratch = BertScratch(rows: batchTokens, embd: config.embeddingLength, ffn: config.feedForwardLength)
    }

    // MARK: - Loading

    static func load(_ gguf: GGUFFile, pool: ThreadPool) throws(ModelError) -> any LanguageModel {
        let a = architecture
        let m = MetadataReader(gguf: gguf, arch: a)
        let embd = try m.int(GGUFKey.embeddingLength(a))
        let heads = try m.int(GGUFKey.headCount(a))
        let ctx = try m.int(GGUFKey.contextLength(a))
        let layerCount = try m.int(GGUFKey.blockCount(a))
        let ffn = try m.int(GGUFKey.feedForwardLength(a))
        for (v, key) in [(embd, GGUFKey.embeddingLength(a)), (heads, GGUFKey.headCount(a)), (ctx, GGUFKey.contextLength(a)),
                         (layerCount, GGUFKey.blockCount(a)), (ffn, GGUFKey.feedForwardLength(a))] where v <= 0 {
            throw .invalidMetadata(key: key, reason: "must be positive, found \(v)")
        }
        if embd % heads != 0 {
            throw .invalidMetadata(key: GGUFKey.headCount(a), reason: "\(heads) heads do not divide the embedding length \(embd)")
        }
        if gguf.bool(GGUFKey.causalAttention(a)) == true {
            throw .invalidMetadata(key: GGUFKey.causalAttention(a), reason: "a causal BERT is not supported (encoders attend both ways)")
        }
        let pooling: EmbeddingPooling
        if gguf[GGUFKey.poolingType(a)] == nil {
            pooling = .cls
        } else {
            let v = try m.int(GGUFKey.poolingType(a))
            guard let p = EmbeddingPooling(ggufValue: v) else {
                throw .invalidMetadata(key: GGUFKey.poolingType(a),
                                       reason: "pooling type \(v) is not supported for embeddings (1 mean, 2 CLS, 3 last)")
            }
            pooling = p
        }
        guard let embRows = gguf.tensor(named: GGUFTensorName.tokenEmbedding).flatMap({ $0.dimensions.count == 2 ? $0.dimensions[1] : nil })
        else { throw .missingTensor(GGUFTensorName.tokenEmbedding) }
        guard let typeRows = gguf.tensor(named: GGUFTensorName.tokenTypes).flatMap({ $0.dimensions.count == 2 ? $0.dimensions[1] : nil }),
              typeRows >= 1 else { throw .missingTensor(GGUFTensorName.tokenTypes) }
        let config = Config(vocabSize: embRows, contextLength: ctx, embeddingLength: embd, layerCount: layerCount,
                            headCount: heads, feedForwardLength: ffn,
                            layerNormEpsilon: try m.float(GGUFKey.layerNormEpsilon(a), default: 1e-12), pooling: pooling)

        let b = WeightBinder(gguf: gguf)
        let types = try b.matrix(GGUFTensorName.tokenTypes, rows: typeRows, cols: embd)
        var type0 = [Float](repeating: 0, count: embd)
        type0.withUnsafeMutableBufferPointer { Linear.dequantizeRow(types, row: 0, into: $0.baseAddress!) }
        var layers: [Layer] = []
        layers.reserveCapacity(layerCount)
        for i in 0 ..< layerCount {
            func n(_ t: GGUFTensorName.BlockTensor) -> String { GGUFTensorName.block(i, t) }
            layers.append(Layer(
                wq: try b.matrix(n(.attnQ), rows: embd, cols: embd),
                wk: try b.matrix(n(.attnK), rows: embd, cols: embd),
                wv: try b.matrix(n(.attnV), rows: embd, cols: embd),
                wo: try b.matrix(n(.attnOutput), rows: embd, cols: embd),
                bq: try b.vector(n(.attnQBias), count: embd),
                bk: try b.vector(n(.attnKBias), count: embd),
                bv: try b.vector(n(.attnVBias), count: embd),
                bo: try b.vector(n(.attnOutputBias), count: embd),
                attnNorm: try b.vector(n(.attnOutputNorm), count: embd),
                attnNormBias: try b.vector(n(.attnOutputNormBias), count: embd),
                up: try b.matrix(n(.ffnUp), rows: ffn, cols: embd),
                down: try b.matrix(n(.ffnDown), rows: embd, cols: ffn),
                upBias: try b.vector(n(.ffnUpBias), count: ffn),
                downBias: try b.vector(n(.ffnDownBias), count: embd),
                outNorm: try b.vector(n(.layerOutputNorm), count: embd),
                outNormBias: try b.vector(n(.layerOutputNormBias), count: embd)))
        }
        var widened: WidenedWeights?
        let quantized = layers.flatMap { [$0.wq, $0.wk, $0.wv, $0.wo, $0.up, $0.down] }.filter { $0.type != .f32 }
        if !quantized.isEmpty, quantized.reduce(0, { $0 + $1.rows * $1.cols }) <= widenedWeightLimit {
            widened = try WidenedWeights(widening: &layers)
        }
        return BertModel(config: config, gguf: gguf, pool: pool,
                         tokenEmbedding: try b.matrix(GGUFTensorName.tokenEmbedding, rows: embRows, cols: embd),
                         positionEmbedding: try b.matrix(GGUFTensorName.positionEmbedding, rows: ctx, cols: embd),
                         tokenType0: type0,
                         embeddingNorm: try b.vector(GGUFTensorName.tokenEmbeddingNorm, count: embd),
                         embeddingNormBias: try b.vector(GGUFTensorName.tokenEmbeddingNormBias, count: embd),
                         layers: layers, widened: widened)
    }

    // MARK: - LanguageModel: an encoder predicts no next token

    static let notGenerative = "'bert' is an encoder-only embedding model: it has no next-token logits (use `swiftlm embed`)"

    func makeCache(capacity: Int, type: KVCacheType) throws(ModelError) -> KVCache {
        KVCache(capacity: capacity, type: type, layerWindows: [], ringSlack: 0, kvHeadCount: 0, keyLength: 0, valueLength: 0,
                owner: self)
    }

    func cacheBytes(capacity: Int, type: KVCacheType) -> Int? { 0 }

    func forward(_ batch: ForwardBatch, mode: MatmulMode) throws(ModelError) -> [Float] {
        throw .invalidInput(Self.notGenerative)
    }

    func hiddenStates(_ batch: ForwardBatch, mode: MatmulMode) throws(ModelError) -> [Float] {
        throw .invalidInput(Self.notGenerative)
    }

    // MARK: - Embedding

    func embed(_ sequences: [[Int32]]) throws(ModelError) -> [[Float]] {
        for (i, s) in sequences.enumerated() {
            if s.isEmpty { throw .invalidInput("input \(i) has no tokens") }
            if s.count > config.contextLength { throw .contextOverflow(needed: s.count, capacity: config.contextLength) }
            for t in s where t < 0 || Int(t) >= config.vocabSize {
                throw .invalidInput("token id \(t) is outside the vocabulary 0..<\(config.vocabSize)")
            }
        }
        let e = config.embeddingLength
        var out = [[Float]](repeating: [], count: sequences.count)
        lock.withLock {
            var first = 0
            while first < sequences.count {
                // Pack whole inputs until the next would overflow the batch.
                var spans: [(start: Int, count: Int)] = []
                var rows = 0, next = first
                while next < sequences.count, rows + sequences[next].count <= batchTokens {
                    spans.append((rows, sequences[next].count))
                    rows += sequences[next].count
                    next += 1
                }
                runBatch(sequences[first ..< next], spans: spans, rows: rows)
                for (k, span) in spans.enumerated() {
                    var v = [Float](repeating: 0, count: e)
                    v.withUnsafeMutableBufferPointer {
                        config.pooling.pool(scratch.x + span.start * e, rows: span.count, width: e, into: $0.baseAddress!)
                    }
                    out[first + k] = v
                }
                first = next
            }
        }
        return out
    }

    /// The encoder over one packed batch; leaves the final hidden states in `scratch.x` `[rows x embd]`.
    private func runBatch(_ sequences: ArraySlice<[Int32]>, spans: [(start: Int, count: Int)], rows n: Int) {
        let c = config, s = scratch, e = c.embeddingLength, f = c.feedForwardLength
        var row = 0
        for seq in sequences {
            for (p, t) in seq.enumerated() {
                Linear.dequantizeRow(tokenEmbedding, row: Int(t), into: s.x + row * e)
                Linear.dequantizeRow(positionEmbedding, row: p, into: s.o + row * e)
                Ops.axpy(s.x + row * e, 1, s.o + row * e, count: e)
                row += 1
            }
        }
        addBias(s.x, tokenType0, rows: n)
        layerNorm(s.x, embeddingNorm, embeddingNormBias, rows: n)
        for w in layers {
            Linear.matmul(w.wq, s.x, batch: n, s.q, pool: pool, mode: .batchInvariant)
            Linear.matmul(w.wk, s.x, batch: n, s.k, pool: pool, mode: .batchInvariant)
            Linear.matmul(w.wv, s.x, batch: n, s.v, pool: pool, mode: .batchInvariant)
            addBias(s.q, w.bq, rows: n)
            addBias(s.k, w.bk, rows: n)
            addBias(s.v, w.bv, rows: n)
            attention(spans)
            Linear.matmul(w.wo, s.attn, batch: n, s.o, pool: pool, mode: .batchInvariant)
            addBias(s.o, w.bo, rows: n)
            Ops.axpy(s.x, 1, s.o, count: n * e)
            layerNorm(s.x, w.attnNorm, w.attnNormBias, rows: n)

            Linear.matmul(w.up, s.x, batch: n, s.ffn, pool: pool, mode: .batchInvariant)
            addBias(s.ffn, w.upBias, rows: n)
            gelu(s.ffn, count: n * f)
            Linear.matmul(w.down, s.ffn, batch: n, s.o, pool: pool, mode: .batchInvariant)
            addBias(s.o, w.downBias, rows: n)
            Ops.axpy(s.x, 1, s.o, count: n * e)
            layerNorm(s.x, w.outNorm, w.outNormBias, rows: n)
        }
    }

    /// Bidirectional attention inside each input: per (input, head), scores of every query row against
    /// every key row of the same input, softmax, weighted sum of its value rows.
    /// Q, K, V and the output are `[rows x heads*headDim]`.
    private func attention(_ spans: [(start: Int, count: Int)]) {
        let heads = config.headCount, d = config.headDim, e = config.embeddingLength
        let scale = 1 / Float(d).squareRoot()
        let q = scratch.q, k = scratch.k, v = scratch.v, out = scratch.attn
        func run(_ item: Int) {
            let span = spans[item / heads], h = item % heads, len = span.count
            withUnsafeTemporaryAllocation(of: Float.self, capacity: len) { buf in
                let sc = buf.baseAddress!
                for i in 0 ..< len {
                    let qi = q + (span.start + i) * e + h * d
                    for j in 0 ..< len { sc[j] = Ops.dot(qi, k + (span.start + j) * e + h * d, count: d) * scale }
                    Ops.softmax(sc, count: len)
                    let o = out + (span.start + i) * e + h * d
                    o.update(repeating: 0, count: d)
                    for j in 0 ..< len { Ops.axpy(o, sc[j], v + (span.start + j) * e + h * d, count: d) }
                }
            }
        }
        pool.parallelFor(spans.count * heads, run)
    }

    private func addBias(_ y: UnsafeMutablePointer<Float>, _ bias: [Float], rows: Int) {
        bias.withUnsafeBufferPointer { b in
            for r in 0 ..< rows { Ops.axpy(y + r * b.count, 1, b.baseAddress!, count: b.count) }
        }
    }

    /// In place, per row: `(x - mean) / sqrt(var + eps) * weight + bias` (biased variance, as torch).
    private func layerNorm(_ x: UnsafeMutablePointer<Float>, _ weight: [Float], _ bias: [Float], rows: Int) {
        let e = config.embeddingLength, eps = config.layerNormEpsilon
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                for r in 0 ..< rows {
                    let row = x + r * e
                    var sum: Float = 0
                    for j in 0 ..< e { sum += row[j] }
                    let mean = sum / Float(e)
                    var sq: Float = 0
                    for j in 0 ..< e { let d = row[j] - mean; sq += d * d }
                    let inv = 1 / (sq / Float(e) + eps).squareRoot()
                    for j in 0 ..< e { row[j] = (row[j] - mean) * inv * w[j] + b[j] }
                }
            }
        }
    }

    /// Exact GELU, `x/2 · (1 + erf(x/√2))`, in place.
    private func gelu(_ x: UnsafeMutablePointer<Float>, count n: Int) {
        let invSqrt2: Float = 0.70710678118654752
        for i in 0 ..< n { x[i] = 0.5 * x[i] * (1 + erff(x[i] * invSqrt2)) }
    }
}

/// Activation buffers of one packed batch, allocated once at load.
final class BertScratch {
    let x: UnsafeMutablePointer<Float>     // [rows x embd] residual stream / hidden states
    let o: UnsafeMutablePointer<Float>     // [rows x embd] sub-block output
    let q: UnsafeMutablePointer<Float>     // [rows x embd]
    let k: UnsafeMutablePointer<Float>     // [rows x embd]
    let v: UnsafeMutablePointer<Float>     // [rows x embd]
    let attn: UnsafeMutablePointer<Float>  // [rows x embd]
    let ffn: UnsafeMutablePointer<Float>   // [rows x ffn]
    private let owned: [UnsafeMutablePointer<Float>]

    init(rows: Int, embd: Int, ffn f: Int) {
        func make(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(1, n))
            p.initialize(repeating: 0, count: max(1, n))
            return p
        }
        x = make(rows * embd); o = make(rows * embd)
        q = make(rows * embd); k = make(rows * embd); v = make(rows * embd); attn = make(rows * embd)
        ffn = make(rows * f)
        owned = [x, o, q, k, v, attn, ffn]
    }

    deinit { for p in owned { p.deallocate() } }
}

/// Owns F32 copies of quantized matrices for the model's lifetime. Immutable after `init`: the
/// buffers are written while widening and only read afterwards.
final class WidenedWeights: @unchecked Sendable {
    private let buffers: [UnsafeMutablePointer<Float>]

    /// Replaces every quantized matmul weight of `layers` by an F32 copy.
    init(widening layers: inout [BertModel.Layer]) throws(ModelError) {
        var buffers: [UnsafeMutablePointer<Float>] = []
        func widen(_ m: WeightMatrix) throws(ModelError) -> WeightMatrix {
            guard m.type != .f32 else { return m }
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(1, m.rows * m.cols))
            buffers.append(p)
            for r in 0 ..< m.rows { Linear.dequantizeRow(m, row: r, into: p + r * m.cols) }
            do {
                return try WeightMatrix(name: m.name, type: .f32, data: UnsafeRawPointer(p), rows: m.rows, cols: m.cols)
            } catch {
                throw .invalidInput("cannot widen \(m.name) to F32: \(error)")
            }
        }
        do {
            for l in layers.indices {
                layers[l].wq = try widen(layers[l].wq); layers[l].wk = try widen(layers[l].wk)
                layers[l].wv = try widen(layers[l].wv); layers[l].wo = try widen(layers[l].wo)
                layers[l].up = try widen(layers[l].up); layers[l].down = try widen(layers[l].down)
            }
        } catch {
            for p in buffers { p.deallocate() }
            throw error
        }
        self.buffers = buffers
    }

    deinit { for p in buffers { p.deallocate() } }
}
