import GGUF
import Kernels

/// The phi3 architecture (Phi-3 and Phi-3.5 mini/medium, Phi-4 and Phi-4-mini).
///
/// Conventions from llama.cpp (`src/models/phi3.cpp`): Q, K and V in one `attn_qkv` tensor (rows Q, then K,
/// then V) and gate and up in one `ffn_up` of twice the FFN width (gate rows first, SwiGLU); RoPE NEOX; head
/// size n_embd / n_head. The 128k-context variants use LongRoPE: per-pair frequency divisors
/// `rope_factors_short` / `rope_factors_long` (global tensors), the long ones when the context exceeds
/// `rope.scaling.original_context_length` (llama.cpp decides by its context size, SwiftLM by the KV cache's
/// capacity), and cos/sin scaled by `rope.scaling.attn_factor`. Phi's `attention.sliding_window` is
/// ignored, as llama.cpp ignores it (its converter does not describe which layers use it).
enum Phi3 {
    static let architecture = "phi3"

    static func load(_ gguf: GGUFFile, pool: ThreadPool) throws(ModelError) -> any LanguageModel {
        try TransformerModel.load(gguf, pool: pool, architecture: architecture, ropeNeox: true, configure: configure) {
            b, i, c throws(ModelError) in try block(b, layer: i, c)
        }
    }

    /// A llama block whose Q/K/V and gate/up are row ranges of the fused tensors.
    private static func block(_ b: WeightBinder, layer i: Int, _ c: TransformerConfig) throws(ModelError) -> PreNormBlock<GatedFFN> {
        func name(_ t: GGUFTensorName.BlockTensor) -> String { GGUFTensorName.block(i, t) }
        let e = c.embeddingLength, q = c.queryWidth, k = c.keyWidth, v = c.valueWidth, f = c.feedForwardLength
        let qkv = try b.matrix(name(.attnQKV), rows: q + k + v, cols: e)
        let attention = Attention(wq: try b.rows(qkv, 0 ..< q), wk: try b.rows(qkv, q ..< q + k),
                                  wv: try b.rows(qkv, q + k ..< q + k + v),
                                  wo: try b.matrix(name(.attnOutput), rows: e, cols: c.headCount * c.valueLength))
        let gateUp = try b.matrix(name(.ffnUp), rows: 2 * f, cols: e)
        let ffn = GatedFFN(gate: try b.rows(gateUp, 0 ..< f), up: try b.rows(gateUp, f ..< 2 * f),
                           down: try b.matrix(name(.ffnDown), rows: e, cols: f), activation: .silu)
        return try PreNormBlock(b, layer: i, c, attention: attention, ffn: ffn)
    }

    private static func configure(_ c: inout TransformerConfig, _ m: MetadataReader, _ b: WeightBinder) throws(ModelError) {
        // head size is n_embd / n_head in llama.cpp's phi3 (the key is not read).
        c.keyLength = c.embeddingLength / c.headCount
        c.valueLength = c.keyLength

        let half = c.rotaryDims / 2
        let short = try b.optionalVector(GGUFTensorName.ropeFactorsShort, count: half, .optional)
        let long = try b.optionalVector(GGUFTensorName.ropeFactorsLong, count: half, .optional)
        c.ropeFactors = short
        if let long {
            let original = try m.int(GGUFKey.ropeScalingOriginalContext(architecture), default: c.contextLength)
            c.longRopeFactors = (original, long)
        }
    }
}
