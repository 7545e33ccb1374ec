import Foundation
import Runtime
import SwiftLM
import Testing
import TestSupport

/// End-to-end decoding on the real models against llama.cpp's greedy output.
@Suite(.serialized) struct EngineTests {
    static let fixtures = [("smollm2:135m", "engine-smollm2-135m"), ("qwen2.5-coder:0.5b", "engine-qwen2.5-coder-0.5b"),
                           ("gemma3:270m", "engine-gemma3-270m")]

    /// Logit gap below which llama.cpp's own choice is a coin flip of rounding: how far llama.cpp disagrees
    /// with itself (max |logit diff| over the top 20, the same tokens evaluated batched vs token by token,
    /// F32 KV cache), measured with scripts/make-engine-fixtures.py's settings. Both engines quantize
    /// activations to 8 bits, so differences of that size are rounding, not a different computation.
    /// qwen2.5-coder's 0.33 became 0.4 with the interleaved kernels (issue 10): a step with a 0.37 margin
    /// flipped, inside the 0.5 max |logit diff| RealModelTests accepts for that model.
    static let nearTie: [String: Double] = ["smollm2:135m": 0.68, "qwen2.5-coder:0.5b": 0.4, "gemma3:270m": 1.4]

    @Test(arguments: fixtures)
    func greedyContinuationMatchesLlamaCpp(model name: String, fixture: String) async throws {
        guard (try? fixtureURL(fixture, "json")) != nil || RealModels.isCI else { return }
        guard try RealModels.pathOrSkip(name) != nil else { return }
        let model = try await ModelCache.shared.model(name)
        for c in try EngineFixture.load(fixture).cases {
            #expect(model.completionTokens(c.text) == c.prompt_tokens, "tokenization of case \(c.name)")
            // One slot, as `swiftlm run` decodes.
            let scheduler = RequestScheduler(model: model, parallel: 1)
            // The fixture keeps an end-of-generation token if llama.cpp produced one; decode exactly as far.
            let options = GenerationOptions(sampling: .greedy, maxTokens: c.continuation.count, stopAtEndOfGeneration: false)
            let (pieces, stats) = try await collect(scheduler.submit(GenerationRequest(prompt: c.prompt_tokens, options: options,
                                                                                       contextLength: 1024)))
            let ids = try #require(stats?.tokenIDs)
            #expect(stats?.doneReason == .length)
            #expect(ids.count == c.continuation.count)
            // Identical to llama.cpp's, except that once llama.cpp itself chose between two logits closer than
            // float noise (its batched and token-by-token passes disagree there too), the rest may differ.
            if let step = zip(ids, c.continuation).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                let margin = c.referenceMargin(atStep: step) ?? .infinity
                #expect(margin < Self.nearTie[name]!, "case \(c.name) diverges at step \(step) (llama.cpp margin \(margin)): \(ids) vs \(c.continuation)")
            }
            #expect(pieces.joined() == model.tokenizer.decode(stats?.tokenIDs ?? []))
        }
    }

    @Test func seededSamplingIsRepeatableAndIndependentOfBatchSize() async throws {
        guard try RealModels.pathOrSkip("smollm2:135m") != nil else { return }
        let model = try await ModelCache.shared.model("smollm2:135m")
        let prompt = model.completionTokens("Once upon a time, in a small village by the sea,")
        let options = GenerationOptions(sampling: SamplingOptions(temperature: 0.9, seed: 42), maxTokens: 24)
        var runs: [[Int32]] = []
        for batch in [512, 1, 5] {
            let scheduler = RequestScheduler(model: model, parallel: 1)
            let request = GenerationRequest(prompt: prompt, options: options, contextLength: 256, batchSize: batch)
            runs.append(try await collect(scheduler.submit(request)).stats?.tokenIDs ?? [])
        }
        #expect(runs[0].count == 24)
        #expect(runs[1] == runs[0])
        #expect(runs[2] == runs[0])
        var otherOptions = options
        otherOptions.sampling.seed = 7
        let different = try await collect(model.complete("Once upon a time, in a small village by the sea,", options: otherOptions,
                                                         contextLength: 256)).stats?.tokenIDs
        #expect(different != runs[0], "a different seed should give a different sample")
    }

    @Test func streamingIsUTF8SafeOnChinese() async throws {
        // smollm2's vocabulary spells most Chinese characters as 2-3 byte tokens, so pieces must be held back.
        guard try RealModels.pathOrSkip("smollm2:135m") != nil else { return }
        let model = try await ModelCache.shared.model("smollm2:135m")
        let (pieces, stats) = try await collect(model.complete("早上好！今天的天气非常好，我们一起去",
                                                               options: GenerationOptions(sampling: .greedy, maxTokens: 24), contextLength: 256))
        let ids = try #require(stats?.tokenIDs)
        // No piece may split a character. Only the final flush may carry U+FFFD, when the token limit cut
        // the last character short (then the whole decode ends with it too).
        #expect(pieces.dropLast().allSatisfy { !$0.contains("\u{FFFD}") }, "no piece may split a character")
        #expect(!(pieces.last ?? "").contains("\u{FFFD}") || model.tokenizer.decode(ids).hasSuffix("\u{FFFD}"))
        #expect(pieces.joined() == model.tokenizer.decode(ids))
        #expect(pieces.count < ids.count, "byte tokens should have been held back until their character completed")
    }

    @Test func stopConditions() async throws {
        guard try RealModels.pathOrSkip("smollm2:135m") != nil else { return }
        let model = try await ModelCache.shared.model("smollm2:135m")
        let prompt = model.completionTokens("The capital of France is Paris. The capital of Germany is")
        let scheduler = RequestScheduler(model: model, parallel: 1)
        func request(_ options: GenerationOptions, contextLength: Int = 64) -> GenerationRequest {
            GenerationRequest(prompt: prompt, options: options, contextLength: contextLength)
        }

        // num-predict
        let limited = try await collect(scheduler.submit(request(GenerationOptions(sampling: .greedy, maxTokens: 3))))
        #expect(limited.stats?.generatedTokens == 3)
        #expect(limited.stats?.doneReason == .length)

        // stop sequence: the greedy reply is " Berlin. The capital of ..."
        let stopped = try await collect(scheduler.submit(request(GenerationOptions(sampling: .greedy, maxTokens: 16,
                                                                                   stopSequences: [". The"]))))
        #expect(stopped.pieces.joined() == " Berlin")
        #expect(stopped.stats?.doneReason == .stop)
        #expect(stopped.stats?.cachedPromptTokens == prompt.count - 1, "the prompt prefix is reused from the cache")

        // a full context ends with .length, after filling every position
        let full = try await collect(scheduler.submit(request(GenerationOptions(sampling: .greedy), contextLength: prompt.count + 4)))
        #expect(full.stats?.doneReason == .length)
        #expect(full.stats?.generatedTokens == 5)
        #expect(await scheduler.cachedTokens == prompt.count + 4)
        #expect(await scheduler.contextCapacity == prompt.count + 4)
    }

    @Test func chatStopsAtEndOfTurnAndReusesTheCache() async throws {
        guard try RealModels.pathOrSkip("qwen2.5-coder:0.5b") != nil else { return }
        let model = try await ModelCache.shared.model("qwen2.5-coder:0.5b")
        let session = try ChatSession(model: model, contextLength: 1024, options: GenerationOptions(sampling: .greedy, maxTokens: 64))
        let first = try await collect(session.send("Say just the word: hello"))
        #expect(first.stats?.doneReason == .stop, "an instruct model ends its turn")
        #expect(!first.pieces.joined().isEmpty)
        #expect(!first.pieces.joined().contains("<|im_end|>"))
        #expect(session.messages.count == 2)
        let second = try await collect(session.send("Now the word: world"))
        let stats = try #require(second.stats)
        #expect(stats.cachedPromptTokens >= first.stats!.promptTokens, "earlier turns stay in the KV cache")
        #expect(session.messages.count == 4)
    }

    @Test func contextOverflowIsAnError() async throws {
        guard try RealModels.pathOrSkip("smollm2:135m") != nil else { return }
        let model = try await ModelCache.shared.model("smollm2:135m")
        let scheduler = RequestScheduler(model: model, parallel: 1)
        let prompt = model.completionTokens("one two three four five six seven eight nine ten")
        await #expect(throws: RuntimeError.contextOverflow(needed: prompt.count + 1, capacity: 8)) {
            _ = try await collect(scheduler.submit(GenerationRequest(prompt: prompt, contextLength: 8)))
        }
        #expect(await scheduler.cachedTokens == 0, "nothing was evaluated")
        let session = try ChatSession(scheduler: scheduler, contextLength: 8)
        await #expect(throws: RuntimeError.self) { _ = try await collect(session.send("hello there, how are you today?")) }
        #expect(session.messages.isEmpty, "a failed turn leaves the history unchanged")
    }

    @Test func baseModelHasNoChatTemplate() async throws {
        guard try RealModels.pathOrSkip("gemma3:270m") != nil else { return }
        let model = try await ModelCache.shared.model("gemma3:270m")
        #expect(throws: RuntimeError.noChatTemplate(model: "gemma3:270m")) {
            _ = try ChatSession(model: model, contextLength: 64)
        }
    }

    @Test func cancellingStopsDecoding() async throws {
        guard try RealModels.pathOrSkip("smollm2:135m") != nil else { return }
        let model = try await ModelCache.shared.model("smollm2:135m")
        let prompt = model.completionTokens("List the numbers from one to one thousand:")
        let options = GenerationOptions(sampling: .greedy, maxTokens: -1, stopAtEndOfGeneration: false)

        // cancel(_:): the stream still ends with a done event, reason cancelled, and decoding stops after the
        // step in progress. Cancelled from the step observer, on the scheduler's own thread as the third token
        // is sampled, so the count does not depend on how far a busy consumer lags behind the stream (from
        // the consumer's side, 10 tokens could already be buffered when it reads the third).
        let scheduler = RequestScheduler(model: model, parallel: 1)
        let id = LockedState<RequestScheduler.RequestID?>(nil)
        let sampled = LockedState(0)
        var request = GenerationRequest(prompt: prompt, options: options, contextLength: 2048)
        request.stepObserver = StepObserver { _ in
            let n = sampled.withLock { $0 += 1; return $0 }
            if n == 3, let id = id.withLock({ $0 }) { scheduler.cancel(id) }
        }
        let submission = try scheduler.start(request)
        id.withLock { $0 = submission.id }
        var stats: GenerationStats?
        for try await event in submission.events {
            if case let .done(s) = event { stats = s }
        }
        #expect(stats?.doneReason == .cancelled)
        #expect((3 ... 4).contains(stats?.generatedTokens ?? 0), "\(stats?.generatedTokens ?? 0) tokens after a cancel at the third")
        request.stepObserver = nil

        // A consumer that goes away (its task cancelled) stops decoding too; the slot is then free.
        let consumer = Task {
            var n = 0
            for try await _ in try scheduler.submit(request) { n += 1 }
            return n
        }
        try await Task.sleep(for: .milliseconds(300))
        consumer.cancel()
        _ = try? await consumer.value
        var waited = 0
        while await !scheduler.isIdle, waited < 100 {
            try await Task.sleep(for: .milliseconds(50))
            waited += 1
        }
        #expect(await scheduler.isIdle)
        #expect(await scheduler.cachedTokens < 1000, "decoding stopped long before the context filled")
    }
}
