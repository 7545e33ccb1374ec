import Foundation
import Models
import Runtime
import Testing
import TestSupport

/// gemma3's sliding-window layers keep only a ring of recent positions, so prompt-prefix reuse must
/// fall back to re-evaluating when the shared prefix ends before what the ring still holds.
@Suite(.serialized) struct SlidingWindowReuseTests {
    /// 1100 arbitrary in-vocabulary ids: past gemma3's 512-token window plus a 512-token chunk.
    static let long: [Int32] = (0 ..< 1100).map { Int32(1000 + ($0 * 37) % 5000) }
    static let tail: [Int32] = (0 ..< 12).map { Int32(7000 + $0 * 11) }
    static let greedy = GenerationOptions(sampling: .greedy, maxTokens: 6)

    private func maxRelativeDiff(_ a: [Float], _ b: [Float]) -> Float {
        let scale = max(1, b.map(abs).max() ?? 1)
        return zip(a, b).map { abs($0 - $1) }.max()! / scale
    }

    @Test func rewindPastTheRingReevaluatesFromTheStart() async throws {
        guard try RealModels.pathOrSkip("gemma3:270m") != nil else { return }
        let model = try await ModelCache.shared.model("gemma3:270m")
        let context = try InferenceContext(model: model, contextLength: 2048)
        _ = try context.evaluate(Self.long, logits: .none)
        let earliest = context.earliestReusablePosition
        #expect(earliest > 300 && earliest < 1000, "the rings wrapped, so early positions are gone (\(earliest))")

        // Shares 300 tokens, below what the rings hold: nothing may be reused.
        let early = Array(Self.long[..<300]) + Self.tail
        #expect(context.reusePrefix(of: early) == 0)
        #expect(context.tokens.isEmpty)

        // The same through a scheduler slot (how generation reuses prefixes): the slot starts over, and
        // the reply is the one a fresh slot gives.
        let scheduler = RequestScheduler(model: model, parallel: 1)
        let fill = GenerationRequest(prompt: Self.long, options: GenerationOptions(sampling: .greedy, maxTokens: 0), contextLength: 2048)
        _ = try await collect(scheduler.submit(fill))
        #expect(await scheduler.cachedTokens == Self.long.count)
        let reused = try await collect(scheduler.submit(GenerationRequest(prompt: early, options: Self.greedy, contextLength: 2048))).stats
        #expect(reused?.cachedPromptTokens == 0)
        let fresh = RequestScheduler(model: model, parallel: 1)
        let expected = try await collect(fresh.submit(GenerationRequest(prompt: early, options: Self.greedy, contextLength: 2048))).stats
        #expect(reused?.tokenIDs.count == 6)
        #expect(reused?.tokenIDs == expected?.tokenIDs)
        #expect(await scheduler.cachedTokens == (await fresh.cachedTokens))
    }

    /// gemma3-270m: 18 layers of 1 KV head x (256 + 256) F32; 3 global layers keep 4096 positions,
    /// the 15 sliding ones (window 512) a ring of 1024: 54 MiB instead of 144 MiB.
    @Test func slidingLayersKeepOnlyTheirRing() async throws {
        guard try RealModels.pathOrSkip("gemma3:270m") != nil else { return }
        let model = try await ModelCache.shared.model("gemma3:270m")
        let bytes = model.model.makeCache(capacity: 4096).byteCount
        #expect(bytes == (3 * 4096 + 15 * 1024) * 512 * 4)
    }

    @Test func rewindWithinTheRingKeepsThePrefix() async throws {
        guard try RealModels.pathOrSkip("gemma3:270m") != nil else { return }
        let model = try await ModelCache.shared.model("gemma3:270m")
        let context = try InferenceContext(model: model, contextLength: 2048)
        _ = try context.evaluate(Self.long, logits: .none)
        let late = Array(Self.long[..<1000]) + Self.tail
        #expect(context.reusePrefix(of: late) == 1000)
        let logits = try context.evaluate(Array(late[1000...]), logits: .last)
        let fresh = try InferenceContext(model: model, contextLength: 2048)
        let expected = try fresh.evaluate(late, logits: .last)
        #expect(maxRelativeDiff(logits, expected) < 1e-3)
        #expect(logits.indices.max { logits[$0] < logits[$1] } == expected.indices.max { expected[$0] < expected[$1] })
    }
}
