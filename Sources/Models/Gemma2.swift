import GGUF
import Kernels

/// The gemma2 architecture (Gemma 2 2B, 9B, 27B).
///
/// Conventions from llama.cpp (`src/models/gemma2.cpp`): embeddings scaled by sqrt(n_embd); RMSNorm before
/// and after attention and the FFN (weights used as stored: the converter added Gemma's `1 +`); RoPE NEOX;
/// GELU (tanh) gated FFN; tied output. Its quirks over gemma3: attention scores soft-capped,
/// `cap · tanh(score / cap)` with `attn_logit_softcapping` after the 1/sqrt(head) scale, no Q/K norm, and
/// sliding-window attention on every other layer (layer `il` local when `il % 2 == 0`) with window
/// `attention.sliding_window` (default 4096) and the same RoPE base as the global layers. The final logits
/// are soft-capped too (`final_logit_softcapping`). The 27B scales by n_embd / n_head (46 layers).
enum Gemma2 {
    static let architecture = "gemma2"
    static let swaPeriod = 2

    static func load(_ gguf: GGUFFile, pool: ThreadPool) throws(ModelError) -> any LanguageModel {
        try TransformerModel.load(gguf, pool: pool, architecture: architecture, ropeNeox: true, configure: configure) {
            b, i, c throws(ModelError) in try Gemma3.Block(b, layer: i, c, attention: try Attention(b, layer: i, c))
        }
    }

    private static func configure(_ c: inout TransformerConfig, _ m: MetadataReader, _ b: WeightBinder) throws(ModelError) {
        let a = architecture
        c.embeddingScale = Float(c.embeddingLength).squareRoot()
        c.attentionScale = c.layerCount == 46
            ? 1 / Float(c.embeddingLength / max(1, c.headCount)).squareRoot()
            : 1 / Float(c.keyLength).squareRoot()
        if let cap = try m.optionalFloat(GGUFKey.attentionLogitSoftcapping(a)), cap > 0 { c.attentionSoftcap = cap }
        if let cap = try m.optionalFloat(GGUFKey.finalLogitSoftcapping(a)), cap > 0 { c.finalLogitSoftcap = cap }
        let window = try m.int(GGUFKey.slidingWindow(a), default: 4096)
        guard window > 0 else { return }
        let local = try Gemma3.slidingLayers(m, layerCount: c.layerCount, defaultPeriod: swaPeriod)
        let localBase = try m.float(GGUFKey.ropeFreqBaseSWA(a), default: try m.float(GGUFKey.ropeFreqBase(a), default: 10000))
        for l in 0 ..< c.layerCount where local[l] {
            c.layerWindow[l] = window
            c.layerRopeBase[l] = localBase
        }
    }
}
