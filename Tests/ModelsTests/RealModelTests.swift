import Foundation
import GGUF
import Models
import Testing
import TestSupport

/// End-to-end correctness against llama.cpp on the real models: teacher-forced prompt + greedy
/// continuation in one batch, checked at every position. Only meaningful in release builds
/// (`swift test -c release --filter ModelsTests`); debug builds are too slow for the larger models.
@Suite(.serialized)
struct RealModelTests {
    /// Bound on max |logit - llama.cpp logit| over each position's reference top-20. Both sides
    /// quantize activations to 8 bits for the quantized matmuls, but with different rounding and
    /// summation order, so logits agree to a few hundredths, not bit for bit.
    static let tolerance: [String: Float] = ["smollm2:135m": 0.25, "qwen2.5-coder:0.5b": 0.35, "gemma3:270m": 0.35]

    @Test(arguments: ["smollm2:135m", "qwen2.5-coder:0.5b", "gemma3:270m"])
    func matchesLlamaCpp(model name: String) throws {
        guard let path = try RealModels.pathOrSkip(name) else { return }
        let fixture = try EngineFixture.load(name)
        let model = try ModelRegistry.load(try GGUFFile(path: path), pool: sharedPool)
        #expect(model.info.vocabSize == fixture.vocab_size)
        for c in fixture.cases + (fixture.long_cases ?? []) {
            let (diff, mean, mismatches) = try compareWithFixture(model, c, tieBand: Self.tolerance[name]!)
            print("[\(name)] \(c.name): \(c.positions.count) positions, |logit diff| max \(diff) mean \(mean), argmax mismatches \(mismatches)")
            #expect(mismatches.isEmpty, "\(name) \(c.name): argmax differs from llama.cpp at positions \(mismatches)")
            #expect(diff < Self.tolerance[name]!, "\(name) \(c.name): max |logit diff| \(diff)")
        }
    }
}
