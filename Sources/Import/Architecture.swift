import GGUF

/// How one source tensor becomes one GGUF tensor.
struct TensorPlan {
    /// The Hugging Face name.
    let source: String
    /// The GGUF name (llama.cpp's `LLM_TENSOR_NAMES`, from `GGUFTensorName`).
    let name: String
    var transform: Transform = .none

    enum Transform: Equatable {
        case none
        /// llama.cpp's `LlamaModel.permute`: Hugging Face's rotate-half (NEOX) Q/K rows become the
        /// interleaved pairs llama.cpp's LLAMA RoPE expects. Rows of each head h, read as
        /// [2][headDim/2], are transposed to [headDim/2][2].
        case permuteHeads(heads: Int)
        /// Gemma's RMSNorm multiplies by (1 + weight); llama.cpp stores weight + 1.
        case addOne
    }
}

/// A Hugging Face architecture SwiftLM converts: its GGUF name, its hyperparameters as GGUF
/// metadata, and its tensor names, following llama.cpp's convert_hf_to_gguf.py and gguf-py's
/// tensor_mapping.py.
struct Architecture {
    /// `general.architecture`.
    let name: String
    let config: JSONFile

    /// `architectures[0]` of config.json → GGUF architecture, as convert_hf_to_gguf.py registers them.
    static let registry: [String: String] = [
        "BertModel": "bert", "BertForMaskedLM": "bert", "BertForSequenceClassification": "bert",
        "LlamaForCausalLM": "llama", "LlamaModel": "llama", "MistralForCausalLM": "llama",
        "Qwen2ForCausalLM": "qwen2",
        "Gemma3ForCausalLM": "gemma3",
    ]

    static var supported: [String] { registry.keys.sorted() }

    init(config: JSONFile) throws(ImportError) {
        self.config = config
        let declared = (config["architectures"] as? [String])?.first ?? config.string("model_type") ?? "(none)"
        guard let name = Self.registry[declared] else {
            throw .unsupportedArchitecture(declared, supported: Self.supported)
        }
        self.name = name
    }

    var isEncoder: Bool { name == "bert" }

    // MARK: Hyperparameters

    var layerCount: Int { config.int(anyOf: ["num_hidden_layers", "n_layers", "n_layer"]) ?? 0 }
    var headCount: Int { config.int(anyOf: ["num_attention_heads", "n_heads", "n_head"]) ?? (name == "gemma3" ? 8 : 0) }
    var kvHeadCount: Int { config.int(anyOf: ["num_key_value_heads", "n_kv_heads"]) ?? (name == "gemma3" ? 4 : headCount) }

    /// The architecture-scoped metadata, in convert_hf_to_gguf.py's order: the generic
    /// `TextModel.set_gguf_parameters` keys, then the architecture's own.
    func metadata(fileType: Int) throws(ImportError) -> [(key: String, value: GGUFValue)] {
        let a = name
        var out: [(key: String, value: GGUFValue)] = []
        func u32(_ key: String, _ v: Int) { out.append((key, .uint32(UInt32(clamping: v)))) }
        func f32(_ key: String, _ v: Double) { out.append((key, .float32(Float(v)))) }
        let layers = try config.requireInt("num_hidden_layers")
        let embd = try config.requireInt("hidden_size")
        let heads = headCount
        guard heads > 0 else { throw .missingConfigValue(path: config.path, key: "num_attention_heads") }
        u32(GGUFKey.blockCount(a), layers)
        if name == "gemma3" {
            u32(GGUFKey.contextLength(a), config.int("max_position_embeddings") ?? 131_072)
        } else if let ctx = config.int(anyOf: ["max_position_embeddings", "n_ctx", "n_positions"]) {
            u32(GGUFKey.contextLength(a), ctx)
        }
        u32(GGUFKey.embeddingLength(a), embd)
        if let ff = config.int(anyOf: ["intermediate_size", "n_inner"]) { u32(GGUFKey.feedForwardLength(a), ff) }
        u32(GGUFKey.headCount(a), heads)
        if config.int("num_key_value_heads") != nil || name == "gemma3" { u32(GGUFKey.headCountKV(a), kvHeadCount) }
        if let theta = config.double("rope_theta") {
            f32(GGUFKey.ropeFreqBase(a), theta)
        } else if name == "gemma3" {
            f32(GGUFKey.ropeFreqBase(a), 1_000_000)
        }
        if let local = config.double("rope_local_base_freq") { f32(GGUFKey.ropeFreqBaseSWA(a), local) }
        if let eps = config.double("rms_norm_eps") {
            f32(GGUFKey.rmsEpsilon(a), eps)
        } else if name == "gemma3" {
            f32(GGUFKey.rmsEpsilon(a), 1e-6)
        }
        if let eps = config.double(anyOf: ["layer_norm_eps", "layer_norm_epsilon"]) { f32(GGUFKey.layerNormEpsilon(a), eps) }
        if let headDim = config.int("head_dim") ?? (name == "gemma3" ? 256 : nil) {
            u32(GGUFKey.keyLength(a), headDim)
            u32(GGUFKey.valueLength(a), headDim)
        }
        if let scaling = config["rope_scaling"] as? [String: Any],
           (scaling["rope_type"] ?? scaling["type"]) as? String == "linear", let factor = JSONFile.double(scaling["factor"]) {
            out.append((GGUFKey.ropeScalingType(a), .string("linear")))
            f32(GGUFKey.ropeScalingFactor(a), factor)
        }
        out.append((GGUFKey.fileType, .uint32(UInt32(fileType))))
        switch name {
        case "llama":
            if let vocab = config.int("vocab_size") { u32(GGUFKey.vocabSize(a), vocab) }
            u32(GGUFKey.ropeDimensionCount(a), config.int("head_dim") ?? embd / heads)
        case "gemma3":
            if let cap = config.double("final_logit_softcapping"), cap != 0 { f32(GGUFKey.finalLogitSoftcapping(a), cap) }
            if config.int("sliding_window_pattern") != 1, let window = config.int("sliding_window") {
                u32(GGUFKey.slidingWindow(a), window)
            }
        case "bert":
            out.append((GGUFKey.causalAttention(a), .bool(false)))
        default:
            break
        }
        return out
    }

