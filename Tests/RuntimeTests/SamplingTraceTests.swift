import Foundation
import Runtime
import Testing

/// ``Sampler/trace(_:watching:)``: the chain `explain` shows must be the chain `sample` draws from.
@Suite struct SamplingTraceTests {
    // Softmax of these: roughly 0.64, 0.24, 0.09, 0.03, 0.004 ...
    private let row: [Float] = [4, 3, 2, 1, -1, -3]

    @Test func everyStageKeepsWhatItsKnobAllows() {
        let s = Sampler(options: SamplingOptions(temperature: 2, topK: 4, topP: 0.9, minP: 0.2, repeatPenalty: 1, seed: 1))
        let trace = s.trace(row, watching: [0, 1, 2, 3, 4])
        #expect(trace.stages.map(\.kind) == [.model, .topK, .topP, .minP, .temperature])
        #expect(trace.stages.map(\.kept) == [6, 4, 3, 2, 2])
        #expect(trace.stages.map(\.parameter) == [nil, 4, Double(Float(0.9)), Double(Float(0.2)), 2])
        let model = trace.stages[0].probabilities
        let lse = log(row.map { exp(Double($0)) }.reduce(0, +))
        for (i, p) in model.enumerated() { #expect(abs(p - exp(Double(row[i]) - lse)) < 1e-9) }
        // After min-p only tokens 0 and 1 remain; temperature 2 flattens them to softmax([2, 1.5]).
        let last = trace.stages[4].probabilities
        let a = exp(2.0), b = exp(1.5)
        #expect(abs(last[0] - a / (a + b)) < 1e-6)
        #expect(abs(last[1] - b / (a + b)) < 1e-6)
        #expect(last[2...] == [0, 0, 0])
        for stage in trace.stages { #expect(stage.probabilities.reduce(0, +) <= 1 + 1e-9) }
    }

    @Test func sampledTokensAlwaysHavePositiveFinalProbability() {
        var s = Sampler(options: SamplingOptions(temperature: 1.3, topK: 5, topP: 0.95, minP: 0.01, repeatPenalty: 1.3, seed: 9))
        s.accept(0)
        let trace = s.trace(row, watching: (0..<6).map(Int32.init))
        #expect(trace.stages.map(\.kind).contains(.penalties))
        let final = trace.stages.last!.probabilities
        var seen = Set<Int32>()
        for _ in 0..<300 {
            let t = s.sample(row)
            seen.insert(t)
            #expect(final[Int(t)] > 0, "sampled \(t), which the trace had dropped")
        }
        // And every token the trace keeps does get drawn, so the trace is not too narrow either.
        #expect(seen == Set((0..<6).filter { final[$0] > 0 }.map(Int32.init)))
    }

    @Test func greedyIsOneOnTheArgmax() {
        let s = Sampler(options: .greedy)
        let trace = s.trace(row, watching: [1, 0])
        #expect(trace.stages.map(\.kind) == [.model, .greedy])
        #expect(trace.stages[1].probabilities == [0, 1])
        #expect(trace.stages[1].kept == 1)
    }
}
