import GGUF

/// Hyperparameters of a decoder-only transformer that the shared machinery needs: geometry (buffers, shape
/// checks, the KV cache), the attention core's RoPE, windows, scale and soft-cap, and what happens outside
/// the blocks (embedding scale, logit scale and soft-cap). Each architecture file decodes its own from GGUF
/// metadata; quirks inside a block (activation, norms, residual multipliers) belong to its block, not here.
struct TransformerConfig: Sendable {
    var architecture: String
    var vocabSize: Int
    var contextLength: Int
    var embeddingLength: Int
    var layerCount: Int
    var headCount: Int
    var kvHeadCount: Int
    var keyLength: Int
    var valueLength: Int
    var feedForwardLength: Int
    var rmsEpsilon: Float
    /// Leading dims of each head that RoPE rotates (`<arch>.rope.dimension_count`, default the head size).
    var rotaryDims: Int
    /// NEOX rotates pairs `(i, i + d/2)`; NORMAL rotates `(2i, 2i+1)` (llama.cpp's `llama_model_rope_type`).
    var ropeNeox: Bool
    /// How `rope.scaling.*` stretches the global layers' RoPE (sliding-window layers stay unscaled, as
    /// llama.cpp's `rope_freq_scale_train_swa` = 1).
    var ropeScaling: RoPEScaling
    /// Per-pair frequency divisors, `[rotaryDims / 2]`: llama3's `rope_freqs.weight`, or LongRoPE's short factors.
    var ropeFactors: [Float]? = nil
    /// LongRoPE's factors for contexts longer than the original one (llama.cpp picks them when the context
    /// exceeds `rope.scaling.original_context_length`; SwiftLM when the KV cache's capacity does).
    var longRopeFactors: (originalContext: Int, factors: [Float])? = nil
    /// Multiplies RoPE's cos and sin (`rope.scaling.attn_factor`).
    var ropeAttentionFactor: Float = 1
    /// Multiplies Q·K before the softmax.
    var attentionScale: Float
    /// Multiplies the token embeddings (gemma: sqrt(n_embd)); nil for none.
    var embeddingScale: Float?
    /// gemma-style `cap · tanh(logits / cap)`; nil for none.
    var finalLogitSoftcap: Float?
    /// Per layer: RoPE base and sliding window (nil = attends to every past position).
    var layerRopeBase: [Float]
    var layerWindow: [Int?]
    /// gemma2-style `cap · tanh(score / cap)` on the scaled attention scores; nil for none.
    var attentionSoftcap: Float? = nil
    /// Divides the logits (granite's `logit_scale`); nil for none.
    var logitScale: Float? = nil
    /// Mixture-of-experts FFN: expert count, experts per token, and each expert's FFN width.
    var experts: ExpertConfig? = nil

    /// Widths of a row of Q, K and V (all heads).
    var queryWidth: Int { headCount * keyLength }
    var keyWidth: Int { kvHeadCount * keyLength }
    var valueWidth: Int { kvHeadCount * valueLength }

    /// The RoPE rotation of layer `l`, for a cache of `capacity` positions (LongRoPE depends on it).
    func rope(layer l: Int, capacity: Int) -> RoPEFrequencies {
        let global = layerWindow[l] == nil
        var factors = ropeFactors
        if let long = longRopeFactors, capacity > long.originalContext { factors = long.factors }
        return .make(base: layerRopeBase[l], rotaryDims: rotaryDims, factors: global ? factors : nil,
                     scaling: global ? ropeScaling : .none, attentionFactor: ropeAttentionFactor)
    }

    var info: ModelInfo {
        ModelInfo(architecture: architecture, vocabSize: vocabSize, contextLength: contextLength,
                  embeddingLength: embeddingLength, layerCount: layerCount, headCount: headCount,
                  kvHeadCount: kvHeadCount)
    }

    /// The geometry checks every architecture shares; bad metadata must become an error, not a crash
    /// or an out-of-bounds read later.
    func validate() throws(ModelError) {
        let a = architecture
        func positive(_ v: Int, _ key: String) throws(ModelError) {
            if v <= 0 { throw .invalidMetadata(key: key, reason: "must be positive, found \(v)") }
        }
        try positive(vocabSize, GGUFKey.vocabSize(a))
        try positive(embeddingLength, GGUFKey.embeddingLength(a))
        try positive(layerCount, GGUFKey.blockCount(a))
        try positive(headCount, GGUFKey.headCount(a))
        try positive(kvHeadCount, GGUFKey.headCountKV(a))
        try positive(keyLength, GGUFKey.keyLength(a))
        try positive(valueLength, GGUFKey.valueLength(a))
        try positive(feedForwardLength, GGUFKey.feedForwardLength(a))
        if headCount % kvHeadCount != 0 {
            throw .invalidMetadata(key: GGUFKey.headCountKV(a),
                                   reason: "\(kvHeadCount) KV heads do not divide \(headCount) query heads")
        }
        if rotaryDims <= 0 || rotaryDims > keyLength || rotaryDims % 2 != 0 {
            throw .invalidMetadata(key: GGUFKey.ropeDimensionCount(a),
                                   reason: "\(rotaryDims) is not an even count within the head size \(keyLength)")
        }
        if !(rmsEpsilon >= 0) { throw .invalidMetadata(key: GGUFKey.rmsEpsilon(a), reason: "must be >= 0") }
        if let x = experts {
            try positive(x.count, GGUFKey.expertCount(a))
            try positive(x.feedForwardLength, GGUFKey.expertFeedForwardLength(a))
            if x.used <= 0 || x.used > x.count {
                throw .invalidMetadata(key: GGUFKey.expertUsedCount(a), reason: "\(x.used) is not within 1...\(x.count) experts")
            }
        }
    }
}