    // MARK: Tensors

    /// The GGUF tensor for a Hugging Face tensor; nil for tensors llama.cpp drops (BERT's pooler and
    /// MLM head, position ids, rotary caches). Unknown names are an error, so a variant with extra
    /// weights is refused rather than silently converted without them.
    func plan(for source: String) throws(ImportError) -> TensorPlan? {
        isEncoder ? try bertPlan(source) : try decoderPlan(source)
    }

    private func bertPlan(_ source: String) throws(ImportError) -> TensorPlan? {
        var n = source
        if n.hasPrefix("bert.") { n.removeFirst(5) }
        if n.hasSuffix(".gamma") { n = String(n.dropLast(6)) + ".weight" }
        if n.hasSuffix(".beta") { n = String(n.dropLast(5)) + ".bias" }
        if n == "embeddings.position_ids" || n.hasPrefix("pooler.") || n.hasPrefix("cls.") { return nil }
        let (stem, suffix) = Self.splitSuffix(n)
        let fixed: [String: String] = [
            "embeddings.word_embeddings": GGUFTensorName.tokenEmbeddingStem,
            "embeddings.position_embeddings": GGUFTensorName.positionEmbeddingStem,
            "embeddings.token_type_embeddings": GGUFTensorName.tokenTypesStem,
            "embeddings.LayerNorm": GGUFTensorName.tokenEmbeddingNormStem,
        ]
        if let target = fixed[stem] { return TensorPlan(source: source, name: "\(target).\(suffix)") }
        let blockTensors: [String: GGUFTensorName.BlockStem] = [
            "attention.self.query": .attnQ, "attention.self.key": .attnK, "attention.self.value": .attnV,
            "attention.output.dense": .attnOutput, "attention.output.LayerNorm": .attnOutputNorm,
            "intermediate.dense": .ffnUp, "output.dense": .ffnDown, "output.LayerNorm": .layerOutputNorm,
        ]
        if let (block, rest) = Self.block(stem, prefix: "encoder.layer."), block < layerCount, let target = blockTensors[rest] {
            return TensorPlan(source: source, name: GGUFTensorName.block(block, target, suffix))
        }
        throw .unexpectedTensor(source, architecture: name)
    }

    private func decoderPlan(_ source: String) throws(ImportError) -> TensorPlan? {
        var n = source
        if name == "llama", !n.hasPrefix("model."), n != "lm_head.weight" { n = "model." + n } // LlamaModel checkpoints
        if n.hasSuffix("rotary_emb.inv_freq") { return nil }
        let (stem, suffix) = Self.splitSuffix(n)
        let gemma = name == "gemma3"
        let fixed: [String: String] = [
            "model.embed_tokens": GGUFTensorName.tokenEmbeddingStem,
            "model.norm": GGUFTensorName.outputNormStem,
            "lm_head": GGUFTensorName.outputStem,
        ]
        if let target = fixed[stem] {
            var plan = TensorPlan(source: source, name: "\(target).\(suffix)")
            if gemma, stem == "model.norm" { plan.transform = .addOne }
            return plan
        }
        var blockTensors: [String: GGUFTensorName.BlockStem] = [
            "input_layernorm": .attnNorm,
            "self_attn.q_proj": .attnQ, "self_attn.k_proj": .attnK, "self_attn.v_proj": .attnV, "self_attn.o_proj": .attnOutput,
            "self_attn.q_norm": .attnQNorm, "self_attn.k_norm": .attnKNorm,
            "post_attention_layernorm": gemma ? .postAttentionNorm : .ffnNorm,
            "mlp.gate_proj": .ffnGate, "mlp.up_proj": .ffnUp, "mlp.down_proj": .ffnDown,
        ]
        if gemma {
            // Gemma's sandwich norms: pre- and post-FFN on top of the two attention norms.
            blockTensors["pre_feedforward_layernorm"] = .ffnNorm
            blockTensors["post_feedforward_layernorm"] = .postFFNNorm
        }
        guard let (block, rest) = Self.block(stem, prefix: "model.layers."), block < layerCount, let target = blockTensors[rest] else {
            throw .unexpectedTensor(source, architecture: name)
        }
        var plan = TensorPlan(source: source, name: GGUFTensorName.block(block, target, suffix))
        if name == "llama", rest == "self_attn.q_proj" { plan.transform = .permuteHeads(heads: headCount) }
        if name == "llama", rest == "self_attn.k_proj" { plan.transform = .permuteHeads(heads: kvHeadCount) }
        if gemma, target.rawValue.hasSuffix("norm"), suffix == "weight" { plan.transform = .addOne }
        return plan
    }

    /// `a.b.weight` → (`a.b`, `weight`).
    static func splitSuffix(_ name: String) -> (String, String) {
        guard let dot = name.lastIndex(of: ".") else { return (name, "") }
        return (String(name[..<dot]), String(name[name.index(after: dot)...]))
    }

    /// `prefix` + `N.rest` → (N, rest).
    static func block(_ stem: String, prefix: String) -> (Int, String)? {
        guard stem.hasPrefix(prefix) else { return nil }
        let tail = stem.dropFirst(prefix.count)
        guard let dot = tail.firstIndex(of: "."), let block = Int(tail[..<dot]) else { return nil }
        return (block, String(tail[tail.index(after: dot)...]))
    }
}
