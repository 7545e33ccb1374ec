import Foundation
import Runtime
import Testing
import TestSupport

/// The continuous-batching scheduler on real models: a request's output does not depend on what runs
/// beside it or how its prompt is chunked, slots are freed, queues are bounded and prefixes are reused.
@Suite(.serialized) struct BatchSchedulerTests {
    static let smol = "smollm2:135m"

    /// A random request: prompt of random ordinary tokens, seeded sampling, a few tokens to generate.
    static func randomRequest(seed: UInt64, vocab: Int,
                              promptLength: ClosedRange<Int> = 1 ... 60, maxTokens: ClosedRange<Int> = 1 ... 16,
                              batchSize: Int? = nil) -> GenerationRequest {
        var state = seed
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        let n = promptLength.lowerBound + Int(next() % UInt64(promptLength.count))
        let prompt = (0 ..< n).map { _ in Int32(300 + Int(next() % UInt64(min(vocab, 30000) - 300))) }
        let tokens = maxTokens.lowerBound + Int(next() % UInt64(maxTokens.count))
        let options = GenerationOptions(sampling: SamplingOptions(temperature: 0.9, seed: seed), maxTokens: tokens)
        return GenerationRequest(prompt: prompt, options: options, contextLength: 256, batchSize: batchSize)
    }

