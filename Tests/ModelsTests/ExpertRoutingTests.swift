import Foundation
import Models
import Testing

/// Expert routing on hand-made router logits (the end-to-end check against llama.cpp is the qwen3moe
/// fixture in ArchitectureFixtureTests).
struct ExpertRoutingTests {
    private func route(_ logits: [Float], used: Int) -> [(expert: Int, weight: Float)] {
        logits.withUnsafeBufferPointer { ExpertRouting.route($0.baseAddress!, experts: logits.count, used: used) }
    }

    @Test func picksTheMostProbableExpertsWithRenormalisedWeights() {
        // Experts 5 and 2 dominate; their softmax probabilities e^3 : e^2 renormalised over the two.
        let r = route([0, -1, 2, 0.5, -3, 3, 1, 0], used: 2)
        #expect(r.map(\.expert) == [5, 2])
        let want5 = Float(exp(3.0) / (exp(3.0) + exp(2.0)))
        #expect(abs(r[0].weight - want5) < 1e-6)
        #expect(abs(r[0].weight + r[1].weight - 1) < 1e-6)
    }

    @Test func tiesGoToTheLowerIndexAndOneExpertGetsWeightOne() {
        // A router of zeros: every expert equally likely, so the first `used` in index order.
        let uniform = route([Float](repeating: 0, count: 8), used: 3)
        #expect(uniform.map(\.expert) == [0, 1, 2])
        for e in uniform { #expect(abs(e.weight - 1.0 / 3) < 1e-6) }
        let single = route([1, 7, 7, 2], used: 1)
        #expect(single.map(\.expert) == [1])
        #expect(single[0].weight == 1)
    }

    @Test func usingEveryExpertIsThePlainSoftmax() {
        let logits: [Float] = [0.3, -0.2, 1.1, 0.0]
        let r = route(logits, used: 4)
        let z = logits.map { exp(Double($0)) }.reduce(0, +)
        for (e, w) in r { #expect(abs(Double(w) - exp(Double(logits[e])) / z) < 1e-6) }
        #expect(r.map(\.expert) == [2, 0, 3, 1])
    }
}
