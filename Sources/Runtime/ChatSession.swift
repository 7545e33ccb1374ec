import Foundation
import Template
import Tokenizer

/// What a ``ChatSession`` does when the conversation no longer fits its context.
public enum ContextOverflowPolicy: Sendable, Equatable {
    /// Drop the oldest turns, keeping the system prompt and the most recent turns (Ollama's `num_keep` and
    /// context shift). The session reports each drop through `send(_:onContextShift:)`'s callback.
    case dropOldest
    /// Fail the turn with ``RuntimeError/contextOverflow(needed:capacity:)`` and keep the history as it was.
    case `throw`
}

/// How a turn made room for itself under ``ContextOverflowPolicy/dropOldest``.
public struct ContextShift: Sendable, Equatable {
    /// Messages (user and assistant) dropped from the front of the history for this turn.
    public var droppedMessages: Int
    /// Messages of the history still sent with this turn (the new user message excluded).
    public var keptMessages: Int
    /// Tokens the full conversation would have needed.
    public var tokensBefore: Int
    /// Tokens of the prompt actually sent.
    public var tokensAfter: Int

    public init(droppedMessages: Int, keptMessages: Int, tokensBefore: Int, tokensAfter: Int) {
        self.droppedMessages = droppedMessages
        self.keptMessages = keptMessages
        self.tokensBefore = tokensBefore
        self.tokensAfter = tokensAfter
    }
}

/// A conversation with a model whose history stays in the KV cache.
///
/// Each turn re-renders the whole conversation with the chat template and evaluates only the tokens past
/// the prefix the cache already holds, so earlier turns are never recomputed.
///
/// When the conversation no longer fits the context, ``overflowPolicy`` decides: by default the oldest
/// turns are dropped (whole user/assistant pairs, so the history still starts with a user message) until
/// the prompt takes at most half the context, like Ollama's context shift, so the next several turns fit
/// without another drop. The system prompt is always kept, and the cached prefix it shares with the new
/// prompt is reused (a sliding-window model re-evaluates from the start when the shared prefix ends before
/// ``InferenceContext/earliestReusablePosition``). With ``ContextOverflowPolicy/throw`` the turn fails and
/// the history is unchanged.
///
/// Safe to share between tasks: every mutable property lives behind one lock, and a turn reads a
/// snapshot of them when it starts. One reply is generated at a time (a second concurrent ``send(_:onContextShift:)``
/// fails with ``RuntimeError/busy``).
public final class ChatSession: Sendable {
    public let context: InferenceContext
    public let template: ChatTemplate

    private struct State {
        var system: String?
        var options: GenerationOptions
        var overflowPolicy: ContextOverflowPolicy
        var messages: [ChatMessage] = []
        /// Bumped by ``clear()``, so a reply still streaming when the conversation is cleared is not
        /// written back into the new one.
        var epoch = 0
    }

    private let state: LockedState<State>

    /// The system prompt, sent first in every rendering when non-empty. Takes effect at the next turn.
    public var system: String? {
        get { state.withLock { $0.system } }
        set { state.withLock { $0.system = newValue } }
    }

    /// Options for the following turns.
    public var options: GenerationOptions {
        get { state.withLock { $0.options } }
        set { state.withLock { $0.options = newValue } }
    }

    /// What a turn does when the conversation does not fit the context.
    public var overflowPolicy: ContextOverflowPolicy {
        get { state.withLock { $0.overflowPolicy } }
        set { state.withLock { $0.overflowPolicy = newValue } }
    }

    /// The turns so far (the system prompt excluded), without those dropped to make room.
    public var messages: [ChatMessage] { state.withLock { $0.messages } }

    /// - Parameters:
    ///   - template: overrides the model's own chat template.
    ///   - overflowPolicy: what to do when the conversation outgrows the context.
    /// - Throws: ``RuntimeError/noChatTemplate(model:)`` when neither template exists.
    public init(context: InferenceContext, system: String? = nil, options: GenerationOptions = GenerationOptions(),
                template: ChatTemplate? = nil, overflowPolicy: ContextOverflowPolicy = .dropOldest) throws(RuntimeError) {
        guard let t = template ?? context.model.chatTemplate else {
            if let reason = context.model.chatTemplateError { throw .template(reason) }
            throw .noChatTemplate(model: context.model.name)
        }
        self.context = context
        self.template = t
        state = LockedState(State(system: system, options: options, overflowPolicy: overflowPolicy))
    }

    /// Forgets the conversation (the system prompt stays). The KV cache is left as it is: the next turn
    /// reuses whatever prefix it still shares, which is safe even while a reply is being generated.
    public func clear() {
        state.withLock {
            $0.messages.removeAll()
            $0.epoch += 1
        }
    }

    /// The token ids the template gives for `conversation`, ready for the model: rendered with a
    /// generation prompt, special tokens parsed, BOS added only if the model wants one and the template
    /// did not already write it.
    public func promptTokens(for conversation: [ChatMessage]) throws(RuntimeError) -> [Int32] {
        try promptTokens(for: conversation, system: system)
    }

