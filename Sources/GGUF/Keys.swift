/// Every GGUF metadata key SwiftLM reads, in one place. Architecture-scoped keys are prefixed with
/// the value of `general.architecture` (e.g. `qwen2.context_length`), as in llama.cpp's `LLM_KV_*`.
public enum GGUFKey {
    public static let architecture = "general.architecture"
    public static let alignment = "general.alignment"
    public static let name = "general.name"
    public static let fileType = "general.file_type"
    public static let license = "general.license"
    public static let quantizationVersion = "general.quantization_version"
    public static let sizeLabel = "general.size_label"

    // Architecture-scoped (pass the architecture name).
    public static func contextLength(_ arch: String) -> String { "\(arch).context_length" }
    public static func embeddingLength(_ arch: String) -> String { "\(arch).embedding_length" }
    public static func blockCount(_ arch: String) -> String { "\(arch).block_count" }
    public static func feedForwardLength(_ arch: String) -> String { "\(arch).feed_forward_length" }
    public static func headCount(_ arch: String) -> String { "\(arch).attention.head_count" }
    public static func headCountKV(_ arch: String) -> String { "\(arch).attention.head_count_kv" }
    public static func keyLength(_ arch: String) -> String { "\(arch).attention.key_length" }
    public static func valueLength(_ arch: String) -> String { "\(arch).attention.value_length" }
    public static func rmsEpsilon(_ arch: String) -> String { "\(arch).attention.layer_norm_rms_epsilon" }
    public static func slidingWindow(_ arch: String) -> String { "\(arch).attention.sliding_window" }
    public static func ropeFreqBase(_ arch: String) -> String { "\(arch).rope.freq_base" }
    public static func ropeDimensionCount(_ arch: String) -> String { "\(arch).rope.dimension_count" }
    public static func ropeScalingType(_ arch: String) -> String { "\(arch).rope.scaling.type" }
    public static func ropeScalingFactor(_ arch: String) -> String { "\(arch).rope.scaling.factor" }
    /// The context the model was trained at before RoPE scaling (YaRN's ramp, LongRoPE's short/long switch).
    public static func ropeScalingOriginalContext(_ arch: String) -> String { "\(arch).rope.scaling.original_context_length" }
    /// Multiplies RoPE's cos and sin (LongRoPE's attention factor).
    public static func ropeScalingAttentionFactor(_ arch: String) -> String { "\(arch).rope.scaling.attn_factor" }
    public static func vocabSize(_ arch: String) -> String { "\(arch).vocab_size" }
    public static func slidingWindowPattern(_ arch: String) -> String { "\(arch).attention.sliding_window_pattern" }
    public static func ropeFreqBaseSWA(_ arch: String) -> String { "\(arch).rope.freq_base_swa" }
    public static func finalLogitSoftcapping(_ arch: String) -> String { "\(arch).final_logit_softcapping" }
    public static func attentionLogitSoftcapping(_ arch: String) -> String { "\(arch).attn_logit_softcapping" }
    // Mixture of experts.
    public static func expertCount(_ arch: String) -> String { "\(arch).expert_count" }
    public static func expertUsedCount(_ arch: String) -> String { "\(arch).expert_used_count" }
    public static func expertFeedForwardLength(_ arch: String) -> String { "\(arch).expert_feed_forward_length" }
    public static func expertSharedFeedForwardLength(_ arch: String) -> String { "\(arch).expert_shared_feed_forward_length" }
    // Granite's multipliers.
    public static func embeddingScale(_ arch: String) -> String { "\(arch).embedding_scale" }
    public static func residualScale(_ arch: String) -> String { "\(arch).residual_scale" }
    public static func attentionScale(_ arch: String) -> String { "\(arch).attention.scale" }
    public static func logitScale(_ arch: String) -> String { "\(arch).logit_scale" }
    /// Llama 4 / Mistral 3 attention temperature: Q times `1 + scale · ln(floor(pos / original_context) + 1)`.
    public static func attentionTemperatureScale(_ arch: String) -> String { "\(arch).attention.temperature_scale" }
    public static func ropeScalingYarnLogMultiplier(_ arch: String) -> String { "\(arch).rope.scaling.yarn_log_multiplier" }
    public static func ropeScalingYarnBetaFast(_ arch: String) -> String { "\(arch).rope.scaling.yarn_beta_fast" }
    public static func ropeScalingYarnBetaSlow(_ arch: String) -> String { "\(arch).rope.scaling.yarn_beta_slow" }
    /// LayerNorm epsilon of encoders (BERT); decoders use ``rmsEpsilon(_:)``.
    public static func layerNormEpsilon(_ arch: String) -> String { "\(arch).attention.layer_norm_epsilon" }
    /// False for bidirectional encoders.
    public static func causalAttention(_ arch: String) -> String { "\(arch).attention.causal" }
    /// Embedding pooling: 0 none, 1 mean, 2 CLS, 3 last, 4 rank (llama.cpp's `llama_pooling_type`).
    public static func poolingType(_ arch: String) -> String { "\(arch).pooling_type" }

