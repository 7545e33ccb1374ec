import JSON
import Runtime

/// The model options of one request (Ollama's `options` object, or OpenAI's top-level fields).
struct RequestOptions: Sendable, Equatable {
    var generation = GenerationOptions()
    /// `num_ctx`; nil: the server's default.
    var contextLength: Int?
    /// `num_batch`.
    var batchSize: Int?

    /// Options that only matter to GPU builds or memory mapping: accepted, with no effect on a CPU runtime.
    static let noEffectOnCPU: Set<String> = ["num_gpu", "main_gpu", "use_mmap", "use_mlock", "numa", "low_vram", "f16_kv",
                                             "vocab_only", "logits_all", "num_gqa", "rope_frequency_base", "rope_frequency_scale"]

    /// Reads Ollama's `options` object. Wrong types and out-of-range values are 400s that name the
    /// option; sampler settings SwiftLM does not implement are refused unless set to their neutral value.
    static func ollama(_ options: [String: JSONValue]?, logprobs: Bool?, topLogprobs: Int?) throws(ServerError) -> RequestOptions {
        var out = RequestOptions()
        let o = OptionReader(values: options ?? [:], prefix: "options.")
        var s = out.generation.sampling
        if let v = try o.float("temperature") { s.temperature = v }
        if let v = try o.int("top_k") { s.topK = v }
        if let v = try o.float("top_p") { s.topP = v }
        if let v = try o.float("min_p") { s.minP = v }
        if let v = try o.float("repeat_penalty") { s.repeatPenalty = v }
        if let v = try o.int("repeat_last_n") { s.repeatLastN = v }
        if let v = try o.float("presence_penalty") { s.presencePenalty = v }
        if let v = try o.float("frequency_penalty") { s.frequencyPenalty = v }
        if let v = try o.int("seed") { s.seed = v < 0 ? nil : UInt64(v) }
        out.generation.sampling = s
        if let v = try o.int("num_predict") { out.generation.maxTokens = v < 0 ? -1 : v }
        if let v = try o.strings("stop") { out.generation.stopSequences = v }
        if let v = try o.int("num_ctx") { out.contextLength = v }
        if let v = try o.int("num_batch") { out.batchSize = v }
        if let v = try o.int("num_thread"), v < 1 {
            throw .badRequest("invalid value for field 'options.num_thread': expected an integer >= 1")
        }
        _ = try o.int("num_keep")
        if let v = try o.float("typical_p"), v != 1 {
            throw .unsupported("options.typical_p", "locally typical sampling is not implemented; leave it at 1")
        }
        if let v = try o.int("mirostat"), v != 0 {
            throw .unsupported("options.mirostat", "Mirostat sampling is not implemented; leave it at 0")
        }
        if let v = try o.float("tfs_z"), v != 1 {
            throw .unsupported("options.tfs_z", "tail-free sampling is not implemented; leave it at 1")
        }
        _ = try o.bool("penalize_newline")
        try out.applyLogprobs(logprobs, topLogprobs)
        try out.validate()
        return out
    }

    mutating func applyLogprobs(_ enabled: Bool?, _ top: Int?) throws(ServerError) {
        if let top, !(0...GenerationOptions.maxTopLogprobs).contains(top) {
            throw .badRequest("invalid value for field 'top_logprobs': expected an integer in 0...\(GenerationOptions.maxTopLogprobs)")
        }
        if enabled == true { generation.logprobs = top ?? 0 }
    }

    /// Range checks, reported with the API's option names.
    func validate() throws(ServerError) {
        if let n = contextLength, n < 1 { throw .badRequest("invalid value for field 'options.num_ctx': expected an integer >= 1, got \(n)") }
        if let n = batchSize, n < 1 { throw .badRequest("invalid value for field 'options.num_batch': expected an integer >= 1, got \(n)") }
        do {
            try generation.validate()
        } catch {
            throw ServerError.map(error)
        }
    }
}

/// Typed reads from a JSON object of options, naming the field in every error.
struct OptionReader {
    let values: [String: JSONValue]
    let prefix: String

    private func fail(_ key: String, _ expected: String) -> ServerError {
        .badRequest("invalid value for field '\(prefix)\(key)': expected \(expected)")
    }

    func float(_ key: String) throws(ServerError) -> Float? {
        switch values[key] {
        case nil, .null?: return nil
        case let .number(n)?:
            switch n.value {
            case let .int(i): return Float(i)
            case let .double(d):
                guard d.isFinite, abs(d) <= Double(Float.greatestFiniteMagnitude) else { throw fail(key, "a finite number") }
                return Float(d)
            }
        default: throw fail(key, "a number")
        }
    }

    func int(_ key: String) throws(ServerError) -> Int? {
        switch values[key] {
        case nil, .null?: return nil
        case let .number(n)?:
            switch n.value {
            case let .int(i): return i
            case let .double(d):
                // Clients written in dynamic languages send 512.0 for 512.
                guard d == d.rounded(), abs(d) < 9.0e15 else { throw fail(key, "an integer") }
                return Int(d)
            }
        default: throw fail(key, "an integer")
        }
    }

    func bool(_ key: String) throws(ServerError) -> Bool? {
        switch values[key] {
        case nil, .null?: return nil
        case let .bool(b)?: return b
        default: throw fail(key, "a boolean")
        }
    }

    func strings(_ key: String) throws(ServerError) -> [String]? {
        switch values[key] {
        case nil, .null?: return nil
        case let .string(s)?: return [s]
        case let .array(items)?:
            var out: [String] = []
            for item in items {
                guard case let .string(s) = item else { throw fail(key, "a string or a list of strings") }
                out.append(s)
            }
            return out
        default: throw fail(key, "a string or a list of strings")
        }
    }
}
