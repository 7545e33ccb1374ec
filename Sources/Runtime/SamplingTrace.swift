/// What each stage of the sampler chain did to one row of logits: how many tokens survived it and how
/// likely a few watched tokens were afterwards. `swiftlm explain` shows it so a user sees what each knob does.
///
/// The trace runs the same stages, in the same order and with the same parameters, as ``Sampler/sample(_:)``,
/// so the final stage's distribution is exactly the one the draw uses.
public struct SamplingTrace: Sendable, Equatable {
    /// One stage of the chain and the distribution after it.
    public struct Stage: Sendable, Equatable {
        public enum Kind: String, Sendable {
            /// The model's own distribution: softmax of the raw logits.
            case model
            /// Repeat / frequency / presence penalties over the recent tokens.
            case penalties
            case topK = "top_k"
            case topP = "top_p"
            case minP = "min_p"
            case temperature
            /// Temperature 0: the most likely token, with probability 1.
            case greedy
        }

        public var kind: Kind
        /// The stage's setting (k, p, temperature...); nil for `model`, `penalties` and `greedy`.
        public var parameter: Double?
        /// Tokens still in the running after this stage.
        public var kept: Int
        /// Probability of each watched token after this stage (renormalised over the survivors; 0 once dropped).
        public var probabilities: [Double]
    }

    public var stages: [Stage]
}

extension Sampler {
    /// Traces the chain over `logits` without drawing, reporting the probabilities of `watched` after each stage.
    ///
    /// Uses the current penalty window, so call it where ``sample(_:)`` would be called.
    public func trace(_ logits: [Float], watching watched: [Int32]) -> SamplingTrace {
        precondition(!logits.isEmpty, "a logits row has one entry per vocabulary token")
        var stages = [Self.stage(.model, nil, Candidates(logits: logits), watched)]
        if options.isGreedy {
            let best = Sampler.argmax(logits)
            stages.append(.init(kind: .greedy, parameter: nil, kept: 1, probabilities: watched.map { $0 == best ? 1 : 0 }))
            return SamplingTrace(stages: stages)
        }
        var adjusted = logits
        let penalties = PenaltyStage(
            repeatPenalty: options.repeatPenalty, frequencyPenalty: options.frequencyPenalty,
            presencePenalty: options.presencePenalty)
        if !penalties.isIdentity {
            penalties.apply(to: &adjusted, window: penaltyWindow)
            stages.append(Self.stage(.penalties, nil, Candidates(logits: adjusted), watched))
        }
        var c = Candidates(logits: adjusted)
        TopKStage(k: options.topK).apply(&c)
        stages.append(Self.stage(.topK, Double(options.topK), c, watched))
        TopPStage(p: options.topP).apply(&c)
        stages.append(Self.stage(.topP, Double(options.topP), c, watched))
        MinPStage(p: options.minP).apply(&c)
        stages.append(Self.stage(.minP, Double(options.minP), c, watched))
        TemperatureStage(temperature: options.temperature).apply(&c)
        stages.append(Self.stage(.temperature, Double(options.temperature), c, watched))
        return SamplingTrace(stages: stages)
    }

    private static func stage(_ kind: SamplingTrace.Stage.Kind, _ parameter: Double?, _ c: Candidates,
                              _ watched: [Int32]) -> SamplingTrace.Stage {
        let probs = c.probabilities()
        var byID: [Int32: Double] = [:]
        byID.reserveCapacity(watched.count)
        let wanted = Set(watched)
        for (i, id) in c.ids.enumerated() where wanted.contains(id) { byID[id] = probs[i] }
        return .init(kind: kind, parameter: parameter, kept: c.count, probabilities: watched.map { byID[$0] ?? 0 })
    }
}
