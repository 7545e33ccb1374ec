import GGUF
import Kernels

/// One transformer block of an architecture: its own weights and the order it runs its sub-layers in.
///
/// Each architecture file declares its block as a composition of the shared sub-layers below (``RMSNorm``,
/// ``Attention``, ``GatedFFN``, ``ExpertFFN``), binds their tensors by name, and writes `forward` in the
/// order its reference implementation (llama.cpp's `src/models/<arch>.cpp`) applies them. The model runs the
/// blocks over a chunk of rows from several sequences; a block never sees sequences or caches, only the
/// chunk's residual stream (`context.scratch.x`, `[rows x embd]`).
protocol TransformerBlock: Sendable {
    func forward(_ context: BlockContext)
}

/// A sub-layer from `[rows x embd]` to `[rows x embd]` (attention, a dense or expert FFN).
protocol BlockSublayer: Sendable {
    func callAsFunction(_ c: BlockContext, _ input: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>)
}

/// The block most of the llama family shares (llama.cpp's `llama.cpp`, `qwen2.cpp`, `qwen3.cpp`, `phi3.cpp`,
/// `granite.cpp`...): `x += s · attention(norm(x))`, then `x += s · ffn(norm(x))`, with `attn_norm` and
/// `ffn_norm` RMSNorms and `s` granite's `residual_scale` (1 elsewhere). What differs between those
/// architectures lives in the sub-layers their files bind.
struct PreNormBlock<FFN: BlockSublayer>: TransformerBlock {
    var attentionNorm: RMSNorm
    var attention: Attention
    var ffnNorm: RMSNorm
    var ffn: FFN
    var residualScale: Float = 1

    /// Binds layer `i`'s `attn_norm` and `ffn_norm` around the given sub-layers.
    init(_ b: WeightBinder, layer i: Int, _ c: TransformerConfig, attention: Attention, ffn: FFN,
         residualScale: Float = 1) throws(ModelError) {
        attentionNorm = try RMSNorm(b, GGUFTensorName.block(i, .attnNorm), width: c.embeddingLength)
        self.attention = attention
        ffnNorm = try RMSNorm(b, GGUFTensorName.block(i, .ffnNorm), width: c.embeddingLength)
        self.ffn = ffn
        self.residualScale = residualScale
    }

    func forward(_ c: BlockContext) {
        let s = c.scratch
        attentionNorm(c, s.x, into: s.h)
        attention(c, s.h, into: s.o)
        c.addResidual(s.o, scale: residualScale)
        ffnNorm(c, s.x, into: s.h)
        ffn(c, s.h, into: s.o)
        c.addResidual(s.o, scale: residualScale)
    }
}

/// What a block's forward pass works with: the chunk's rows, the model's activation buffers, the matmul
/// settings, and the model's attention core for its layer.
struct BlockContext {
    /// Rows of the chunk (tokens of every sequence in it).
    let rows: Int
    let layer: Int
    let scratch: Scratch
    let pool: ThreadPool
    let mode: MatmulMode
    let epsilon: Float
    /// RoPE, KV storage and attention over each sequence's cache live in the model (``TransformerModel``).
    let model: TransformerModel
    let pieces: [TransformerModel.Piece]

    /// `x += scale · y` over the chunk's residual stream (`y`: `[rows x embd]`).
    func addResidual(_ y: UnsafePointer<Float>, scale: Float = 1) {
        let width = model.config.embeddingLength, x = scratch.x
        // Row by row: a row's lanes then never depend on where a vector body's tail falls in the chunk.
        forRowRanges(rows) { r in for t in r { Ops.axpy(x + t * width, scale, y + t * width, count: width) } }
    }

    /// Rows of a chunk below which row-wise work stays on the calling thread: a hand-off to the pool costs
    /// a few microseconds, about what 64 rows of an elementwise op take.
    static let parallelRows = 64

    /// Calls `body` on ranges covering `0 ..< n` (rows, or any independent runs), on the pool when there are
    /// at least ``parallelRows`` of them: for a prompt the calling thread would otherwise work alone while
    /// the other threads wait. Per-row work gives the same results however the rows are split.
    func forRowRanges(_ n: Int, _ body: (Range<Int>) -> Void) {
        let threads = pool.threadCount
        guard n >= Self.parallelRows, threads > 1 else { return body(0 ..< n) }
        let parts = 2 * threads
        pool.parallelFor(parts) { i in body(i * n / parts ..< (i + 1) * n / parts) }
    }

    /// Calls `body(row, position)` for every row of the chunk: its index and its position in its sequence.
    func forEachRow(_ body: (_ row: Int, _ position: Int) -> Void) {
        for p in pieces {
            for t in p.rows { body(t, p.start + t - p.rows.lowerBound) }
        }
    }

