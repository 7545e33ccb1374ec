import GGUF
import Kernels

/// The qwen3moe architecture (Qwen3-30B-A3B, Qwen3-235B-A22B, Qwen3-Coder-30B-A3B).
///
/// qwen3's attention (per-head Q/K RMSNorm, RoPE NEOX, no biases) with a mixture-of-experts FFN in every
/// block (llama.cpp `src/models/qwen3moe.cpp`, `build_moe_ffn` with softmax gating and `norm_w`): a router
/// `ffn_gate_inp` `[embd -> experts]`, the `expert_used_count` most probable experts per token with their
/// probabilities renormalised, each a SiLU-gated FFN of `expert_feed_forward_length` from the stacks
/// `ffn_{gate,up,down}_exps`. No shared expert (Qwen3 dropped Qwen2-MoE's).
enum Qwen3MoE {
    static let architecture = "qwen3moe"

    static func load(_ gguf: GGUFFile, pool: ThreadPool) throws(ModelError) -> any LanguageModel {
        try TransformerModel.load(gguf, pool: pool, architecture: architecture, ropeNeox: true, configure: configure) {
            b, i, c throws(ModelError) in
            guard let experts = c.experts else { throw .missingMetadata(key: GGUFKey.expertCount(architecture)) }
            return try PreNormBlock(b, layer: i, c, attention: try Qwen3.attention(b, layer: i, c),
                                    ffn: try ExpertFFN(b, layer: i, c, experts))
        }
    }

    private static func configure(_ c: inout TransformerConfig, _ m: MetadataReader, _ b: WeightBinder) throws(ModelError) {
        let a = architecture
        let count = try m.int(GGUFKey.expertCount(a)), used = try m.int(GGUFKey.expertUsedCount(a))
        // llama.cpp's fallback when the expert width is absent: the dense width split over the used experts.
        let width = try m.int(GGUFKey.expertFeedForwardLength(a), default: c.feedForwardLength / max(1, used))
        c.experts = ExpertConfig(count: count, used: used, feedForwardLength: width)
    }
}
