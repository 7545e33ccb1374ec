import GGUF
import Kernels

/// One transformer block's weights. Matrices point into the GGUF mapping (no copy); the small
/// vectors (norms, biases) are dequantized into owned arrays at load.
struct LayerWeights: Sendable {
    /// RMSNorm before attention; nil where the architecture only post-norms (olmo2).
    var attnNorm: [Float]?
    /// `[qDim | kDim | vDim x embd]` views; phi3's fused `attn_qkv` is bound as three row ranges of one tensor.
    var wq: WeightMatrix, wk: WeightMatrix, wv: WeightMatrix, wo: WeightMatrix
    var bq: [Float]?, bk: [Float]?, bv: [Float]?
    /// RMSNorm of Q and K: per head (`[keyLength]`: qwen3, gemma3) or over all heads (`[heads · keyLength]`: olmo2).
    var qNorm: [Float]?, kNorm: [Float]?
    /// Norm of the attention output before the residual add (gemma2/3, olmo2).
    var postAttnNorm: [Float]?
    /// RMSNorm before the FFN; nil where the architecture only post-norms (olmo2).
    var ffnNorm: [Float]?
    var ffn: FeedForward
    /// Norm of the FFN output before the residual add (gemma2/3, olmo2).
    var postFFNNorm: [Float]?
}

/// A block's feed-forward network.
enum FeedForward: Sendable {
    /// `down(act(gate · x) * (up · x))`; phi3's fused `ffn_up` is bound as its gate and up halves.
    case gated(gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix)
    /// Mixture of experts: see ``ExpertWeights``.
    case experts(ExpertWeights)
}

/// Everything outside the blocks.
struct GlobalWeights: Sendable {
    /// `[vocab x embd]`; rows are looked up, not multiplied.
    var tokenEmbedding: WeightMatrix
    var outputNorm: [Float]
    /// `[vocab x embd]`; the token embedding itself when the model ties them (no `output.weight`).
    var output: WeightMatrix
}

/// Which optional block tensors an architecture has. Required ones are an error when absent;
/// optional ones are bound when present (llama.cpp's TENSOR_NOT_REQUIRED).
struct BlockTensors {
    enum Presence { case required, optional, absent }
    var qkvBias: Presence = .absent
    var qkNorm: Presence = .absent
    var postNorms: Presence = .absent
    /// `rope_freqs.weight`: per-pair RoPE frequency divisors (llama3 scaling).
    var ropeFrequencies: Presence = .absent
    /// `attn_norm` / `ffn_norm` before the sub-blocks (absent in olmo2, which only post-norms).
    var preNorms: Presence = .required
    /// Q/K norm weights span all heads (olmo2) rather than one head.
    var qkNormAcrossHeads = false
    /// One `attn_qkv` tensor instead of Q, K and V (phi3).
    var fusedQKV = false
    /// One `ffn_up` of twice the FFN width holding gate then up (phi3).
    var fusedGateUp = false
    /// `ffn_gate_inp` router and `ffn_{gate,up,down}_exps` stacks instead of one FFN (qwen3moe).
    var experts = false
}

/// Binds GGUF tensors by name with shape checks against the config, and remembers which it bound so a
/// file with tensors the model would not use is refused (``requireEverythingBound()``) instead of being
/// run without them, as llama.cpp's loader refuses it ("wrong number of tensors").
final class WeightBinder {
    let gguf: GGUFFile
    private var bound: Set<String> = []

    init(gguf: GGUFFile) { self.gguf = gguf }

    func has(_ name: String) -> Bool { gguf.tensor(named: name) != nil }

    /// Throws ``ModelError/unusedTensor(_:)`` naming the first tensor of the file that nothing bound.
    func requireEverythingBound() throws(ModelError) {
        if let t = gguf.tensors.first(where: { !bound.contains($0.name) }) { throw .unusedTensor(t.name) }
    }

