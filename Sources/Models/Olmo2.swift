import GGUF
import Kernels

/// The olmo2 architecture (AI2's OLMo 2, 1B to 32B).
///
/// Conventions from llama.cpp (`src/models/olmo2.cpp`): no norm *before* attention or the FFN; instead
/// RMSNorm of each sub-block's output before its residual add (`post_attention_norm`, `post_ffw_norm`), and
/// RMSNorm of Q and K over all heads of a token at once (`attn_q_norm` `[n_embd]`, `attn_k_norm`
/// `[kv_heads · head]`) before RoPE. RoPE NEOX, SiLU-gated FFN, head size n_embd / n_head.
/// OLMo 3's sliding-window layers (`attention.sliding_window`) are refused until they are tested.
enum Olmo2 {
    static let architecture = "olmo2"

    static func load(_ gguf: GGUFFile, pool: ThreadPool) throws(ModelError) -> any LanguageModel {
        try TransformerModel.load(gguf, pool: pool, architecture: architecture, ropeNeox: true, configure: configure) {
            b, i, c throws(ModelError) in try Block(b, layer: i, c)
        }
    }

    /// `x += norm(attention(x))`, `x += norm(ffn(x))`: the sub-layers read the residual stream itself.
    struct Block: TransformerBlock {
        var attention: Attention, postAttentionNorm: RMSNorm, ffn: GatedFFN, postFFNNorm: RMSNorm

        init(_ b: WeightBinder, layer i: Int, _ c: TransformerConfig) throws(ModelError) {
            func name(_ t: GGUFTensorName.BlockTensor) -> String { GGUFTensorName.block(i, t) }
            attention = try Attention(b, layer: i, c)
            // Over all heads of a row at once.
            attention.qNorm = try RMSNorm(b, name(.attnQNorm), width: c.queryWidth)
            attention.kNorm = try RMSNorm(b, name(.attnKNorm), width: c.keyWidth)
            postAttentionNorm = try RMSNorm(b, name(.postAttentionNorm), width: c.embeddingLength)
            ffn = try GatedFFN(b, layer: i, c, activation: .silu)
            postFFNNorm = try RMSNorm(b, name(.postFFNNorm), width: c.embeddingLength)
        }

        func forward(_ c: BlockContext) {
            let s = c.scratch
            attention(c, s.x, into: s.o)
            postAttentionNorm(c, s.o, into: s.o)
            c.addResidual(s.o)
            ffn(c, s.x, into: s.o)
            postFFNNorm(c, s.o, into: s.o)
            c.addResidual(s.o)
        }
    }

    private static func configure(_ c: inout TransformerConfig, _ m: MetadataReader, _ b: WeightBinder) throws(ModelError) {
        let key = GGUFKey.slidingWindow(architecture)
        if try m.int(key, default: 0) > 0 {
            throw .invalidMetadata(key: key, reason: "OLMo 3's sliding-window attention is not supported yet")
        }
    }
}
