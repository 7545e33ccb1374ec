import GGUF
import Kernels

/// One transformer block's weights. Matrices point into the GGUF mapping (no copy); the small
/// vectors (norms, biases) are dequantized into owned arrays at load.
struct LayerWeights: Sendable {
    var attnNorm: [Float]
    var wq: WeightMatrix, wk: WeightMatrix, wv: WeightMatrix, wo: WeightMatrix
    var bq: [Float]?, bk: [Float]?, bv: [Float]?
    /// Per-head RMSNorm of Q and K (gemma3), `[keyLength]`.
    var qNorm: [Float]?, kNorm: [Float]?
    /// Norm of the attention output before the residual add (gemma3).
    var postAttnNorm: [Float]?
    var ffnNorm: [Float]
    var gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix
    /// Norm of the FFN output before the residual add (gemma3).
    var postFFNNorm: [Float]?
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

    func layer(_ i: Int, _ c: TransformerConfig, _ layout: BlockTensors) throws(ModelError) -> LayerWeights {
        func name(_ t: GGUFTensorName.BlockTensor) -> String { GGUFTensorName.block(i, t) }
        let e = c.embeddingLength, qDim = c.headCount * c.keyLength
        let kDim = c.kvHeadCount * c.keyLength, vDim = c.kvHeadCount * c.valueLength
        let oIn = c.headCount * c.valueLength, f = c.feedForwardLength
        return LayerWeights(
            attnNorm: try vector(name(.attnNorm), count: e),
            wq: try matrix(name(.attnQ), rows: qDim, cols: e),
            wk: try matrix(name(.attnK), rows: kDim, cols: e),
            wv: try matrix(name(.attnV), rows: vDim, cols: e),
            wo: try matrix(name(.attnOutput), rows: e, cols: oIn),
            bq: try optionalVector(name(.attnQBias), count: qDim, layout.qkvBias),
            bk: try optionalVector(name(.attnKBias), count: kDim, layout.qkvBias),
            bv: try optionalVector(name(.attnVBias), count: vDim, layout.qkvBias),
            qNorm: try optionalVector(name(.attnQNorm), count: c.keyLength, layout.qkNorm),
            kNorm: try optionalVector(name(.attnKNorm), count: c.keyLength, layout.qkNorm),
            postAttnNorm: try optionalVector(name(.postAttentionNorm), count: e, layout.postNorms),
            ffnNorm: try vector(name(.ffnNorm), count: e),
            gate: try matrix(name(.ffnGate), rows: f, cols: e),
            up: try matrix(name(.ffnUp), rows: f, cols: e),
            down: try matrix(name(.ffnDown), rows: e, cols: f),
            postFFNNorm: try optionalVector(name(.postFFNNorm), count: e, layout.postNorms))
    }
}
