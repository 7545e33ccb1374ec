import GGUF

/// Settings a model carries from the Modelfile it was created with (`swiftlm create --modelfile`,
/// stored as `swiftlm.system` and `swiftlm.parameter.<name>`), applied under whatever the caller
/// sets explicitly, as Ollama applies a model's Modelfile parameters.
///
/// Applied: `temperature`, `top_k`, `top_p`, `min_p`, `repeat_penalty`, `repeat_last_n`,
/// `presence_penalty`, `frequency_penalty`, `seed`, `num_predict`, `stop` and `num_ctx`. Ollama's
/// other parameters (`mirostat*`, `typical_p`, `num_keep`, `num_gpu`, `num_thread`, `num_batch`) are
/// kept in the file but have no SwiftLM counterpart. A value that does not parse is ignored.
public struct ModelDefaults: Sendable, Equatable {
    public var system: String?
    /// `num_ctx`.
    public var contextLength: Int?
    public var options: GenerationOptions

    public init(gguf: GGUFFile, base: GenerationOptions = GenerationOptions()) {
        system = gguf.string(GGUFKey.modelfileSystem)
        options = base
        func value(_ name: String) -> String? { gguf.string(GGUFKey.modelfileParameter(name)) }
        func float(_ name: String) -> Float? { value(name).flatMap(Float.init) }
        func int(_ name: String) -> Int? { value(name).flatMap(Int.init) }
        if let v = float("temperature") { options.sampling.temperature = v }
        if let v = int("top_k") { options.sampling.topK = v }
        if let v = float("top_p") { options.sampling.topP = v }
        if let v = float("min_p") { options.sampling.minP = v }
        if let v = float("repeat_penalty") { options.sampling.repeatPenalty = v }
        if let v = int("repeat_last_n") { options.sampling.repeatLastN = v }
        if let v = float("presence_penalty") { options.sampling.presencePenalty = v }
        if let v = float("frequency_penalty") { options.sampling.frequencyPenalty = v }
        if let v = value("seed").flatMap(UInt64.init) { options.sampling.seed = v }
        if let v = int("num_predict") { options.maxTokens = v }
        if case let .strings(stops)? = gguf.array(GGUFKey.modelfileParameter("stop")) {
            options.stopSequences += stops
        } else if let stop = value("stop") {
            options.stopSequences.append(stop)
        }
        contextLength = int("num_ctx")
    }
}
