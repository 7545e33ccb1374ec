import GGUF
import Kernels

/// The gemma3 architecture (Gemma 3 text models, 270M to 27B).
///
/// Conventions from llama.cpp (`src/models/gemma3.cpp`, `llama-hparams.cpp`) and its converter:
/// - token embeddings scaled by sqrt(n_embd);
/// - RMSNorm weights used as stored: `convert_hf_to_gguf.py` already added Gemma's `1 +` to them;
/// - pre- and post-norms around attention and FFN, per-head RMSNorm of Q and K before RoPE;
/// - RoPE NEOX; GELU (tanh approximation) gated FFN;
/// - sliding-window attention on 5 of every 6 layers (layer `il` is local unless `il % 6 == 5`,
///   or per `attention.sliding_window_pattern`); a query at p sees keys p-window+1...p there, with RoPE
///   base `rope.freq_base_swa` (default 10000) while global layers use `rope.freq_base`;
/// - attention scale 1/sqrt(key_length) (only the 27B uses n_embd / n_head; it is recognised by its 62 layers);
/// - optional final logit softcapping `cap · tanh(x / cap)`.
enum Gemma3 {
    static let architecture = "gemma3"
    /// Every `swaPeriod`-th layer (the last of each group) is global.
    static let swaPeriod = 6

    static func load(_ gguf: GGUFFile, pool: ThreadPool) throws(ModelError) -> any LanguageModel {
        try TransformerModel.load(gguf, pool: pool, architecture: architecture, ropeNeox: true, configure: configure) {
            b, i, c throws(ModelError) in try Block(b, layer: i, c, attention: try Qwen3.attention(b, layer: i, c))
        }
    }

    /// Gemma's sandwich: RMSNorm before and after each sub-layer, the second before the residual add
    /// (`attn_norm` / `post_attention_norm`, `ffn_norm` / `post_ffw_norm`); GEGLU FFN. Gemma 2 shares it.
    struct Block: TransformerBlock {
        var attentionNorm: RMSNorm, attention: Attention, postAttentionNorm: RMSNorm
        var ffnNorm: RMSNorm, ffn: GatedFFN, postFFNNorm: RMSNorm

        init(_ b: WeightBinder, layer i: Int, _ c: TransformerConfig, attention: Attention) throws(ModelError) {
            func norm(_ t: GGUFTensorName.BlockTensor) throws(ModelError) -> RMSNorm {
                try RMSNorm(b, GGUFTensorName.block(i, t), width: c.embeddingLength)
            }
            attentionNorm = try norm(.attnNorm)
            self.attention = attention
            postAttentionNorm = try norm(.postAttentionNorm)
            ffnNorm = try norm(.ffnNorm)
            ffn = try GatedFFN(b, layer: i, c, activation: .geluTanh)
            postFFNNorm = try norm(.postFFNNorm)
        }

        func forward(_ c: BlockContext) {
            let s = c.scratch
            attentionNorm(c, s.x, into: s.h)
            attention(c, s.h, into: s.o)
            postAttentionNorm(c, s.o, into: s.o)
            c.addResidual(s.o)
            ffnNorm(c, s.x, into: s.h)
            ffn(c, s.h, into: s.o)
            postFFNNorm(c, s.o, into: s.o)
            c.addResidual(s.o)
        }
    }

    private static func configure(_ c: inout TransformerConfig, _ m: MetadataReader, _ b: WeightBinder) throws(ModelError) {
        let a = architecture
        c.embeddingScale = Float(c.embeddingLength).squareRoot()
        c.attentionScale = c.layerCount == 62
            ? 1 / Float(c.embeddingLength / max(1, c.headCount)).squareRoot()
            : 1 / Float(c.keyLength).squareRoot()
        if let cap = try m.optionalFloat(GGUFKey.finalLogitSoftcapping(a)), cap > 0 { c.finalLogitSoftcap = cap }
        let window = try m.int(GGUFKey.slidingWindow(a), default: 0)
        guard window > 0 else { return }
        let local = try slidingLayers(m, layerCount: c.layerCount, defaultPeriod: swaPeriod)
        let localBase = try m.float(GGUFKey.ropeFreqBaseSWA(a), default: 10000)
        for l in 0 ..< c.layerCount where local[l] {
            c.layerWindow[l] = window
            c.layerRopeBase[l] = localBase
        }
    }

    /// Which layers use the sliding window: an explicit per-layer bool array, a period, or `defaultPeriod`
    /// (llama.cpp's `load_swa_pattern`: layer `il` is local unless `il % period == period - 1`).
    static func slidingLayers(_ m: MetadataReader, layerCount: Int, defaultPeriod: Int) throws(ModelError) -> [Bool] {
        let key = GGUFKey.slidingWindowPattern(m.arch)
        if let array = m.gguf.array(key) {
            guard case let .bools(flags) = array, flags.count >= layerCount else {
                throw .invalidMetadata(key: key, reason: "expected \(layerCount) booleans")
            }
            return Array(flags.prefix(layerCount))
        }
        let period = try m.int(key, default: defaultPeriod)
        return (0 ..< layerCount).map { period == 0 || $0 % period < period - 1 }
    }
}