    /// Runs each request alone, one after another, on a fresh scheduler with several slots (nothing else
    /// in any batch; one slot would decode with the mat-vec kernels instead).
    static func solo(_ model: LoadedModel, _ requests: [GenerationRequest]) async throws -> [GenerationStats] {
        let scheduler = RequestScheduler(model: model, parallel: 2)
        var out: [GenerationStats] = []
        for r in requests {
            var alone = r
            alone.batchSize = nil
            out.append(try #require(try await collect(scheduler.submit(alone)).stats))
        }
        return out
    }

    /// Submits every request at once and waits for all of them.
    static func together(_ scheduler: RequestScheduler, _ requests: [GenerationRequest]) async throws -> [GenerationStats] {
        var streams: [AsyncThrowingStream<GenerationEvent, Error>] = []
        for r in requests { streams.append(try scheduler.submit(r)) }
        return try await withThrowingTaskGroup(of: (Int, GenerationStats?).self) { group in
            for (i, s) in streams.enumerated() { group.addTask { (i, try await collect(s).stats) } }
            var out = [GenerationStats?](repeating: nil, count: requests.count)
            for try await (i, stats) in group { out[i] = stats }
            return try out.map { try #require($0) }
        }
    }

    @Test func seededOutputIsTheSameAloneAndBesideSevenOthers() async throws {
        guard try RealModels.pathOrSkip(Self.smol) != nil else { return }
        let model = try await ModelCache.shared.model(Self.smol)
        let vocab = model.model.info.vocabSize
        let mine = Self.randomRequest(seed: 7, vocab: vocab, promptLength: 40 ... 40, maxTokens: 24 ... 24)
        let alone = try await Self.solo(model, [mine])[0]
        #expect(alone.generatedTokens > 0)
        // Beside 7 random requests, with this prompt evaluated in chunks of 7 tokens.
        var chunked = mine
        chunked.batchSize = 7
        let others = (0 ..< 7).map { _ in Self.randomRequest(seed: UInt64.random(in: 1 ... 1 << 40), vocab: vocab, batchSize: 5) }
        let scheduler = RequestScheduler(model: model, parallel: 8)
        let results = try await Self.together(scheduler, [others[0], others[1], chunked] + others[2...])
        #expect(results[2].tokenIDs == alone.tokenIDs)
        #expect(await scheduler.isIdle)
    }

    /// 32 random requests through 4 slots, three rounds: all complete, each equal to its solo result.
    /// That the server does not grow from round to round is checked in a process of its own, where
    /// nothing else allocates (Tests/Compat, test_four_slots_serve_many_rounds_without_growing).
    @Test func stressThirtyTwoRequestsThroughFourSlots() async throws {
        guard try RealModels.pathOrSkip(Self.smol) != nil else { return }
        let model = try await ModelCache.shared.model(Self.smol)
        let vocab = model.model.info.vocabSize
        let requests = (0 ..< 32).map { i in
            Self.randomRequest(seed: UInt64(1000 + i), vocab: vocab, batchSize: [nil, 3, 16][i % 3])
        }
        let expected = try await Self.solo(model, requests)
        #expect(expected.reduce(0) { $0 + $1.generatedTokens } > 2 * requests.count, "the requests must actually decode")
        let scheduler = RequestScheduler(model: model, maxQueue: 32, parallel: 4)
        for round in 0 ..< 3 {
            let results = try await Self.together(scheduler, requests)
            for i in requests.indices {
                #expect(results[i].tokenIDs == expected[i].tokenIDs, "round \(round), request \(i)")
                #expect(results[i].doneReason == expected[i].doneReason)
            }
            #expect(await scheduler.isIdle)
        }
    }

    @Test func cancellationFreesTheSlotAndTheQueueIsBounded() async throws {
        guard try RealModels.pathOrSkip(Self.smol) != nil else { return }
        let model = try await ModelCache.shared.model(Self.smol)
        let scheduler = RequestScheduler(model: model, maxQueue: 1, parallel: 2)
        let prompt = model.tokenizer.encode("Count from one to one thousand: one, two,", addSpecial: true, parseSpecial: true)
        let endless = GenerationOptions(sampling: .greedy, maxTokens: -1, stopAtEndOfGeneration: false)
        let a = try scheduler.submit(GenerationRequest(prompt: prompt, options: endless, contextLength: 2048))
        let b = try scheduler.submit(GenerationRequest(prompt: prompt, options: endless, contextLength: 2048))
        let short = GenerationRequest(prompt: prompt, options: GenerationOptions(sampling: .greedy, maxTokens: 2), contextLength: 2048)
        let waiting = try scheduler.submit(short)
        // Two slots busy and one request waiting: the next one is refused.
        #expect(throws: RuntimeError.queueFull(limit: 1)) { _ = try scheduler.submit(short) }
        let consumerA = Task { for try await _ in a {} }
        let consumerB = Task { for try await _ in b {} }
        try await Task.sleep(for: .milliseconds(200))
        #expect(await scheduler.runningCount == 2)
        #expect(await scheduler.queuedCount == 1)
        // Dropping one consumer frees its slot: the waiting request runs beside the other endless one.
        consumerA.cancel()
        _ = try? await consumerA.value
        let stats = try #require(try await collect(waiting).stats)
        #expect(stats.generatedTokens == 2)
        #expect(await scheduler.runningCount == 1)
        consumerB.cancel()
        _ = try? await consumerB.value
        for _ in 0 ..< 100 where !(await scheduler.isIdle) { try await Task.sleep(for: .milliseconds(20)) }
        #expect(await scheduler.isIdle)
    }

    /// A second turn reuses its slot's cache; a request sharing a running one's prefix copies it from
    /// that slot; both give what they give alone. Runs on gemma3 too, whose sliding-window rings limit
    /// what can be kept.
    @Test(arguments: ["smollm2:135m", "gemma3:270m"])
    func prefixIsReusedAndCopied(name: String) async throws {
        guard try RealModels.pathOrSkip(name) != nil else { return }
        let model = try await ModelCache.shared.model(name)
        let vocab = model.model.info.vocabSize
        // Longer than gemma3's ring (512-position window + 512 slots), so its rings have wrapped.
        let system = Self.randomRequest(seed: 99, vocab: vocab, promptLength: 1100 ... 1100).prompt
        func request(_ suffix: [Int32], seed: UInt64, maxTokens: Int) -> GenerationRequest {
            GenerationRequest(prompt: system + suffix, options: GenerationOptions(sampling: SamplingOptions(seed: seed), maxTokens: maxTokens),
                              contextLength: 2048)
        }
        let first = request([400, 401, 402], seed: 1, maxTokens: 4)
        let second = request([500, 501], seed: 2, maxTokens: 4)
        let expected = try await Self.solo(model, [first, second])

        let scheduler = RequestScheduler(model: model, parallel: 2)
        let one = try #require(try await collect(scheduler.submit(first)).stats)
        #expect(one.tokenIDs == expected[0].tokenIDs)
        #expect(one.cachedPromptTokens == 0)
        // Same slot, next turn: the shared 1100 tokens are not evaluated again.
        let two = try #require(try await collect(scheduler.submit(second)).stats)
        #expect(two.tokenIDs == expected[1].tokenIDs)
        #expect(two.cachedPromptTokens == system.count)

        // While an endless request holds the slot with the prefix, a new one lands in the other slot
        // and copies the prefix from it.
        let endless = GenerationRequest(prompt: system + [600], options: GenerationOptions(sampling: .greedy, maxTokens: -1),
                                        contextLength: 2048)
        let busy = try scheduler.submit(endless)
        let consumer = Task { for try await _ in busy {} }
        try await Task.sleep(for: .milliseconds(200))
        let three = try #require(try await collect(scheduler.submit(first)).stats)
        #expect(three.tokenIDs == expected[0].tokenIDs)
        #expect(three.cachedPromptTokens >= system.count)
        consumer.cancel()
        _ = try? await consumer.value
    }

    /// A request's step observer (what `swiftlm explain` reads) sees each sampled token with the row of
    /// logits it came from and the sampler before the choice, and does not change the generation.
    @Test func stepObserverSeesEverySampledToken() async throws {
        guard try RealModels.pathOrSkip(Self.smol) != nil else { return }
        let model = try await ModelCache.shared.model(Self.smol)
        let scheduler = RequestScheduler(model: model, parallel: 1)
        let plain = GenerationRequest(prompt: model.completionTokens("The capital of France is"),
                                      options: GenerationOptions(sampling: .greedy, maxTokens: 8, stopAtEndOfGeneration: false))
        let expected = try #require(try await collect(scheduler.submit(plain)).stats)
        let (observed, sink) = AsyncStream.makeStream(of: ObservedStep.self)
        var watched = plain
        watched.stepObserver = StepObserver { sink.yield($0) }
        let stats = try #require(try await collect(scheduler.submit(watched)).stats)
        sink.finish()
        var steps: [ObservedStep] = []
        for await s in observed { steps.append(s) }
        #expect(stats.tokenIDs == expected.tokenIDs)
        #expect(steps.map(\.token) == expected.tokenIDs)
        for s in steps {
            #expect(s.logits.count == model.model.info.vocabSize)
            #expect(Sampler.topLogProbs(s.logits, k: 1).first?.id == s.token, "greedy picks the most likely token")
            var sampler = s.sampler
            #expect(sampler.sample(s.logits) == s.token, "the sampler handed over is the one that chose")
        }
    }
}
