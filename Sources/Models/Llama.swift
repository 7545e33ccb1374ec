import GGUF
import Kernels

/// The llama architecture (SmolLM2, Llama 2/3, Mistral-style dense models).
///
/// Conventions from llama.cpp (`src/models/llama.cpp`, `llama_model_rope_type`): RoPE NORMAL, i.e.
/// interleaved pairs `(2i, 2i+1)`, because the GGUF converter permutes Q and K rows to match; SiLU-gated
/// FFN; Q/K/V biases optional; tied embeddings when `output.weight` is absent. Llama 3.1/3.2 carry their
/// `llama3` RoPE scaling as per-pair frequency divisors in `rope_freqs.weight` (no scaling-type key). Mistral 7B
/// v0.1-style models add a sliding window on every layer (``configure(_:_:_:)``).
enum Llama {
    static let architecture = "llama"

    static func load(_ gguf: GGUFFile, pool: ThreadPool) throws(ModelError) -> any LanguageModel {
        try TransformerModel.load(gguf, pool: pool, architecture: architecture, ropeNeox: false, configure: configure) {
            b, i, c throws(ModelError) in try block(b, layer: i, c)
        }
    }

    /// `rope_freqs` (llama3 scaling) when present, and Mistral's sliding window: with `attention.sliding_window`
    /// set, every layer attends only to the last `window` positions (query at p sees p - window + 1 ... p), as
    /// Mistral 7B v0.1 was trained. llama.cpp's llama graph ignores the key (full attention everywhere); the two
    /// agree up to position `window - 1`, and past it SwiftLM follows the model rather than llama.cpp.
    static func configure(_ c: inout TransformerConfig, _ m: MetadataReader, _ b: WeightBinder) throws(ModelError) {
        c.ropeFactors = try b.optionalVector(GGUFTensorName.ropeFrequencies, count: c.rotaryDims / 2, .optional)
        let window = try m.int(GGUFKey.slidingWindow(m.arch), default: 0)
        if window > 0 { c.layerWindow = Array(repeating: window, count: c.layerCount) }
    }

    /// Pre-norm attention (Q/K/V biases when the file has them) and a SwiGLU FFN.
    static func block(_ b: WeightBinder, layer i: Int, _ c: TransformerConfig) throws(ModelError) -> PreNormBlock<GatedFFN> {
        try PreNormBlock(b, layer: i, c, attention: try Attention(b, layer: i, c, biases: .optional),
                         ffn: try GatedFFN(b, layer: i, c, activation: .silu))
    }
}
