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
        try TransformerModel.load(gguf, pool: pool, architecture: architecture, ropeNeox: true, activation: .silu,
                                  layout: BlockTensors(qkNorm: .required))
    }
}
