/// What `swiftlm show` (and the server's show endpoint) report about a model, read from the GGUF
/// header alone: no tensor data is touched, so it is as fast as opening the file.
public struct ModelSummary: Sendable, Equatable {
    /// `general.architecture` (empty when the file does not say).
    public var architecture: String
    /// `general.name`, a display name chosen by whoever converted the model.
    public var name: String?
    /// Exact parameter count: the sum of every tensor's element count.
    public var parameters: Int
    /// `<arch>.context_length`: the context the model was trained for, in tokens.
    public var contextLength: Int?
    /// `<arch>.embedding_length`: the width of the hidden state.
    public var embeddingLength: Int?
    /// Number of transformer blocks (layers).
    public var blockCount: Int?
    /// Attention heads; for files that list a count per layer, the largest.
    public var headCount: Int?
    /// Key/value heads (fewer than `headCount` under grouped-query attention).
    public var headCountKV: Int?
    /// `general.file_type` as llama.cpp names it (`Q4_K_M`), nil when the file does not say.
    public var fileType: String?
    /// Number of tensors of each ggml type, keyed by ggml's type name (`Q4_K`, `F32`).
    public var tensorTypes: [String: Int]
    /// `<arch>.vocab_size`, else the length of `tokenizer.ggml.tokens`.
    public var vocabSize: Int?
    /// `tokenizer.ggml.model`: `gpt2` (byte-level BPE), `llama` (SentencePiece), ...
    public var tokenizer: String?
    /// `tokenizer.ggml.pre`, the pre-tokenizer variant of BPE vocabularies.
    public var tokenizerPre: String?
    /// The Jinja chat template, nil for base models without one.
    public var chatTemplate: String?
    /// `general.license` as the converter wrote it (`apache-2.0`, `gemma`, ...).
    public var license: String?
    public var tensorCount: Int
    /// Bytes on disk.
    public var fileSize: Int
    /// GGUF format version (2 or 3).
    public var ggufVersion: Int
    /// The architecture's notable features, in words: RoPE scaling, sliding window and its layers,
    /// soft-capping, multipliers, experts, and the block's Q/K norm, post-norms and fused QKV (e.g.
    /// `RoPE scaling yarn x4 (from 32768)`, `sliding window 4096 on every other layer`,
    /// `8 experts, 2 per token`, `Q/K norm`), read from the metadata and the first block's tensors.
    public var features: [String]

    /// Reads the summary from an opened file's metadata and tensor table.
    public init(_ file: GGUFFile) {
        let arch = file.architecture ?? ""
        architecture = arch
        name = file.string(GGUFKey.name)
        parameters = file.parameterCount
        contextLength = file.int(GGUFKey.contextLength(arch))
        embeddingLength = file.int(GGUFKey.embeddingLength(arch))
        blockCount = file.int(GGUFKey.blockCount(arch))
        headCount = Self.largestInt(file[GGUFKey.headCount(arch)])
        headCountKV = Self.largestInt(file[GGUFKey.headCountKV(arch)])
        fileType = file.int(GGUFKey.fileType).map(GGUFFileType.name)
        var types: [String: Int] = [:]
        for t in file.tensors { types[t.type.name, default: 0] += 1 }
        tensorTypes = types
        vocabSize = file.int(GGUFKey.vocabSize(arch)) ?? file.array(GGUFKey.tokens)?.count
        tokenizer = file.string(GGUFKey.tokenizerModel)
        tokenizerPre = file.string(GGUFKey.tokenizerPre)
        chatTemplate = file.string(GGUFKey.chatTemplate)
        license = file.string(GGUFKey.license)
        tensorCount = file.tensors.count
        fileSize = file.fileSize
        ggufVersion = Int(file.version)
        features = Self.features(file, arch)
    }

