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

    /// A prompt's rows reach each expert as one group (one batched matmul per expert, not one per row).
    @Test func rowsAreGroupedByExpert() {
        // 4 rows x 4 experts; each row's two largest logits force its experts.
        let logits: [Float] = [
            5, 4, 0, 0, // row 0: experts 0, 1
            0, 4, 5, 0, // row 1: experts 2, 1
            5, 0, 0, 4, // row 2: experts 0, 3
            0, 5, 0, 4, // row 3: experts 1, 3
        ]
        let g = logits.withUnsafeBufferPointer { ExpertRouting.groups($0.baseAddress!, rows: 4, experts: 4, used: 2) }
        #expect(g.map { $0.map(\.row) } == [[0, 2], [0, 1, 3], [1], [2, 3]])
        let heavy = Float(1 / (1 + exp(-1.0))) // e^5 / (e^5 + e^4)
        #expect(abs(g[0][0].weight - heavy) < 1e-6 && abs(g[1][0].weight - (1 - heavy)) < 1e-6)
        #expect(abs(g[2][0].weight - heavy) < 1e-6 && abs(g[1][1].weight - (1 - heavy)) < 1e-6)
    }
}