    private func info(_ name: String, dims: [Int]) throws(ModelError) -> GGUFTensorInfo {
        guard let t = gguf.tensor(named: name) else { throw .missingTensor(name) }
        bound.insert(name)
        // GGUF may list trailing 1-dims; compare the meaningful ones.
        var found = t.dimensions
        while found.count > dims.count, found.last == 1 { found.removeLast() }
        guard found == dims else { throw .wrongShape(tensor: name, expected: dims, found: t.dimensions) }
        return t
    }

    /// A `[rows x cols]` matrix (GGUF dims `[cols, rows]`: dims[0] is the input feature count).
    func matrix(_ name: String, rows: Int, cols: Int) throws(ModelError) -> WeightMatrix {
        let t = try info(name, dims: [cols, rows])
        do {
            return try WeightMatrix(name: name, type: t.type, data: gguf.data(for: t), rows: rows, cols: cols)
        } catch {
            switch error {
            case let .unsupportedType(tensor, type): throw .unsupportedTensorType(tensor: tensor, type: type)
            case .badShape: throw .wrongShape(tensor: name, expected: [cols, rows], found: t.dimensions)
            }
        }
    }

    /// A vector of `count` values, dequantized (norm weights are F32 in practice, but F16 is legal).
    func vector(_ name: String, count: Int) throws(ModelError) -> [Float] {
        let t = try info(name, dims: [count])
        let m: WeightMatrix
        do {
            m = try WeightMatrix(name: name, type: t.type, data: gguf.data(for: t), rows: 1, cols: count)
        } catch {
            switch error {
            case let .unsupportedType(tensor, type): throw .unsupportedTensorType(tensor: tensor, type: type)
            case .badShape: throw .wrongShape(tensor: name, expected: [count], found: t.dimensions)
            }
        }
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { Linear.dequantizeRow(m, row: 0, into: $0.baseAddress!) }
        return out
    }

    func optionalVector(_ name: String, count: Int, _ presence: BlockTensors.Presence) throws(ModelError) -> [Float]? {
        switch presence {
        case .absent: return nil
        case .required: return try vector(name, count: count)
        case .optional: return has(name) ? try vector(name, count: count) : nil
        }
    }

    func globals(_ c: TransformerConfig) throws(ModelError) -> GlobalWeights {
        let embd = try matrix(GGUFTensorName.tokenEmbedding, rows: c.vocabSize, cols: c.embeddingLength)
        let output = has(GGUFTensorName.output)
            ? try matrix(GGUFTensorName.output, rows: c.vocabSize, cols: c.embeddingLength)
            : embd
        return GlobalWeights(tokenEmbedding: embd,
                             outputNorm: try vector(GGUFTensorName.outputNorm, count: c.embeddingLength),
                             output: output)
    }

    /// Rows `range` of a bound `[rows x cols]` matrix: a fused tensor's part (each row is whole blocks, so a
    /// row range is a contiguous byte range).
    func rows(_ m: WeightMatrix, _ range: Range<Int>) throws(ModelError) -> WeightMatrix {
        do {
            return try WeightMatrix(name: m.name, type: m.type, data: m.data + range.lowerBound * m.rowBytes,
                                    rows: range.count, cols: m.cols)
        } catch {
            throw .wrongShape(tensor: m.name, expected: [m.cols, range.count], found: [m.cols, m.rows])
        }
    }

    /// A stack of `count` `[rows x cols]` matrices (GGUF dims `[cols, rows, count]`), one per expert.
    func stack(_ name: String, rows: Int, cols: Int, count: Int) throws(ModelError) -> [WeightMatrix] {
        let t = try info(name, dims: [cols, rows, count])
        var out: [WeightMatrix] = []
        for e in 0 ..< count {
            do {
                let m = try WeightMatrix(name: name, type: t.type, data: gguf.data(for: t), rows: rows, cols: cols)
                out.append(try WeightMatrix(name: name, type: t.type, data: m.data + e * rows * m.rowBytes, rows: rows, cols: cols))
            } catch {
                switch error {
                case let .unsupportedType(tensor, type): throw .unsupportedTensorType(tensor: tensor, type: type)
                case .badShape: throw .wrongShape(tensor: name, expected: [cols, rows, count], found: t.dimensions)
                }
            }
        }
        return out
    }

