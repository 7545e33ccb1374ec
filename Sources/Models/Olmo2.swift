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
        try TransformerModel.load(gguf, pool: pool, architecture: architecture, ropeNeox: true, activation: .silu,
                                  layout: BlockTensors(qkNorm: .required, postNorms: .required, preNorms: .absent,
                                                       qkNormAcrossHeads: true), adjust: adjust)
    }

    private static func adjust(_ c: inout TransformerConfig, _ m: MetadataReader) throws(ModelError) {
        let key = GGUFKey.slidingWindow(architecture)
        if try m.int(key, default: 0) > 0 {
            throw .invalidMetadata(key: key, reason: "OLMo 3's sliding-window attention is not supported yet")
        }
    }
}
