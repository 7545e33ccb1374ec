/// The knobs of the sampler chain, with Ollama's defaults.
///
/// The chain always runs in this order (see ``Sampler``):
/// penalties → top-k → top-p → min-p → temperature → draw.
public struct SamplingOptions: Sendable, Equatable {
    /// Softmax temperature. `0` means greedy decoding: the model's most likely token, no penalties, no randomness.
    public var temperature: Float
    /// Keep only the `topK` most likely tokens; `0` or less disables the stage.
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probability sums to at least `topP`; `1` disables it.
    public var topP: Float
    /// Drop tokens less likely than `minP` times the most likely one; `0` disables it.
    public var minP: Float
    /// Divides positive logits (multiplies negative ones) of recently seen tokens, as llama.cpp does; `1` disables it.
    public var repeatPenalty: Float
    /// How many of the most recent tokens (prompt included) the penalties look at; `0` disables them, `-1` means the whole context.
    public var repeatLastN: Int
    /// Subtracted from a token's logit once per earlier occurrence in the window.
    public var frequencyPenalty: Float
    /// Subtracted once from the logit of any token present in the window.
    public var presencePenalty: Float
    /// Fixes the random sequence; `nil` picks a fresh seed per sampler.
    public var seed: UInt64?

    public init(
        temperature: Float = 0.8, topK: Int = 40, topP: Float = 0.9, minP: Float = 0.0,
        repeatPenalty: Float = 1.1, repeatLastN: Int = 64, frequencyPenalty: Float = 0, presencePenalty: Float = 0,
        seed: UInt64? = nil
    ) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repeatPenalty = repeatPenalty
        self.repeatLastN = repeatLastN
        self.frequencyPenalty = frequencyPenalty
        self.presencePenalty = presencePenalty
        self.seed = seed
    }

    /// Deterministic argmax decoding.
    public static let greedy = SamplingOptions(temperature: 0)

    /// True when the chain reduces to argmax over the model's logits.
    public var isGreedy: Bool { temperature <= 0 }

    /// Rejects values that would make the chain meaningless (NaN, negative temperature, top-p outside (0, 1]...).
    public func validate() throws(RuntimeError) {
        func check(_ ok: Bool, _ name: String, _ value: some CustomStringConvertible, _ expected: String) throws(RuntimeError) {
            if !ok { throw .invalidOption(name: name, value: value.description, expected: expected) }
        }
        try check(temperature.isFinite && temperature >= 0, "temperature", temperature, "a number >= 0")
        try check(topK >= 0, "top-k", topK, "an integer >= 0 (0 disables)")
        try check(topP > 0 && topP <= 1, "top-p", topP, "a number in (0, 1]")
        try check(minP >= 0 && minP <= 1, "min-p", minP, "a number in [0, 1]")
        try check(repeatPenalty.isFinite && repeatPenalty > 0, "repeat-penalty", repeatPenalty, "a number > 0 (1 disables)")
        try check(repeatLastN >= -1, "repeat-last-n", repeatLastN, "an integer >= -1")
        try check(frequencyPenalty.isFinite, "frequency-penalty", frequencyPenalty, "a finite number")
        try check(presencePenalty.isFinite, "presence-penalty", presencePenalty, "a finite number")
    }
}