    static func features(_ file: GGUFFile, _ a: String) -> [String] {
        var out: [String] = []
        // Float's own shortest spelling: 0.3, not the 0.30000001192092896 of its Double.
        func number(_ v: Float) -> String { v == v.rounded() ? String(Int(v)) : String(v) }
        func has(_ tensor: String) -> Bool { file.tensor(named: tensor) != nil }
        // Phi-3's LongRoPE is announced by its factor tensors; converters do not always write the type.
        let longFactors = has(GGUFTensorName.ropeFactorsLong) || has(GGUFTensorName.ropeFactorsShort)
        let scaling = file.string(GGUFKey.ropeScalingType(a)).flatMap { $0 == "none" ? nil : $0 } ?? (longFactors ? "longrope" : nil)
        if let type = scaling {
            var text = "RoPE scaling \(type)"
            if let f = file.float(GGUFKey.ropeScalingFactor(a)), f != 0, type != "longrope" { text += " x\(number(f))" }
            if longFactors { text += ", short/long factors" }
            if let o = file.int(GGUFKey.ropeScalingOriginalContext(a)) { text += " (from \(o))" }
            out.append(text)
        }
        if has(GGUFTensorName.ropeFrequencies) { out.append("RoPE frequency factors (llama3 scaling)") }
        if let w = file.int(GGUFKey.slidingWindow(a)), w > 0 {
            // Which layers are windowed, as llama.cpp lays them out for the architectures that alternate.
            let layers: String
            if file[GGUFKey.slidingWindowPattern(a)] != nil { layers = "on the layers of sliding_window_pattern" }
            else if a == "gemma2" { layers = "on every other layer" }
            else if a == "gemma3" { layers = "on 5 of every 6 layers" }
            else { layers = "on every layer" }
            out.append("sliding window \(w) \(layers)")
        }
        if let t = file.float(GGUFKey.attentionTemperatureScale(a)), t != 0 { out.append("attention temperature \(number(t))") }
        if let c = file.float(GGUFKey.attentionLogitSoftcapping(a)), c > 0 { out.append("attention softcap \(number(c))") }
        if let c = file.float(GGUFKey.finalLogitSoftcapping(a)), c > 0 { out.append("final logit softcap \(number(c))") }
        // Granite's multipliers (a key absent or 0 means none; the logits are divided by logit_scale).
        var scales: [String] = []
        if let v = file.float(GGUFKey.embeddingScale(a)), v != 0 { scales.append("embedding x\(number(v))") }
        if let v = file.float(GGUFKey.residualScale(a)), v != 0 { scales.append("residual x\(number(v))") }
        if let v = file.float(GGUFKey.attentionScale(a)), v != 0 { scales.append("attention x\(number(v))") }
        if let v = file.float(GGUFKey.logitScale(a)), v != 0 { scales.append("logits /\(number(v))") }
        if !scales.isEmpty { out.append("scales: " + scales.joined(separator: ", ")) }
        if let n = file.int(GGUFKey.expertCount(a)), n > 0 {
            var text = "\(n) experts" + (file.int(GGUFKey.expertUsedCount(a)).map { ", \($0) per token" } ?? "")
            if has("blk.0.ffn_gate_shexp.weight") || has("blk.0.ffn_up_shexp.weight") { text += ", shared expert" }
            out.append(text)
        }
        // Block layout, read from the first block's tensors.
        if has("blk.0.attn_q_norm.weight") { out.append("Q/K norm") }
        if has("blk.0.post_attention_norm.weight") || has("blk.0.post_ffw_norm.weight") {
            out.append(has("blk.0.attn_norm.weight") ? "pre- and post-norms" : "post-norms only")
        }
        if has("blk.0.attn_qkv.weight") { out.append("fused QKV") }
        return out
    }

    /// Per-layer arrays (some architectures vary head counts by layer) report their maximum.
    private static func largestInt(_ value: GGUFValue?) -> Int? {
        if let i = value?.intValue { return i }
        return value?.arrayValue?.ints?.max()
    }

    /// The parameter count the way model cards write it: `494.0M`, `1.5B`, `135K`.
    public var parameterLabel: String { Self.countLabel(parameters) }

    static func countLabel(_ n: Int) -> String {
        let units: [(Int, String)] = [(1_000_000_000_000, "T"), (1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")]
        for (scale, suffix) in units {
            // One decimal, rounded half up, in integers so the label never depends on float formatting;
            // a unit is used once the count rounds to at least 1.0 of it (999,950 is "1.0M").
            let tenths = (n / (scale / 100) + 5) / 10
            if tenths >= 10 { return "\(tenths / 10).\(tenths % 10)\(suffix)" }
        }
        return "\(n)"
    }

    /// Tensor types, most frequent first (ties by name), for stable display.
    public var tensorTypesByCount: [(type: String, count: Int)] {
        tensorTypes.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}

/// The JSON shape of `swiftlm show --json`: snake_case keys, and absent values written as `null`
/// (not omitted) so consumers can rely on every key being there.
extension ModelSummary: Encodable {
    enum CodingKeys: String, CodingKey {
        case architecture, name, parameters, parameterSize = "parameter_size", contextLength = "context_length"
        case embeddingLength = "embedding_length", blockCount = "block_count", headCount = "head_count"
        case headCountKV = "head_count_kv", fileType = "file_type", tensorTypes = "tensor_types"
        case tensorCount = "tensor_count", vocabSize = "vocab_size", tokenizer, tokenizerPre = "tokenizer_pre"
        case chatTemplate = "chat_template", license, fileSize = "file_size", ggufVersion = "gguf_version", features
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(architecture, forKey: .architecture)
        try c.encode(name, forKey: .name)
        try c.encode(parameters, forKey: .parameters)
        try c.encode(parameterLabel, forKey: .parameterSize)
        try c.encode(contextLength, forKey: .contextLength)
        try c.encode(embeddingLength, forKey: .embeddingLength)
        try c.encode(blockCount, forKey: .blockCount)
        try c.encode(headCount, forKey: .headCount)
        try c.encode(headCountKV, forKey: .headCountKV)
        try c.encode(fileType, forKey: .fileType)
        try c.encode(tensorTypes, forKey: .tensorTypes)
        try c.encode(tensorCount, forKey: .tensorCount)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(tokenizer, forKey: .tokenizer)
        try c.encode(tokenizerPre, forKey: .tokenizerPre)
        try c.encode(chatTemplate, forKey: .chatTemplate)
        try c.encode(license, forKey: .license)
        try c.encode(fileSize, forKey: .fileSize)
        try c.encode(ggufVersion, forKey: .ggufVersion)
        try c.encode(features, forKey: .features)
    }
}
