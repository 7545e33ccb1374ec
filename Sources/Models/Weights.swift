import GGUF
import Kernels

/// Everything outside the blocks.
struct GlobalWeights: Sendable {
    /// `[vocab x embd]`; rows are looked up, not multiplied.
    var tokenEmbedding: WeightMatrix
    var outputNorm: [Float]
    /// `[vocab x embd]`; the token embedding itself when the model ties them (no `output.weight`).
    var output: WeightMatrix
}

/// Whether a tensor must be in the file: required ones are an error when absent, optional ones are bound
/// when present (llama.cpp's TENSOR_NOT_REQUIRED), absent ones are not looked for.
enum TensorPresence { case required, optional, absent }

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

    func optionalVector(_ name: String, count: Int, _ presence: TensorPresence) throws(ModelError) -> [Float]? {
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
}
