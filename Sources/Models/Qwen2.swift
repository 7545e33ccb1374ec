import GGUF
import Kernels

/// The qwen2 architecture (Qwen2, Qwen2.5, Qwen2.5-Coder).
///
/// Differs from llama (llama.cpp `src/models/qwen2.cpp`, `llama_model_rope_type`): RoPE NEOX, i.e.
/// pairs `(i, i + d/2)`, and Q/K/V carry biases (required). Small models tie the output to the
/// token embedding (no `output.weight`); the GGUF may also omit `qwen2.vocab_size`, so the vocabulary
/// size comes from the embedding's shape.
enum Qwen2 {
    static let architecture = "qwen2"

    static func load(_ gguf: GGUFFile, pool: ThreadPool) throws(ModelError) -> any LanguageModel {
        try TransformerModel.load(gguf, pool: pool, architecture: architecture, ropeNeox: true) { b, i, c throws(ModelError) in
            try PreNormBlock(b, layer: i, c, attention: try Attention(b, layer: i, c, biases: .required),
                             ffn: try GatedFFN(b, layer: i, c, activation: .silu))
        }
    }
}