    func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, rows n: Int? = nil, into y: UnsafeMutablePointer<Float>) {
        Linear.matmul(w, x, batch: n ?? rows, y, pool: pool, mode: mode)
    }

    /// `ys[i] = ws[i] · x` for matrices sharing the input (Q/K/V, gate and up), in one pool run.
    func matmul(_ ws: [WeightMatrix], _ x: UnsafePointer<Float>, into ys: [UnsafeMutablePointer<Float>]) {
        Linear.matmul(ws, x, batch: rows, ys, pool: pool, mode: mode)
    }
}

/// RMSNorm with a learned scale (llama.cpp's `build_norm` with `LLM_NORM_RMS`): each run of `weight.count`
/// values is normalised on its own, so the same type normalises a whole row, each head of a row (qwen3's
/// Q/K norm, `[keyLength]`) or every head of a row at once (olmo2's, `[heads · keyLength]`).
struct RMSNorm: Sendable {
    var weight: [Float]

    /// Binds the `[width]` weight `name`.
    init(_ b: WeightBinder, _ name: String, width: Int) throws(ModelError) {
        weight = try b.vector(name, count: width)
    }

    /// `y = norm(x)` over `count` floats (a multiple of the weight's width); `y` may be `x`.
    func callAsFunction(_ c: BlockContext, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        let width = weight.count
        weight.withUnsafeBufferPointer { wb in
            c.forRowRanges(count / width) { r in
                Ops.rmsNorm(y + r.lowerBound * width, x + r.lowerBound * width, weight: wb.baseAddress!, epsilon: c.epsilon,
                            count: width, rows: r.count)
            }
        }
    }

    /// Normalises the chunk's `[rows x embd]` rows of `x` into `y`.
    func callAsFunction(_ c: BlockContext, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        self(c, x, into: y, count: c.rows * weight.count)
    }
}

/// Grouped-query self-attention (llama.cpp's `build_qkv` + `build_attn`): Q, K and V projections with
/// optional biases and Q/K norms, then the model's attention core (RoPE with the layer's frequencies, K/V
/// appended to each sequence's cache, causal or windowed softmax attention with the config's scale and
/// soft-cap), then the output projection.
struct Attention: BlockSublayer {
    /// `[qDim | kDim | vDim x embd]`; a fused `attn_qkv` (phi3) is bound as three row ranges of one tensor.
    var wq: WeightMatrix, wk: WeightMatrix, wv: WeightMatrix
    /// `[embd x heads · valueLength]`.
    var wo: WeightMatrix
    var bq: [Float]? = nil, bk: [Float]? = nil, bv: [Float]? = nil
    /// Applied before RoPE, per head or across heads (the width of its weight decides).
    var qNorm: RMSNorm? = nil, kNorm: RMSNorm? = nil

    init(wq: WeightMatrix, wk: WeightMatrix, wv: WeightMatrix, wo: WeightMatrix) {
        self.wq = wq; self.wk = wk; self.wv = wv; self.wo = wo
    }

    /// The usual separate `attn_q`/`attn_k`/`attn_v`/`attn_output` of layer `i`, with their Q/K/V biases as
    /// `biases` says (required: qwen2; optional: llama).
    init(_ b: WeightBinder, layer i: Int, _ c: TransformerConfig, biases: TensorPresence = .absent) throws(ModelError) {
        func name(_ t: GGUFTensorName.BlockTensor) -> String { GGUFTensorName.block(i, t) }
        self.init(wq: try b.matrix(name(.attnQ), rows: c.queryWidth, cols: c.embeddingLength),
                  wk: try b.matrix(name(.attnK), rows: c.keyWidth, cols: c.embeddingLength),
                  wv: try b.matrix(name(.attnV), rows: c.valueWidth, cols: c.embeddingLength),
                  wo: try b.matrix(name(.attnOutput), rows: c.embeddingLength, cols: c.headCount * c.valueLength))
        bq = try b.optionalVector(name(.attnQBias), count: c.queryWidth, biases)
        bk = try b.optionalVector(name(.attnKBias), count: c.keyWidth, biases)
        bv = try b.optionalVector(name(.attnVBias), count: c.valueWidth, biases)
    }

    /// `out = attention(input)`, both `[rows x embd]`; Q, K, V and the heads' output go through the scratch.
    func callAsFunction(_ c: BlockContext, _ input: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        project(c, input)
        attend(c, into: out)
    }

