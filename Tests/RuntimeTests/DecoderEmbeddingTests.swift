import Foundation
import Runtime
import Testing
import TestSupport

/// The mean-pooled fallback ``LoadedModel/embed(_:)`` gives decoder models.
@Suite(.serialized) struct DecoderEmbeddingTests {
    static func norm(_ v: [Float]) -> Double { v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }

    @Test func unitVectorsIndependentOfTheOtherInputs() async throws {
        guard try RealModels.pathOrSkip("smollm2:135m") != nil else { return }
        let model = try await ModelCache.shared.model("smollm2:135m")
        let texts = ["The cat sat on the mat.", "早上好", "func main() { print(42) }"]
        let all = try model.embed(texts)
        #expect(model.embeddingPooling == .mean)
        #expect(all.count == texts.count)
        for v in all {
            #expect(v.count == model.embeddingDimensions)
            #expect(abs(Self.norm(v) - 1) < 1e-5)
        }
        // Each input runs alone from an empty cache: its vector is bit-identical whatever else is embedded.
        #expect(try model.embed([texts[1]]) == [all[1]])
        #expect(try model.embed([texts[2], texts[0]]) == [all[2], all[0]])
        // Different texts give different vectors.
        let cos = zip(all[0], all[1]).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(cos < 0.999)
        #expect(try model.embed([]).isEmpty)
    }

    @Test func longInputsAreTruncatedToTheContext() async throws {
        guard try RealModels.pathOrSkip("smollm2:135m") != nil else { return }
        let model = try await ModelCache.shared.model("smollm2:135m")
        let limit = model.embeddingTokenLimit
        let long = String(repeating: "word ", count: limit + 100)
        let tokens = model.embeddingTokens(long)
        #expect(tokens.count == limit)
        #expect(tokens == Array(model.tokenizer.encode(long, addSpecial: true, parseSpecial: false).prefix(limit)))
    }

    /// qwen2.5-coder adds no BOS, so an empty string has no token to pool: a clear error, not a NaN vector.
    @Test func emptyInputWithoutBOSIsAnError() async throws {
        guard try RealModels.pathOrSkip("qwen2.5-coder:0.5b") != nil else { return }
        let model = try await ModelCache.shared.model("qwen2.5-coder:0.5b")
        #expect(model.embeddingTokens("").isEmpty)
        #expect(throws: RuntimeError.emptyPrompt) { _ = try model.embed(["hello", ""]) }
    }
}