    // Tokenizer.
    public static let tokenizerModel = "tokenizer.ggml.model"
    public static let tokenizerPre = "tokenizer.ggml.pre"
    public static let tokens = "tokenizer.ggml.tokens"
    public static let scores = "tokenizer.ggml.scores"
    public static let tokenTypes = "tokenizer.ggml.token_type"
    public static let merges = "tokenizer.ggml.merges"
    public static let bosID = "tokenizer.ggml.bos_token_id"
    public static let eosID = "tokenizer.ggml.eos_token_id"
    public static let eotID = "tokenizer.ggml.eot_token_id"
    public static let eomID = "tokenizer.ggml.eom_token_id"
    public static let unknownID = "tokenizer.ggml.unknown_token_id"
    public static let paddingID = "tokenizer.ggml.padding_token_id"
    public static let separatorID = "tokenizer.ggml.seperator_token_id" // sic, as llama.cpp spells it
    public static let clsID = "tokenizer.ggml.cls_token_id"
    public static let maskID = "tokenizer.ggml.mask_token_id"
    public static let addSEP = "tokenizer.ggml.add_sep_token"
    /// BERT's token-type (segment) vocabulary size: rows of `token_types.weight`.
    public static let tokenTypeCount = "tokenizer.ggml.token_type_count"
    /// WordPiece normalizer flags `swiftlm create` keeps from tokenizer.json's BertNormalizer (not written by
    /// llama.cpp's converter): lowercase, and strip accents (absent = follow lowercase, as Hugging Face).
    public static let normalizerLowercase = "tokenizer.ggml.normalizer.lowercase"
    public static let normalizerStripAccents = "tokenizer.ggml.normalizer.strip_accents"
    public static let addBOS = "tokenizer.ggml.add_bos_token"
    public static let addEOS = "tokenizer.ggml.add_eos_token"
    public static let addSpacePrefix = "tokenizer.ggml.add_space_prefix"
    public static let removeExtraWhitespaces = "tokenizer.ggml.remove_extra_whitespaces"
    public static let chatTemplate = "tokenizer.chat_template"
    /// Named variants, e.g. `tokenizer.chat_template.tool_use`.
    public static func chatTemplate(named name: String) -> String { "tokenizer.chat_template.\(name)" }

    // Written by `swiftlm create` (llama.cpp's gguf-py constants.py names) and by SwiftLM only.
    public static let generalType = "general.type"
    /// A Modelfile's SYSTEM and PARAMETER lines, kept by `swiftlm create --modelfile`.
    public static let modelfileSystem = "swiftlm.system"
    public static func modelfileParameter(_ name: String) -> String { "swiftlm.parameter.\(name)" }
}

