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
        try TransformerModel.load(gguf, pool: pool, architecture: architecture, ropeNeox: true, activation: .silu,
                                  layout: BlockTensors(fusedQKV: true, fusedGateUp: true), adjust: adjust, bind: bindFactors)
    }

    private static func adjust(_ c: inout TransformerConfig, _ m: MetadataReader) throws(ModelError) {
        // head size is n_embd / n_head in llama.cpp's phi3 (the key is not read).
        c.keyLength = c.embeddingLength / c.headCount
        c.valueLength = c.keyLength
    }

    private static func bindFactors(_ c: inout TransformerConfig, _ b: WeightBinder, _ m: MetadataReader) throws(ModelError) {
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
