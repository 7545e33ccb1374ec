/// How per-token vectors become one embedding per input (llama.cpp's `llama_pooling_type`, stored by
/// its converter as `<arch>.pooling_type`: 1 mean, 2 CLS, 3 last).
public enum EmbeddingPooling: String, Sendable, Equatable, CaseIterable {
    /// The average over every token of the input, special tokens included (sentence-transformers' mean).
    case mean
    /// The first token's vector (BERT's `[CLS]`).
    case cls
    /// The last token's vector (decoder embedding models such as Qwen3-Embedding).
    case last

    /// The pooling a GGUF `pooling_type` value names; nil for none (0), rank (4) and unknown values.
    public init?(ggufValue: Int) {
        switch ggufValue {
        case 1: self = .mean
        case 2: self = .cls
        case 3: self = .last
        default: return nil
        }
    }

    /// Pools `rows` token vectors of `width` floats (row-major, contiguous) into `out`, then scales it
    /// to unit L2 norm (a zero vector stays zero). `rows` must be at least 1.
    public func pool(_ x: UnsafePointer<Float>, rows: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(rows >= 1, "pooling needs at least one token")
        switch self {
        case .cls: out.update(from: x, count: width)
        case .last: out.update(from: x + (rows - 1) * width, count: width)
        case .mean:
            // Summed in double: a 512-token mean in float loses the low bits the 0.9999 cosine bound needs.
            var sum = [Double](repeating: 0, count: width)
            for r in 0 ..< rows {
                let row = x + r * width
                for j in 0 ..< width { sum[j] += Double(row[j]) }
            }
            for j in 0 ..< width { out[j] = Float(sum[j] / Double(rows)) }
        }
        Self.normalize(out, count: width)
    }

    /// Scales `v` to unit L2 norm in place (sentence-transformers' `Normalize`); a zero vector stays zero.
    public static func normalize(_ v: UnsafeMutablePointer<Float>, count: Int) {
        var sq = 0.0
        for j in 0 ..< count { sq += Double(v[j]) * Double(v[j]) }
        guard sq > 0 else { return }
        let inv = Float(1 / sq.squareRoot())
        for j in 0 ..< count { v[j] *= inv }
    }
}
