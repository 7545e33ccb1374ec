import Runtime
import Template
import Testing
import TestSupport

/// ChatSession's context policy on a real model: a conversation that outgrows the context drops its
/// oldest turns (or fails, when asked to) and never dead-ends.
@Suite(.serialized) struct ChatSessionTests {
    static let model = "smollm2:135m"
    static let options = GenerationOptions(sampling: .greedy, maxTokens: 16)

    /// Tokens every prompt of `session` starts with: the rendering of the system prompt (the longest
    /// prefix two different one-message conversations share).
    func systemPrefix(_ session: ChatSession) throws -> Int {
        let a = try session.promptTokens(for: [ChatMessage(role: "user", content: "apple")])
        let b = try session.promptTokens(for: [ChatMessage(role: "user", content: "zebra")])
        return zip(a, b).prefix { $0 == $1 }.count
    }

    @Test func dropOldestKeepsTheSystemPromptAndGoesOn() async throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let model = try await ModelCache.shared.model(Self.model)
        let session = try ChatSession(model: model, contextLength: 160, system: "You are a terse assistant. Answer in one sentence.",
                                      options: Self.options)
        #expect(session.overflowPolicy == .dropOldest, "dropping is the default, as in Ollama")
        let keep = try systemPrefix(session)
        #expect(keep > 10)
        var shifts: [ContextShift] = []
        for turn in 1...12 {
            var shift: ContextShift?
            let before = session.messages
            let result = try await collect(session.send("Name one fruit, number \(turn).") { shift = $0 })
            let stats = try #require(result.stats, "turn \(turn) completed")
            #expect(!result.pieces.joined().isEmpty)
            #expect(stats.promptTokens < session.capacity)
            let messages = session.messages
            #expect(messages.first?.role == "user", "the kept history starts with a user message")
            #expect(messages.last?.role == "assistant")
            #expect(messages.suffix(2).first?.content == "Name one fruit, number \(turn).")
            if let shift {
                shifts.append(shift)
                #expect(shift.droppedMessages >= 2 && shift.droppedMessages % 2 == 0, "whole turns are dropped")
                #expect(shift.keptMessages == before.count - shift.droppedMessages)
                #expect(Array(before.suffix(shift.keptMessages)) == Array(messages.dropLast(2)), "the newest turns are kept")
                #expect(shift.tokensAfter == stats.promptTokens)
                #expect(shift.tokensAfter <= session.capacity / 2 || shift.keptMessages == 0)
                #expect(shift.tokensBefore > shift.tokensAfter)
                // The system prompt is still there, and its evaluation is reused from the cache.
                #expect(stats.cachedPromptTokens >= keep)
            } else {
                #expect(messages.count == before.count + 2)
            }
        }
        #expect(shifts.count >= 2, "twelve turns do not fit in 160 tokens")
    }

    @Test func throwPolicyKeepsTheHistoryAndCanBeSwitched() async throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let model = try await ModelCache.shared.model(Self.model)
        let session = try ChatSession(model: model, contextLength: 128, options: Self.options, overflowPolicy: .throw)
        var failure: RuntimeError?
        var historyBeforeFailure: [ChatMessage] = []
        for turn in 1...12 {
            historyBeforeFailure = session.messages
            var shifted = false
            do {
                _ = try await collect(session.send("Name one fruit, number \(turn).") { _ in shifted = true })
            } catch let error as RuntimeError {
                failure = error
                break
            }
            #expect(!shifted)
        }
        guard case let .contextOverflow(needed, capacity) = try #require(failure) else {
            Issue.record("expected contextOverflow, got \(String(describing: failure))")
            return
        }
        #expect(capacity == 128 && needed > 128)
        #expect(session.messages == historyBeforeFailure, "a failed turn leaves the history unchanged")

        session.overflowPolicy = .dropOldest
        var shift: ContextShift?
        let result = try await collect(session.send("Name one more fruit.") { shift = $0 })
        #expect(result.stats != nil)
        #expect(try #require(shift).droppedMessages >= 2)
    }

    @Test func aMessageThatCannotFitAloneIsAnError() async throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let model = try await ModelCache.shared.model(Self.model)
        let session = try ChatSession(model: model, contextLength: 96, options: Self.options)
        _ = try await collect(session.send("Hi."))
        let history = session.messages
        let long = Array(repeating: "word", count: 120).joined(separator: " ")
        await #expect(throws: RuntimeError.self) { _ = try await collect(session.send(long)) }
        #expect(session.messages == history)
    }

    @Test func clearDuringAReplyStartsAFreshConversation() async throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let model = try await ModelCache.shared.model(Self.model)
        let session = try ChatSession(model: model, contextLength: 512, options: GenerationOptions(sampling: .greedy, maxTokens: 24))
        var cleared = false
        for try await event in session.send("Tell me about the sea.") {
            if !cleared, event.text != nil {
                session.clear()
                cleared = true
            }
        }
        #expect(cleared)
        #expect(session.messages.isEmpty, "the reply of a cleared conversation is not written back")
        let next = try await collect(session.send("Tell me about the sky."))
        #expect(session.messages.count == 2)
        // The cache was not thrown away: the shared system header is reused.
        #expect(try #require(next.stats).cachedPromptTokens >= (try systemPrefix(session)))
    }

    /// One owner at a time: a second turn while a reply streams is refused (not interleaved into the
    /// history), and the settings can be changed from other tasks meanwhile, taking effect at the next turn.
    @Test func concurrentUseIsRefusedOrSnapshotted() async throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let model = try await ModelCache.shared.model(Self.model)
        let session = try ChatSession(model: model, contextLength: 256, options: Self.options)
        let first = session.send("Hello!")
        await #expect(throws: RuntimeError.busy) { _ = try await collect(session.send("Goodbye!")) }
        let writer = Task {
            for i in 0..<200 {
                session.system = "System prompt \(i)"
                session.options = GenerationOptions(sampling: .greedy, maxTokens: 4 + i % 3)
            }
        }
        let reply = try await collect(first)
        await writer.value
        #expect(session.messages.map(\.content) == ["Hello!", reply.pieces.joined()])
        #expect(session.system == "System prompt 199")
        let next = try await collect(session.send("And now?"))
        #expect((next.stats?.generatedTokens ?? 0) <= 5, "the next turn uses the new options")
    }
}