    private func promptTokens(for conversation: [ChatMessage], system: String?) throws(RuntimeError) -> [Int32] {
        var all: [ChatMessage] = []
        if let system, !system.isEmpty { all.append(ChatMessage(role: "system", content: system)) }
        all += conversation
        let model = context.model
        let special = model.specialTokenTexts
        let text: String
        do {
            text = try template.render(messages: all, addGenerationPrompt: true, bosToken: special.bos, eosToken: special.eos)
        } catch {
            throw .template(error)
        }
        let tokenizer = model.tokenizer
        var ids = tokenizer.encode(text, addSpecial: false, parseSpecial: true)
        if tokenizer.addBOS, let bos = tokenizer.bosID, ids.first != bos { ids.insert(bos, at: 0) }
        return ids
    }

    /// Tokens left free for the reply when turns are dropped: `maxTokens` when set, at most a quarter of
    /// the context. (A reply that still outgrows the context ends with reason `length`.)
    static func replyReserve(capacity: Int, maxTokens: Int) -> Int {
        let quarter = capacity / 4
        return maxTokens >= 0 ? min(maxTokens, quarter) : quarter
    }

    /// The prompt for `history + [user]`, dropping the oldest turns of `history` as `policy` allows.
    /// Returns the prompt, the history it was rendered from, and the shift (nil if nothing was dropped).
    func fit(history: [ChatMessage], user: ChatMessage, system: String?, options: GenerationOptions,
             policy: ContextOverflowPolicy) throws(RuntimeError) -> (prompt: [Int32], kept: [ChatMessage], shift: ContextShift?) {
        let capacity = context.capacity
        let full = try promptTokens(for: history + [user], system: system)
        let reserve = Self.replyReserve(capacity: capacity, maxTokens: options.maxTokens)
        guard policy == .dropOldest, !history.isEmpty, full.count + reserve > capacity else {
            // Room for the whole prompt plus the first generated token, or nothing can be done.
            if full.count >= capacity { throw .contextOverflow(needed: full.count + 1, capacity: capacity) }
            return (full, history, nil)
        }
        // Drop to half the context, not just below the limit, so the following turns fit without another
        // drop (each drop changes the prompt right after the system prompt, so the cache is re-evaluated).
        let target = capacity / 2
        var kept = history[...]
        var prompt = full
        while !kept.isEmpty, prompt.count > target {
            kept = kept.dropFirst()
            // Keep user / assistant alternation: templates such as gemma's reject a history that starts
            // with an assistant message.
            while let first = kept.first, first.role != "user" { kept = kept.dropFirst() }
            prompt = try promptTokens(for: Array(kept) + [user], system: system)
        }
        if prompt.count >= capacity { throw .contextOverflow(needed: prompt.count + 1, capacity: capacity) }
        let shift = ContextShift(droppedMessages: history.count - kept.count, keptMessages: kept.count,
                                 tokensBefore: full.count, tokensAfter: prompt.count)
        return (prompt, Array(kept), shift)
    }

    /// Sends a user message and streams the reply. When the stream ends the reply (even a cancelled,
    /// partial one) is part of the history.
    ///
    /// - Parameter onContextShift: called before this returns, when older turns were dropped to make room
    ///   (``ContextOverflowPolicy/dropOldest`` only).
    public func send(_ text: String, onContextShift: (ContextShift) -> Void = { _ in })
        -> AsyncThrowingStream<GenerationEvent, Error>
    {
        let snapshot = state.withLock { $0 }
        let user = ChatMessage(role: "user", content: text)
        let fitted: (prompt: [Int32], kept: [ChatMessage], shift: ContextShift?)
        do {
            fitted = try fit(history: snapshot.messages, user: user, system: snapshot.system,
                             options: snapshot.options, policy: snapshot.overflowPolicy)
        } catch {
            return AsyncThrowingStream { $0.finish(throwing: error) }
        }
        if let shift = fitted.shift { onContextShift(shift) }
        let upstream = context.generate(prompt: fitted.prompt, options: snapshot.options)
        let turn = fitted.kept + [user]
        return AsyncThrowingStream { continuation in
            let task = Task { [state] in
                var reply = ""
                do {
                    for try await event in upstream {
                        switch event {
                        case let .text(piece): reply += piece
                        case .done:
                            let assistant = ChatMessage(role: "assistant", content: reply)
                            state.withLock {
                                // A clear() during the reply wins: the turn belongs to the old conversation.
                                if $0.epoch == snapshot.epoch { $0.messages = turn + [assistant] }
                            }
                        case .logprobs: break
                        }
                        continuation.yield(event)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// A value that is only reachable while holding its lock, which is what makes a class holding it
/// `Sendable` by construction.
package final class LockedState<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    package init(_ value: Value) { self.value = value }

    package func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