    func layer(_ i: Int, _ c: TransformerConfig, _ layout: BlockTensors) throws(ModelError) -> LayerWeights {
        func name(_ t: GGUFTensorName.BlockTensor) -> String { GGUFTensorName.block(i, t) }
        let e = c.embeddingLength, qDim = c.headCount * c.keyLength
        let kDim = c.kvHeadCount * c.keyLength, vDim = c.kvHeadCount * c.valueLength
        let oIn = c.headCount * c.valueLength, f = c.feedForwardLength
        let wq: WeightMatrix, wk: WeightMatrix, wv: WeightMatrix
        if layout.fusedQKV {
            let qkv = try matrix(name(.attnQKV), rows: qDim + kDim + vDim, cols: e)
            wq = try rows(qkv, 0 ..< qDim)
            wk = try rows(qkv, qDim ..< qDim + kDim)
            wv = try rows(qkv, qDim + kDim ..< qDim + kDim + vDim)
        } else {
            wq = try matrix(name(.attnQ), rows: qDim, cols: e)
            wk = try matrix(name(.attnK), rows: kDim, cols: e)
            wv = try matrix(name(.attnV), rows: vDim, cols: e)
        }
        let qNormWidth = layout.qkNormAcrossHeads ? qDim : c.keyLength
        let kNormWidth = layout.qkNormAcrossHeads ? kDim : c.keyLength
        let ffn: FeedForward
        if layout.experts, let x = c.experts {
            ffn = .experts(ExpertWeights(
                router: try matrix(name(.ffnRouter), rows: x.count, cols: e),
                gate: try stack(name(.ffnGateExperts), rows: x.feedForwardLength, cols: e, count: x.count),
                up: try stack(name(.ffnUpExperts), rows: x.feedForwardLength, cols: e, count: x.count),
                down: try stack(name(.ffnDownExperts), rows: e, cols: x.feedForwardLength, count: x.count),
                used: x.used))
        } else if layout.fusedGateUp {
            let gateUp = try matrix(name(.ffnUp), rows: 2 * f, cols: e)
            ffn = .gated(gate: try rows(gateUp, 0 ..< f), up: try rows(gateUp, f ..< 2 * f),
                         down: try matrix(name(.ffnDown), rows: e, cols: f))
        } else {
            ffn = .gated(gate: try matrix(name(.ffnGate), rows: f, cols: e), up: try matrix(name(.ffnUp), rows: f, cols: e),
                         down: try matrix(name(.ffnDown), rows: e, cols: f))
        }
        return LayerWeights(
            attnNorm: try optionalVector(name(.attnNorm), count: e, layout.preNorms),
            wq: wq, wk: wk, wv: wv,
            wo: try matrix(name(.attnOutput), rows: e, cols: oIn),
            bq: try optionalVector(name(.attnQBias), count: qDim, layout.qkvBias),
            bk: try optionalVector(name(.attnKBias), count: kDim, layout.qkvBias),
            bv: try optionalVector(name(.attnVBias), count: vDim, layout.qkvBias),
            qNorm: try optionalVector(name(.attnQNorm), count: qNormWidth, layout.qkNorm),
            kNorm: try optionalVector(name(.attnKNorm), count: kNormWidth, layout.qkNorm),
            postAttnNorm: try optionalVector(name(.postAttentionNorm), count: e, layout.postNorms),
            ffnNorm: try optionalVector(name(.ffnNorm), count: e, layout.preNorms),
            ffn: ffn,
            postFFNNorm: try optionalVector(name(.postFFNNorm), count: e, layout.postNorms))
    }
}