/// Typed access to one architecture's metadata, turning absent or mistyped keys into ``ModelError``.
struct MetadataReader {
    let gguf: GGUFFile
    let arch: String

    private func value<T>(_ key: String, _ what: String, _ read: (GGUFFile) -> T?) throws(ModelError) -> T {
        guard gguf[key] != nil else { throw .missingMetadata(key: key) }
        guard let v = read(gguf) else { throw .invalidMetadata(key: key, reason: "expected \(what)") }
        return v
    }

    func int(_ key: String) throws(ModelError) -> Int { try value(key, "an integer") { $0.int(key) } }

    func int(_ key: String, default fallback: Int) throws(ModelError) -> Int {
        gguf[key] == nil ? fallback : try int(key)
    }

    func float(_ key: String) throws(ModelError) -> Float { try value(key, "a number") { $0.float(key) } }

    func float(_ key: String, default fallback: Float) throws(ModelError) -> Float {
        gguf[key] == nil ? fallback : try float(key)
    }

    func optionalFloat(_ key: String) throws(ModelError) -> Float? {
        gguf[key] == nil ? nil : try float(key)
    }

    /// Position scaling from `<arch>.rope.scaling.*` (llama.cpp's `llama_rope_scaling_type`). LongRoPE is
    /// `.none` here: its factors are tensors, bound by the architecture. Unknown schemes are refused rather
    /// than silently run unscaled.
    func ropeScaling(contextLength: Int) throws(ModelError) -> RoPEScaling {
        let typeKey = GGUFKey.ropeScalingType(arch)
        let type = gguf.string(typeKey) ?? "none"
        func factor() throws(ModelError) -> Float {
            let f = try float(GGUFKey.ropeScalingFactor(arch), default: 1)
            guard f > 0 else { throw .invalidMetadata(key: GGUFKey.ropeScalingFactor(arch), reason: "must be positive") }
            return f
        }
        switch type {
        case "none", "longrope": return .none
        case "linear": return .linear(factor: try factor())
        case "yarn":
            let original = try int(GGUFKey.ropeScalingOriginalContext(arch), default: contextLength)
            guard original > 0 else {
                throw .invalidMetadata(key: GGUFKey.ropeScalingOriginalContext(arch), reason: "must be positive")
            }
            return .yarn(factor: try factor(), originalContext: original)
        default:
            throw .invalidMetadata(key: typeKey, reason: "RoPE scaling '\(type)' is not supported yet (none, linear, yarn, longrope)")
        }
    }
}

extension TransformerConfig {
    /// The hyperparameters every llama-family GGUF spells the same way; architectures then adjust
    /// RoPE style and their quirks. Defaults follow llama.cpp's loader (head size =
    /// embd / heads, KV heads = heads, RoPE dims = head size, base 10000).
    static func common(_ m: MetadataReader, ropeNeox: Bool) throws(ModelError) -> TransformerConfig {
        let a = m.arch
        let embd = try m.int(GGUFKey.embeddingLength(a))
        let heads = try m.int(GGUFKey.headCount(a))
        guard heads > 0 else { throw .invalidMetadata(key: GGUFKey.headCount(a), reason: "must be positive") }
        let layers = try m.int(GGUFKey.blockCount(a))
        let keyLength = try m.int(GGUFKey.keyLength(a), default: embd / heads)
        // Some converters omit vocab_size (qwen2 here): the embedding's row count is authoritative.
        let embRows = m.gguf.tensor(named: GGUFTensorName.tokenEmbedding).flatMap { $0.dimensions.count == 2 ? $0.dimensions[1] : nil }
        guard let vocab = embRows else { throw .missingTensor(GGUFTensorName.tokenEmbedding) }
        let base = try m.float(GGUFKey.ropeFreqBase(a), default: 10000)
        let context = try m.int(GGUFKey.contextLength(a))
        let cfg = TransformerConfig(
            architecture: a,
            vocabSize: vocab,
            contextLength: context,
            embeddingLength: embd,
            layerCount: layers,
            headCount: heads,
            kvHeadCount: try m.int(GGUFKey.headCountKV(a), default: heads),
            keyLength: keyLength,
            valueLength: try m.int(GGUFKey.valueLength(a), default: embd / heads),
            feedForwardLength: try m.int(GGUFKey.feedForwardLength(a)),
            rmsEpsilon: try m.float(GGUFKey.rmsEpsilon(a)),
            rotaryDims: try m.int(GGUFKey.ropeDimensionCount(a), default: keyLength),
            ropeNeox: ropeNeox,
            ropeScaling: try m.ropeScaling(contextLength: context),
            ropeAttentionFactor: try m.float(GGUFKey.ropeScalingAttentionFactor(a), default: 1),
            attentionScale: 1 / Float(keyLength).squareRoot(),
            embeddingScale: nil,
            finalLogitSoftcap: nil,
            layerRopeBase: Array(repeating: base, count: max(0, layers)),
            layerWindow: Array(repeating: nil, count: max(0, layers)))
        return cfg
    }
}
