import GGUF
import Testing

/// `swiftlm show`'s "features" row (``ModelSummary/features``) names each architecture's quirks, read from
/// the tiny architecture GGUFs the logit tests run on.
@Suite struct ArchitectureFeatureTests {
    static let expected: [String: [String]] = [
        "llama-linear": ["RoPE scaling linear x4"],
        "llama-llama3": ["RoPE frequency factors (llama3 scaling)"],
        "llama-yarn": ["RoPE scaling yarn x4 (from 256)"],
        "llama-swa": ["sliding window 8 on every layer"],
        "mistral3": ["attention temperature 0.5"],
        "qwen3": ["Q/K norm"],
        "qwen3moe": ["8 experts, 2 per token", "Q/K norm"],
        "gemma2": ["sliding window 8 on every other layer", "attention softcap 5", "final logit softcap 3", "pre- and post-norms"],
        "olmo2": ["Q/K norm", "post-norms only"],
        "granite": ["scales: embedding x2, residual x0.3, attention x0.05, logits /4"],
        "phi3": ["RoPE scaling longrope, short/long factors (from 256)", "fused QKV"],
    ]

    @Test func everyArchitectureIsDescribed() {
        #expect(Set(Self.expected.keys) == Set(ArchitectureFixtureTests.f32Variants))
    }

    @Test(arguments: ArchitectureFixtureTests.f32Variants)
    func features(_ variant: String) throws {
        let file = try ArchitectureFixture.load(variant).gguf()
        #expect(ModelSummary(file).features == Self.expected[variant], "\(variant)")
    }

    /// llama.cpp's Phi-3 converter writes the LongRoPE factor tensors but not always the scaling type.
    @Test func longRopeWithoutTypeKey() throws {
        let file = try ArchitectureFixture.load("phi3").gguf(removingKeys: [GGUFKey.ropeScalingType("phi3")])
        #expect(ModelSummary(file).features.first == "RoPE scaling longrope, short/long factors (from 256)")
    }

    @Test func sharedExpertIsNamed() throws {
        let file = try ArchitectureFixture.load("qwen3moe").gguf { tensors in
            tensors.append((name: "blk.0.ffn_gate_shexp.weight", dims: [128, 64], values: [Float](repeating: 0, count: 128 * 64)))
        }
        #expect(ModelSummary(file).features.contains("8 experts, 2 per token, shared expert"))
    }
}
