import GGUF
import Kernels

/// The granite architecture (IBM Granite 3.x dense models).
///
/// A llama (RoPE NORMAL, SiLU-gated FFN, optional `rope_freqs`) with four multipliers, as llama.cpp's
/// `src/models/granite.cpp` applies them: token embeddings times `embedding_scale`, each sub-block's output
/// times `residual_scale` before its residual add, attention scores times `attention.scale` (instead of
/// 1/sqrt(head)), and logits divided by `logit_scale` (required, as in llama.cpp).
enum Granite {
    static let architecture = "granite"

    static func load(_ gguf: GGUFFile, pool: ThreadPool) throws(ModelError) -> any LanguageModel {
        let m = MetadataReader(gguf: gguf, arch: architecture)
        var residualScale: Float = 1
        if let s = try m.optionalFloat(GGUFKey.residualScale(architecture)), s != 0 { residualScale = s }
        return try TransformerModel.load(gguf, pool: pool, architecture: architecture, ropeNeox: false, configure: configure) {
            b, i, c throws(ModelError) in
            var block = try Llama.block(b, layer: i, c)
            block.residualScale = residualScale
            return block
        }
    }

    private static func configure(_ c: inout TransformerConfig, _ m: MetadataReader, _ b: WeightBinder) throws(ModelError) {
        let a = architecture
        c.ropeFactors = try b.optionalVector(GGUFTensorName.ropeFrequencies, count: c.rotaryDims / 2, .optional)
        if let s = try m.optionalFloat(GGUFKey.embeddingScale(a)), s != 0 { c.embeddingScale = s }
        if let s = try m.optionalFloat(GGUFKey.attentionScale(a)), s != 0 { c.attentionScale = s }
        let logit = try m.float(GGUFKey.logitScale(a))
        guard logit != 0, logit.isFinite else { throw .invalidMetadata(key: GGUFKey.logitScale(a), reason: "must be a non-zero number") }
        c.logitScale = logit
    }
}
