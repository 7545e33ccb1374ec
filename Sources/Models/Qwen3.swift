import GGUF
import Kernels

/// The qwen3 architecture (Qwen3 dense models, 0.6B to 32B, and the DeepSeek-R1 Qwen3 distills).
///
/// Differs from qwen2 (llama.cpp `src/models/qwen3.cpp`): no Q/K/V biases, and a per-head RMSNorm of Q
/// and K (`attn_q_norm` / `attn_k_norm`, `[key_length]`) before RoPE; head size from `attention.key_length`
/// (128 on every released size, so Q is wider than the embedding on the small ones). RoPE NEOX.
enum Qwen3 {
    static let architecture = "qwen3"

    static func load(_ gguf: GGUFFile, pool: ThreadPool) throws(ModelError) -> any LanguageModel {
        try TransformerModel.load(gguf, pool: pool, architecture: architecture, ropeNeox: true) { b, i, c throws(ModelError) in
            try PreNormBlock(b, layer: i, c, attention: try attention(b, layer: i, c),
                             ffn: try GatedFFN(b, layer: i, c, activation: .silu))
        }
    }

    /// Q/K/V without biases, then Q and K RMSNormed per head (`[key_length]` weights) before RoPE.
    static func attention(_ b: WeightBinder, layer i: Int, _ c: TransformerConfig) throws(ModelError) -> Attention {
        var a = try Attention(b, layer: i, c)
        a.qNorm = try RMSNorm(b, GGUFTensorName.block(i, .attnQNorm), width: c.keyLength)
        a.kNorm = try RMSNorm(b, GGUFTensorName.block(i, .attnKNorm), width: c.keyLength)
        return a
    }
}
