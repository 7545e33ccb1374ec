import ArgumentParser
import Foundation
import Server
import SwiftLM

// What `explain --json` and `explain --html` add to the bare report: per-step entropy, cumulative
// log-probability and the sampling chain, the run's settings and timings. All fields are optional in the
// JSON so older readers of the report keep working.
extension ExplainCommand {
    /// One stage of the sampler chain at a step, as the page draws it.
    struct Stage: Codable {
        /// `model`, `penalties`, `top_k`, `top_p`, `min_p`, `temperature` or `greedy`.
        var stage: String
        var parameter: Double?
        /// Tokens still in the running after the stage.
        var kept: Int
        /// Probability of each of the step's `top` candidates after the stage (0 once dropped).
        var p: [Double]
        /// Probability of the chosen token after the stage.
        var chosen_p: Double
    }

    /// The sampling settings the report was made with (`greedy` when the temperature is 0).
    struct Settings: Codable {
        var greedy: Bool
        var temperature: Float
        var top_k: Int
        var top_p: Float
        var min_p: Float
        var repeat_penalty: Float
        var seed: UInt64?
        var max_tokens: Int
    }

    /// Counts and timings. Only forward passes are timed: the explanation's own analysis (softmax over the
    /// vocabulary, the sampling trace) is left out so tokens/s means what `run` would give.
    struct Summary: Codable {
        var prompt_tokens: Int
        var generated_tokens: Int
        var prompt_seconds: Double
        /// Time of the forward passes after the prompt (one per generated token but the last).
        var decode_seconds: Double
        var tokens_per_second: Double?
    }

    /// Entropy (nats), cumulative log-probability and the sampling chain for `step`, from the logits it was
    /// sampled from. `sampler` must be in the state `sample` saw (same penalty window).
    static func annotate(_ step: inout Step, logits: [Float], sampler: Sampler, cumulative previous: Float) {
        let lse = Double(Sampler.logSumExp(logits))
        // H = -Σ p log p = lse - Σ p·logit, in double precision over the whole vocabulary.
        var expected = 0.0
        for l in logits { expected += exp(Double(l) - lse) * Double(l) }
        step.entropy = Float(max(lse - expected, 0))
        step.cumulative_logprob = previous + step.logprob
        let watched = step.top.map(\.id) + [step.id]
        step.sampling = sampler.trace(logits, watching: watched).stages.map { s in
            Stage(stage: s.kind.rawValue, parameter: s.parameter, kept: s.kept,
                  p: Array(s.probabilities.dropLast()), chosen_p: s.probabilities.last ?? 0)
        }
    }

    /// A token with its exact bytes when they are not whole UTF-8 (half a character), and whether it is special.
    static func token(_ id: Int32, tokenizer: Tokenizer, logprob: Float? = nil) -> Token {
        let bytes = tokenizer.pieceBytes(id)
        let valid = String(validating: bytes, as: UTF8.self) != nil
        return Token(id: id, piece: String(decoding: bytes, as: UTF8.self), logprob: logprob,
                     bytes: valid ? nil : bytes, special: tokenizer.isControl(id) ? true : nil)
    }

    static func settings(_ options: GenerationOptions) -> Settings {
        let s = options.sampling
        return Settings(greedy: s.isGreedy, temperature: s.temperature, top_k: s.topK, top_p: s.topP, min_p: s.minP,
                        repeat_penalty: s.repeatPenalty, seed: s.seed, max_tokens: options.maxTokens)
    }

    /// A file we can create: its folder exists. Checked before the model loads, so a typo costs nothing.
    static func validateOutputPath(_ path: String, _ flag: String) throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("\(flag): the folder \(folder) does not exist")
        }
    }

    /// Writes the report as a self-contained page (see ``ExplainPage``).
    func writeHTML(_ report: Report, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let html = ExplainPage.staticPage(reportJSON: try encoder.encode(report))
        try Data(html.utf8).write(to: URL(fileURLWithPath: path))
        if !json { writeStandardOutput("Wrote \(path)\n") }
    }
}