    /// The first half: Q, K, V rows of `input` into `scratch.q/k/v`, biased and normed (an architecture may
    /// adjust them before ``attend(_:into:)``, as mistral3 scales Q by position).
    func project(_ c: BlockContext, _ input: UnsafePointer<Float>) {
        let s = c.scratch, n = c.rows
        c.matmul([wq, wk, wv], input, into: [s.q, s.k, s.v])
        Self.addBias(s.q, bq, rows: n)
        Self.addBias(s.k, bk, rows: n)
        Self.addBias(s.v, bv, rows: n)
        qNorm?(c, s.q, into: s.q, count: n * wq.rows)
        kNorm?(c, s.k, into: s.k, count: n * wk.rows)
    }

    /// The second half: RoPE, the cache and attention over `scratch.q/k/v`, then the output projection.
    func attend(_ c: BlockContext, into out: UnsafeMutablePointer<Float>) {
        let s = c.scratch
        c.model.attentionCore(layer: c.layer, pieces: c.pieces)
        c.matmul(wo, s.attn, into: out)
    }

    private static func addBias(_ y: UnsafeMutablePointer<Float>, _ bias: [Float]?, rows: Int) {
        guard let bias else { return }
        bias.withUnsafeBufferPointer { b in
            for r in 0 ..< rows { Ops.axpy(y + r * b.count, 1, b.baseAddress!, count: b.count) }
        }
    }
}

/// The gated feed-forward network of llama-family models (llama.cpp's `build_ffn` with `LLM_FFN_PAR`):
/// `down(act(gate · x) * (up · x))`.
struct GatedFFN: BlockSublayer {
    enum Activation: Sendable {
        /// SwiGLU (llama, qwen, phi3, olmo2, granite).
        case silu
        /// GEGLU with GELU's tanh approximation, through ggml's F16 table (gemma).
        case geluTanh
    }

    /// `[ff x embd]`, `[ff x embd]`, `[embd x ff]`.
    var gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix
    var activation: Activation

    init(gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix, activation: Activation) {
        self.gate = gate; self.up = up; self.down = down; self.activation = activation
    }

    /// The separate `ffn_gate`/`ffn_up`/`ffn_down` of layer `i`.
    init(_ b: WeightBinder, layer i: Int, _ c: TransformerConfig, activation: Activation) throws(ModelError) {
        let e = c.embeddingLength, f = c.feedForwardLength
        self.init(gate: try b.matrix(GGUFTensorName.block(i, .ffnGate), rows: f, cols: e),
                  up: try b.matrix(GGUFTensorName.block(i, .ffnUp), rows: f, cols: e),
                  down: try b.matrix(GGUFTensorName.block(i, .ffnDown), rows: e, cols: f),
                  activation: activation)
    }

    /// `out = ffn(input)`, both `[rows x embd]`.
    func callAsFunction(_ c: BlockContext, _ input: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let s = c.scratch, width = gate.rows
        c.matmul([gate, up], input, into: [s.gate, s.up])
        // Row by row: the vector bodies finish a call's last values with libm, so a call per row keeps each
        // row's values independent of the chunk's row count.
        c.forRowRanges(c.rows) { r in
            for t in r {
                switch activation {
                case .silu: Ops.siluMul(s.gate + t * width, s.up + t * width, count: width)
                case .geluTanh: Ops.geluMul(s.gate + t * width, s.up + t * width, count: width)
                }
            }
        }
        c.matmul(down, s.gate, into: out)
    }
}

/// A mixture-of-experts FFN (llama.cpp's `build_moe_ffn` with softmax gating and normalised weights): see
/// ``ExpertWeights`` for the routing and the rows grouped by expert.
struct ExpertFFN: BlockSublayer {
    var experts: ExpertWeights

    /// The router `ffn_gate_inp` and the stacks `ffn_{gate,up,down}_exps` of layer `i`.
    init(_ b: WeightBinder, layer i: Int, _ c: TransformerConfig, _ x: ExpertConfig) throws(ModelError) {
        func name(_ t: GGUFTensorName.BlockTensor) -> String { GGUFTensorName.block(i, t) }
        let e = c.embeddingLength
        experts = ExpertWeights(
            router: try b.matrix(name(.ffnRouter), rows: x.count, cols: e),
            gate: try b.stack(name(.ffnGateExperts), rows: x.feedForwardLength, cols: e, count: x.count),
            up: try b.stack(name(.ffnUpExperts), rows: x.feedForwardLength, cols: e, count: x.count),
            down: try b.stack(name(.ffnDownExperts), rows: e, cols: x.feedForwardLength, count: x.count),
            used: x.used)
    }

    func callAsFunction(_ c: BlockContext, _ input: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        experts.apply(input, rows: c.rows, embd: c.model.config.embeddingLength, into: out,
                      scratch: c.scratch.experts!, pool: c.pool, mode: c.mode)
    }
}
