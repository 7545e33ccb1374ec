import Template

/// What to generate and when to stop.
public struct GenerationOptions: Sendable, Equatable {
    public var sampling: SamplingOptions
    /// Maximum tokens to generate; `-1` means until an end-of-generation token or a full context
    /// (Ollama's `num_predict`).
    public var maxTokens: Int
    /// Stop when the model emits an end-of-generation token (EOS / end of turn).
    public var stopAtEndOfGeneration: Bool
    /// Extra stop strings: generation ends where one appears, and the text from it on is not emitted.
    public var stopSequences: [String]
    /// Log-probabilities to report: nil reports none; `k` (0...``maxTopLogprobs``) streams one
    /// ``GenerationEvent/logprobs(_:)`` event per generated token, with its own log-probability and the
    /// `k` most likely alternatives at that position (OpenAI's `logprobs` / `top_logprobs`).
    public var logprobs: Int?
    /// The shape the generated text must have (JSON, a JSON Schema, a GBNF grammar); nil leaves it free.
    /// Enforced token by token by the sampler (constrained sampling), see ``OutputFormat``.
    public var format: OutputFormat?
    /// Control tokens, by their text, that the output shows instead of dropping: tool-call markup that is a
    /// special token in the model's vocabulary (Mistral's `[TOOL_CALLS]`, Llama 3's `<|python_tag|>`), so
    /// a ``ToolCallParser`` sees it. ``ChatSession`` and the server set it from
    /// ``ToolCallFormat/markupTokens`` when a request has tools. Texts that are not a control token of
    /// the vocabulary are ignored (they are ordinary text already).
    public var visibleControlTokens: [String] = []

    /// The most alternatives ``logprobs`` may ask for (OpenAI's and Ollama's limit).
    public static let maxTopLogprobs = 20

    public init(sampling: SamplingOptions = SamplingOptions(), maxTokens: Int = -1,
                stopAtEndOfGeneration: Bool = true, stopSequences: [String] = [], logprobs: Int? = nil,
                format: OutputFormat? = nil) {
        self.sampling = sampling
        self.maxTokens = maxTokens
        self.stopAtEndOfGeneration = stopAtEndOfGeneration
        self.stopSequences = stopSequences
        self.logprobs = logprobs
        self.format = format
    }

    public func validate() throws(RuntimeError) {
        try sampling.validate()
        if maxTokens < -1 {
            throw .invalidOption(name: "num-predict", value: String(maxTokens), expected: "-1 (unlimited) or an integer >= 0")
        }
        if let logprobs, !(0...Self.maxTopLogprobs).contains(logprobs) {
            throw .invalidOption(name: "top-logprobs", value: String(logprobs), expected: "an integer in 0...\(Self.maxTopLogprobs)")
        }
        if let format { _ = try format.compiledGrammar() }
    }
}

/// Counters and timings of one generation, delivered in the final ``GenerationEvent/done(_:)`` event.
public struct GenerationStats: Sendable, Equatable {
    public enum DoneReason: String, Sendable, Equatable {
        /// An end-of-generation token or a stop sequence.
        case stop
        /// `maxTokens` reached or the context is full.
        case length
        /// ``RequestScheduler/cancel(_:)`` (or ``ChatSession/cancel()``) stopped it.
        case cancelled
    }

    /// Tokens of the prompt (including any reused from the cache).
    public var promptTokens: Int = 0
    /// Of those, how many were already in the cache and not evaluated again.
    public var cachedPromptTokens: Int = 0
    /// Tokens sampled (the end-of-generation token is not counted).
    public var generatedTokens: Int = 0
    /// The sampled ids, in order (end-of-generation token excluded).
    public var tokenIDs: [Int32] = []
    /// Time to load the model (zero when it was already loaded before this generation).
    public var loadDuration: Duration = .zero
    /// Time to evaluate the uncached part of the prompt and sample the first token.
    public var promptDuration: Duration = .zero
    /// Time spent decoding after the first token.
    public var generationDuration: Duration = .zero
    public var doneReason: DoneReason = .stop
    /// Time spent choosing tokens (sampling, grammar masks and parse, detokenizing, stop sequences), for
    /// `swiftlm bench --schema`, which reports the grammar's share of each decode step.
    package var stepDuration: Duration = .zero

    public init() {}

    /// Prompt tokens evaluated per second (cached ones excluded).
    public var promptTokensPerSecond: Double {
        Self.rate(promptTokens - cachedPromptTokens, promptDuration)
    }

    /// Generated tokens per second, after the first one (which is charged to the prompt).
    public var generationTokensPerSecond: Double {
        Self.rate(max(generatedTokens - 1, 0), generationDuration)
    }

    static func rate(_ count: Int, _ d: Duration) -> Double {
        let s = d.seconds
        return s > 0 ? Double(count) / s : 0
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    public var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }
}

/// One token and its log-probability under the model's own distribution (temperature 1, no penalties),
/// whatever sampler settings chose it.
public struct TokenProbability: Sendable, Equatable {
    public var id: Int32
    /// The token's bytes as text (invalid UTF-8, such as half a character, is repaired with U+FFFD;
    /// ``bytes`` keeps the exact bytes).
    public var text: String
    public var bytes: [UInt8]
    /// Natural logarithm of the probability.
    public var logprob: Float

    public init(id: Int32, text: String, bytes: [UInt8], logprob: Float) {
        self.id = id
        self.text = text
        self.bytes = bytes
        self.logprob = logprob
    }
}

/// Log-probabilities at one generated position: the chosen token and the most likely alternatives.
public struct TokenLogprobs: Sendable, Equatable {
    public var token: TokenProbability
    /// The most likely tokens at this position, most likely first (as many as ``GenerationOptions/logprobs`` asked).
    public var top: [TokenProbability]

    public init(token: TokenProbability, top: [TokenProbability]) {
        self.token = token
        self.top = top
    }
}

/// One item of a generation stream.
public enum GenerationEvent: Sendable, Equatable {
    /// A piece of the reply. Pieces are always whole UTF-8 characters; their concatenation is the reply.
    case text(String)
    /// The final event: why generation stopped and what it cost.
    case done(GenerationStats)
    /// Only when ``GenerationOptions/logprobs`` is set: one per generated token, sent when the token is
    /// sampled, before the text it contributes (which a stop-sequence check or an unfinished UTF-8
    /// character may hold back).
    case logprobs(TokenLogprobs)
    /// Only from a ``ChatSession`` with ``ChatSession/tools``: a tool call parsed from the reply. Its
    /// markup never arrives as ``text(_:)``; the text events carry the rest of the reply.
    case toolCall(ChatToolCall)

    /// The text of a ``text(_:)`` event, nil for ``done(_:)``.
    public var text: String? {
        if case let .text(t) = self { return t }
        return nil
    }
}

extension AsyncThrowingStream where Element == GenerationEvent {
    /// Reads the stream to its end and returns the statistics of its ``GenerationEvent/done(_:)`` event, nil
    /// when it ended without one (its scheduler shut down); the other events are dropped.
    package func finalStats() async throws -> GenerationStats? {
        var stats: GenerationStats?
        for try await event in self { if case let .done(s) = event { stats = s } }
        return stats
    }
}
