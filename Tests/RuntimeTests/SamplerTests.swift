import Testing
import Runtime
import Foundation

@Suite struct SamplerTests {
    /// A toy distribution: token i has logit `values[i]`.
    private func logits(_ values: [Float]) -> [Float] { values }

    @Test func temperatureZeroIsArgmaxIgnoringPenalties() {
        var s = Sampler(options: SamplingOptions(temperature: 0, repeatPenalty: 5, repeatLastN: 64, seed: 1))
        s.accept(2) // would be heavily penalized if penalties applied
        for _ in 0..<10 { #expect(s.sample([0.1, 1.0, 3.0, 2.9]) == 2) }
    }

    @Test func argmaxTakesFirstOfTies() {
        #expect(Sampler.argmax([1, 5, 5, 2]) == 1)
        #expect(Sampler.argmax([-3, -1, -2]) == 1)
    }

    @Test func sameSeedSameSequenceDifferentSeedDiffers() {
        let row: [Float] = (0..<200).map { Float(($0 * 37) % 101) / 25 }
        func run(_ seed: UInt64) -> [Int32] {
            var s = Sampler(options: SamplingOptions(temperature: 1.5, topK: 0, topP: 1, repeatPenalty: 1, seed: seed))
            return (0..<64).map { _ in s.sample(row) }
        }
        #expect(run(42) == run(42))
        #expect(run(42) != run(43))
    }

    @Test func topKOneIsGreedyWhateverTheTemperature() {
        var s = Sampler(options: SamplingOptions(temperature: 5, topK: 1, topP: 1, repeatPenalty: 1, seed: 7))
        for _ in 0..<20 { #expect(s.sample([0, 4, 1, 3.5]) == 1) }
    }

    @Test func topKKeepsTheHighestSorted() {
        var c = Candidates(logits: [0.5, 3, -1, 3, 2, 7])
        TopKStage(k: 3).apply(&c)
        #expect(c.ids == [5, 1, 3])
        #expect(c.logits == [7, 3, 3])
        #expect(c.isSorted)
    }

    @Test func topPKeepsSmallestPrefixReachingP() {
        // probabilities ∝ e^l: with logits ln(0.5), ln(0.3), ln(0.15), ln(0.05) they are exactly those.
        let probs: [Float] = [0.05, 0.5, 0.15, 0.3]
        var c = Candidates(logits: probs.map { logf($0) })
        TopPStage(p: 0.75).apply(&c)
        #expect(c.ids == [1, 3])
        var all = Candidates(logits: probs.map { logf($0) })
        TopPStage(p: 0.96).apply(&all)
        #expect(all.ids == [1, 3, 2, 0])
    }

    @Test func minPDropsUnlikelyTokens() {
        let probs: [Float] = [0.5, 0.3, 0.15, 0.05]
        var c = Candidates(logits: probs.map { logf($0) })
        MinPStage(p: 0.25).apply(&c) // threshold 0.125
        #expect(c.ids == [0, 1, 2])
    }

    @Test func penaltiesFollowLlamaCppFormula() {
        var l: [Float] = [2, -2, 1, 4]
        PenaltyStage(repeatPenalty: 2, frequencyPenalty: 0.5, presencePenalty: 0.25)
            .apply(to: &l, window: [Int32(0), 1, 1, 7 /* out of vocabulary: ignored */])
        #expect(l[0] == 2 / 2 - 0.5 - 0.25)
        #expect(l[1] == -2 * 2 - 1.0 - 0.25)
        #expect(l[2] == 1)
        #expect(l[3] == 4)
    }

    @Test func penaltyWindowKeepsOnlyTheLastN() {
        var s = Sampler(options: SamplingOptions(repeatLastN: 3))
        s.accept(contentsOf: [1, 2, 3, 4, 5, 6, 7] as [Int32])
        #expect(Array(s.penaltyWindow) == [5, 6, 7])
        var off = Sampler(options: SamplingOptions(repeatLastN: 0))
        off.accept(9)
        #expect(off.penaltyWindow.isEmpty)
    }

    @Test func repeatPenaltyChangesTheDraw() {
        // Token 0 is the clear favourite until penalized; top-k 1 makes the draw deterministic.
        var s = Sampler(options: SamplingOptions(temperature: 1, topK: 1, topP: 1, repeatPenalty: 4, seed: 3))
        #expect(s.sample([2, 1, 0]) == 0)
        s.accept(0)
        #expect(s.sample([2, 1, 0]) == 1)
    }

    /// Order matters: top-p runs on the untempered distribution. With logits giving p = [0.6, 0.3, 0.1],
    /// top-p 0.5 keeps only token 0 even at a high temperature that would flatten it before the cut.
    @Test func chainOrderAppliesTopPBeforeTemperature() {
        let probs: [Float] = [0.6, 0.3, 0.1]
        var s = Sampler(options: SamplingOptions(temperature: 100, topK: 0, topP: 0.5, repeatPenalty: 1, seed: 9))
        for _ in 0..<50 { #expect(s.sample(probs.map { logf($0) }) == 0) }
    }

    @Test func drawFollowsTheDistribution() {
        let probs: [Float] = [0.7, 0.2, 0.1]
        var s = Sampler(options: SamplingOptions(temperature: 1, topK: 0, topP: 1, repeatPenalty: 1, seed: 11))
        var counts = [0, 0, 0]
        let n = 20000
        for _ in 0..<n { counts[Int(s.sample(probs.map { logf($0) }))] += 1 }
        for i in 0..<3 { #expect(abs(Double(counts[i]) / Double(n) - Double(probs[i])) < 0.02) }
    }

    @Test func topLogProbsAreNormalized() {
        let top = Sampler.topLogProbs([logf(0.5), logf(0.25), logf(0.25)], k: 2)
        #expect(top.map(\.id) == [0, 1])
        #expect(abs(top[0].logprob - logf(0.5)) < 1e-5)
    }

    @Test func invalidOptionsAreRejected() {
        #expect(throws: RuntimeError.self) { try SamplingOptions(temperature: -1).validate() }
        #expect(throws: RuntimeError.self) { try SamplingOptions(topP: 0).validate() }
        #expect(throws: RuntimeError.self) { try SamplingOptions(temperature: .nan).validate() }
        #expect(throws: Never.self) { try SamplingOptions().validate() }
    }

    @Test func xoshiroIsStableAcrossRuns() {
        var a = Xoshiro256(seed: 0), b = Xoshiro256(seed: 0)
        let xs = (0..<4).map { _ in a.next() }
        #expect(xs == (0..<4).map { _ in b.next() })
        #expect(Set(xs).count == 4)
        var u = Xoshiro256(seed: 5)
        for _ in 0..<1000 { let v = u.nextUnit(); #expect(v >= 0 && v < 1) }
    }
}