/// GGUF tensor names (llama.cpp's `LLM_TENSOR_NAMES`).
public enum GGUFTensorName {
    public static let tokenEmbedding = "token_embd.weight"
    public static let outputNorm = "output_norm.weight"
    public static let output = "output.weight"
    /// Per-pair RoPE frequency divisors: llama3's scaling, written by the converter.
    public static let ropeFrequencies = "rope_freqs.weight"
    /// LongRoPE's per-pair factors below and above the original context (phi3).
    public static let ropeFactorsShort = "rope_factors_short.weight"
    public static let ropeFactorsLong = "rope_factors_long.weight"
    // BERT-style encoders: learned absolute positions, token types, LayerNorm after the embeddings.
    public static let positionEmbedding = "position_embd.weight"
    public static let tokenTypes = "token_types.weight"
    public static let tokenEmbeddingNorm = "token_embd_norm.weight"
    public static let tokenEmbeddingNormBias = "token_embd_norm.bias"

    // MARK: Stems (without `.weight` / `.bias`) written by `swiftlm create` (issue 13, import).
    public static let tokenEmbeddingStem = "token_embd"
    public static let positionEmbeddingStem = "position_embd"
    public static let tokenTypesStem = "token_types"
    public static let tokenEmbeddingNormStem = "token_embd_norm"
    public static let outputNormStem = "output_norm"
    public static let outputStem = "output"

    /// Per-block tensor stems, `blk.N.<stem>.weight` / `.bias`, as `swiftlm create` writes them.
    public enum BlockStem: String, Sendable, CaseIterable {
        case attnNorm = "attn_norm", attnQ = "attn_q", attnK = "attn_k", attnV = "attn_v", attnOutput = "attn_output"
        case attnQNorm = "attn_q_norm", attnKNorm = "attn_k_norm", postAttentionNorm = "post_attention_norm"
        case ffnNorm = "ffn_norm", ffnGate = "ffn_gate", ffnUp = "ffn_up", ffnDown = "ffn_down", postFFNNorm = "post_ffw_norm"
        /// BERT's post-LayerNorms.
        case attnOutputNorm = "attn_output_norm", layerOutputNorm = "layer_output_norm"
    }

    /// `blk.N.<stem>.<suffix>`.
    public static func block(_ i: Int, _ stem: BlockStem, _ suffix: String) -> String { "blk.\(i).\(stem.rawValue).\(suffix)" }
    // MARK: end of import stems

    /// Per-block tensors: `blk.N.<suffix>`.
    public static func block(_ i: Int, _ suffix: BlockTensor) -> String { "blk.\(i).\(suffix.rawValue)" }

    public enum BlockTensor: String, Sendable, CaseIterable {
        case attnNorm = "attn_norm.weight"
        case attnQ = "attn_q.weight"
        case attnK = "attn_k.weight"
        case attnV = "attn_v.weight"
        case attnQBias = "attn_q.bias"
        case attnKBias = "attn_k.bias"
        case attnVBias = "attn_v.bias"
        case attnOutput = "attn_output.weight"
        /// phi3: Q, K and V rows in one tensor.
        case attnQKV = "attn_qkv.weight"
        case attnQNorm = "attn_q_norm.weight"
        case attnKNorm = "attn_k_norm.weight"
        case postAttentionNorm = "post_attention_norm.weight"
        case ffnNorm = "ffn_norm.weight"
        case ffnGate = "ffn_gate.weight"
        case ffnUp = "ffn_up.weight"
        case ffnDown = "ffn_down.weight"
        case postFFNNorm = "post_ffw_norm.weight"
        // Mixture of experts: the router `[embd -> experts]` and per-expert stacks `[.., .., experts]`.
        case ffnRouter = "ffn_gate_inp.weight"
        case ffnGateExperts = "ffn_gate_exps.weight"
        case ffnUpExperts = "ffn_up_exps.weight"
        case ffnDownExperts = "ffn_down_exps.weight"
        // BERT: biases everywhere, post-LayerNorms after attention and after the FFN.
        case attnOutputBias = "attn_output.bias"
        case attnOutputNorm = "attn_output_norm.weight"
        case attnOutputNormBias = "attn_output_norm.bias"
        case ffnUpBias = "ffn_up.bias"
        case ffnDownBias = "ffn_down.bias"
        case layerOutputNorm = "layer_output_norm.weight"
        case layerOutputNormBias = "layer_output_norm.bias"
    }
}
