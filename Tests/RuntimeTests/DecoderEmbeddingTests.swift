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
        let all = try await model.embed(texts)
        #expect(model.embeddingPooling == .mean)
        #expect(all.count == texts.count)
        for v in all {
            #expect(v.count == model.embeddingDimensions)
            #expect(abs(Self.norm(v) - 1) < 1e-5)
        }
        // Each input runs alone from an empty cache: its vector is bit-identical whatever else is embedded.
        #expect(try await model.embed([texts[1]]) == [all[1]])
        #expect(try await model.embed([texts[2], texts[0]]) == [all[2], all[0]])
        // Different texts give different vectors.
        let cos = zip(all[0], all[1]).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(cos < 0.999)
        #expect(try await model.embed([]).isEmpty)
    }

    struct Reference: Decodable {
        var model: String
        var text: String
        var embedding: String
    }

    /// The fallback is llama.cpp's `--pooling mean` (Fixtures/embeddings-decoders.json, made by
    /// scripts/make-embedding-fixtures.py --decoders): same tokens, same normed hidden states, same mean.
    /// The bound leaves room for the two engines' quantized-activation rounding: >= 0.9996 on smollm2 and
    /// qwen2.5-coder, 0.9985 at worst on gemma3, whose few huge hidden dimensions amplify it.
    @Test(arguments: ["smollm2:135m", "qwen2.5-coder:0.5b", "gemma3:270m"])
    func matchesLlamaCppMeanPooling(model name: String) async throws {
        guard try RealModels.pathOrSkip(name) != nil else { return }
        struct File: Decodable { var cases: [Reference] }
        let all = try JSONDecoder().decode(File.self, from: Data(contentsOf: fixtureURL("embeddings-decoders", "json"))).cases
        let cases = all.filter { $0.model == name }
        #expect(cases.count == 4)
        let model = try await ModelCache.shared.model(name)
        let vectors = try await model.embed(cases.map(\.text))
        for (c, v) in zip(cases, vectors) {
            let data = try #require(Data(base64Encoded: c.embedding))
            let reference: [Float] = data.withUnsafeBytes { raw in
                (0 ..< data.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
            }
            #expect(reference.count == v.count)
            let cos = zip(v, reference).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } / (Self.norm(v) * Self.norm(reference))
            #expect(cos >= 0.998, "\(name): cosine \(cos) to llama.cpp for \(c.text.debugDescription)")
        }
    }

    @Test func longInputsAreTruncatedToTheContext() async throws {
        guard try RealModels.pathOrSkip("smollm2:135m") != nil else { return }
        let model = try await ModelCache.shared.model("smollm2:135m")
        let limit = model.embeddingTokenLimit
        let long = String(repeating: "word ", count: limit + 100)
        let tokens = model.embeddingTokens(long)
        #expect(tokens.count == limit)
        #expect(tokens == Array(model.tokenizer.encode(long, addSpecial: true, parseSpecial: true).prefix(limit)))
    }

    /// qwen2.5-coder adds no BOS, so an empty string has no token to pool: a clear error, not a NaN vector.
    @Test func emptyInputWithoutBOSIsAnError() async throws {
        guard try RealModels.pathOrSkip("qwen2.5-coder:0.5b") != nil else { return }
        let model = try await ModelCache.shared.model("qwen2.5-coder:0.5b")
        #expect(model.embeddingTokens("").isEmpty)
        #expect(throws: RuntimeError.emptyPrompt) { _ = try model.embed(["hello", ""]) }
    }
}
