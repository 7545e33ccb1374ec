import Foundation
import GGUF
import Kernels
import Models
import Testing
import TestSupport

/// The llama.cpp golden fixture of one model (written by scripts/make-engine-fixtures.py).
struct EngineFixture: Decodable {
    struct Position: Decodable {
        let argmax: Int
        /// Top-20 `[id, logit]` pairs, best first.
        let top: [[Double]]
    }

    struct Case: Decodable {
        let name: String
        let text: String
        let prompt_tokens: [Int32]
        let continuation: [Int32]
        /// Index of the token `positions[0]` belongs to (long cases keep only the tail).
        let positions_from: Int?
        let positions: [Position]
    }

    let model: String
    let vocab_size: Int
    let cases: [Case]
    /// Prompts longer than the model's sliding window (gemma3).
    let long_cases: [Case]?

    /// Fixtures live with the runtime's end-to-end tests; found relative to this source file.
    static func load(_ name: String) throws -> EngineFixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../RuntimeTests/Fixtures/engine-\(name.replacingOccurrences(of: ":", with: "-")).json")
        return try JSONDecoder().decode(EngineFixture.self, from: Data(contentsOf: url.standardizedFileURL))
    }
}

/// Shared across the real-model tests: one pool, as the runtime would have.
let sharedPool = ThreadPool(threads: ThreadPool.defaultThreadCount)

/// Runs `case`'s prompt + continuation through one forward (teacher-forced) and compares every position
/// with the fixture. Returns the largest and the mean |logit difference| over each position's reference top-20, and
/// the positions whose argmax differs from llama.cpp's by more than a near-tie: our pick must be one the
/// reference itself scores within `tieBand` of its best.
func compareWithFixture(_ model: any LanguageModel, _ c: EngineFixture.Case,
                        tieBand: Float) throws -> (maxDiff: Float, meanDiff: Float, argmaxMismatches: [Int]) {
    let tokens = c.prompt_tokens + c.continuation
    let from = c.positions_from ?? 0
    #expect(from + c.positions.count == tokens.count)
    let cache = model.makeCache(capacity: tokens.count)
    let positions = (0 ..< tokens.count).map { Int32($0) }
    let logits = try model.forward(tokens: tokens, positions: positions, cache: cache, outputRows: Array(from ..< tokens.count))
    let vocab = model.info.vocabSize
    var maxDiff: Float = 0, sumDiff: Float = 0, pairs = 0
    var mismatches: [Int] = []
    for (i, ref) in c.positions.enumerated() {
        let row = logits[i * vocab ..< (i + 1) * vocab]
        var best = row.startIndex
        for j in row.indices where row[j] > row[best] { best = j }
        let ours = best - row.startIndex
        if ours != ref.argmax {
            let refBest = Float(ref.top[0][1])
            let refOurs = ref.top.first { Int($0[0]) == ours }.map { Float($0[1]) }
            if refOurs.map({ refBest - $0 > tieBand }) ?? true { mismatches.append(i) }
        }
        for pair in ref.top {
            let d = abs(row[row.startIndex + Int(pair[0])] - Float(pair[1]))
            maxDiff = max(maxDiff, d)
            sumDiff += d
            pairs += 1
        }
    }
    return (maxDiff, sumDiff / Float(max(1, pairs)), mismatches)
}
