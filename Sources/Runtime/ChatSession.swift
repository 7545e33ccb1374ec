import Foundation
import Kernels
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
/// the earliest position its cache can rewind to). With ``ContextOverflowPolicy/throw`` the turn fails and
/// the history is unchanged.
///
/// Turns run on a ``RequestScheduler``, like every generation: the conversation stays cached in one of
/// its slots, and its prefix reuse gives each turn the part of the prompt the slot already holds. A
/// session made with ``init(model:contextLength:kvType:system:options:template:overflowPolicy:)`` has a
/// scheduler of its own with one slot, so nothing else evicts its cache; sessions that share one
/// scheduler batch together and keep their caches as long as the scheduler has a slot for each.
///
/// Safe to share between tasks: every mutable property lives behind one lock, and a turn reads a
/// snapshot of them when it starts. One reply is generated at a time (a second concurrent ``send(_:onContextShift:)``
/// fails with ``RuntimeError/busy``).
public final class ChatSession: Sendable {
    /// Where the turns run.
    public let scheduler: RequestScheduler
    /// Positions of KV cache a turn may use: the prompt plus the reply.
    public let capacity: Int
    public let template: ChatTemplate
    /// The model the session talks to.
    public var model: LoadedModel { scheduler.model }

    private struct State {
        var system: String?
        var options: GenerationOptions
        var overflowPolicy: ContextOverflowPolicy
        var messages: [ChatMessage] = []
        var tools: [TemplateValue]?
        var toolChoice: ToolChoice = .auto
        /// Bumped by ``clear()``, so a reply still streaming when the conversation is cleared is not
        /// written back into the new one.
        var epoch = 0
        /// The turn whose reply is being generated, if any, and its scheduler request once submitted.
        var replying: UInt64?
        var request: RequestScheduler.RequestID?
        var turns: UInt64 = 0
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

    /// The tools the model may call, in OpenAI's function shape
    /// (`{"type": "function", "function": {"name", "description", "parameters"}}`), rendered into every
    /// prompt by the chat template. With tools, replies are parsed in ``toolCallFormat`` and their calls
    /// arrive as ``GenerationEvent/toolCall(_:)`` events; answer them with ``send(toolResults:onContextShift:)``.
    /// Nil or empty: no tools. Takes effect at the next turn.
    public var tools: [TemplateValue]? {
        get { state.withLock { $0.tools } }
        set { state.withLock { $0.tools = newValue } }
    }

    /// Whether the next replies may, must, or must not call a tool (default ``ToolChoice/auto``).
    public var toolChoice: ToolChoice {
        get { state.withLock { $0.toolChoice } }
        set { state.withLock { $0.toolChoice = newValue } }
    }

    /// How this session's template writes tool calls; nil when the template does not render tools,
    /// in which case a turn with ``tools`` fails with ``RuntimeError/toolsUnsupported(model:)``.
    public let toolCallFormat: ToolCallFormat?

    /// A session with a one-slot ``RequestScheduler`` of its own (what `swiftlm run` chats with).
    /// - Parameters:
    ///   - contextLength: positions of KV cache; nil means ``RequestScheduler/defaultContextLength``, always
    ///     capped at the model's trained length.
    ///   - kvType: how the cache stores keys and values.
    ///   - template: overrides the model's own chat template.
    ///   - overflowPolicy: what to do when the conversation outgrows the context.
    /// - Throws: ``RuntimeError/noChatTemplate(model:)`` when neither template exists,
    ///   ``RuntimeError/invalidOption(name:value:expected:)`` for a context length below 1,
    ///   ``RuntimeError/embeddingModel(model:architecture:)`` for a model that generates nothing.
    public convenience init(model: LoadedModel, contextLength: Int? = nil, kvType: KVCacheType = .default,
                            system: String? = nil, options: GenerationOptions = GenerationOptions(),
                            template: ChatTemplate? = nil, overflowPolicy: ContextOverflowPolicy = .dropOldest) throws(RuntimeError) {
        try self.init(scheduler: RequestScheduler(model: model, parallel: 1, kvType: kvType), contextLength: contextLength,
                      system: system, options: options, template: template, overflowPolicy: overflowPolicy)
    }

    /// A session whose turns run on `scheduler`, beside whatever else it serves.
    /// - Parameters:
    ///   - contextLength: positions of KV cache per turn; nil means ``RequestScheduler/defaultContextLength``,
    ///     always capped at the model's trained length.
    ///   - template: overrides the model's own chat template.
    ///   - overflowPolicy: what to do when the conversation outgrows the context.
    /// - Throws: ``RuntimeError/noChatTemplate(model:)`` when neither template exists,
    ///   ``RuntimeError/invalidOption(name:value:expected:)`` for a context length below 1,
    ///   ``RuntimeError/embeddingModel(model:architecture:)`` for a model that generates nothing.
    public init(scheduler: RequestScheduler, contextLength: Int? = nil, system: String? = nil,
                options: GenerationOptions = GenerationOptions(), template: ChatTemplate? = nil,
                overflowPolicy: ContextOverflowPolicy = .dropOldest) throws(RuntimeError) {
        if let n = contextLength, n < 1 {
            throw .invalidOption(name: "ctx", value: String(n), expected: "an integer >= 1")
        }
        let model = scheduler.model
        if model.isEmbeddingModel {
            throw .embeddingModel(model: model.name, architecture: model.model.info.architecture)
        }
        guard let t = template ?? model.chatTemplate else {
            if let reason = model.chatTemplateError { throw .template(reason) }
            throw .noChatTemplate(model: model.name)
        }
        self.scheduler = scheduler
        capacity = scheduler.effectiveContextLength(contextLength)
        self.template = t
        toolCallFormat = ToolCallFormat.detect(template: t.source)
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
        let snapshot = state.withLock { $0 }
        return try promptTokens(for: conversation, system: snapshot.system, tools: try turnTools(snapshot))
    }

    /// The text the template gives for `conversation` with this session's system prompt and tools (and
    /// the start of a forced call, when ``toolChoice`` asks for one), before tokenization.
    public func promptText(for conversation: [ChatMessage]) throws(RuntimeError) -> String {
        let snapshot = state.withLock { $0 }
        return try promptText(for: conversation, system: snapshot.system, tools: try turnTools(snapshot))
    }

    /// What a turn renders and parses: the tools (nil when there are none or `toolChoice` is `none`)
    /// and the forced start of the reply.
    struct TurnTools {
        var tools: [TemplateValue]
        var format: ToolCallFormat
        var forcedPrefix: String
        /// The grammar of the rest of a forced call (see ``ToolCallFormat/forcedCallFormat(tools:name:)``).
        var forcedFormat: OutputFormat?
    }

    private func turnTools(_ snapshot: State) throws(RuntimeError) -> TurnTools? {
        guard let tools = snapshot.tools, !tools.isEmpty, snapshot.toolChoice != .none else { return nil }
        guard let format = toolCallFormat else { throw .toolsUnsupported(model: model.name) }
        let forced: String
        switch snapshot.toolChoice {
        case .none, .auto: forced = ""
        case .required: forced = format.forcedCallPrefix(name: nil)
        case let .function(name):
            guard ToolChoice.names(of: tools).contains(name) else {
                throw .invalidOption(name: "tool_choice", value: name, expected: "the name of one of the tools")
            }
            forced = format.forcedCallPrefix(name: name)
        }
        var forcedFormat: OutputFormat?
        switch snapshot.toolChoice {
        case .none, .auto: forcedFormat = nil
        case .required: forcedFormat = try format.forcedCallFormat(tools: tools, name: nil)
        case let .function(name): forcedFormat = try format.forcedCallFormat(tools: tools, name: name)
        }
        return TurnTools(tools: tools, format: format, forcedPrefix: forced, forcedFormat: forcedFormat)
    }

    private func promptText(for conversation: [ChatMessage], system: String?, tools: TurnTools?) throws(RuntimeError) -> String {
        var all: [ChatMessage] = []
        if let system, !system.isEmpty { all.append(ChatMessage(role: "system", content: system)) }
        all += conversation
        let special = model.specialTokenTexts
        do {
            return try template.render(messages: all, addGenerationPrompt: true, bosToken: special.bos, eosToken: special.eos,
                                       tools: tools?.tools) + (tools?.forcedPrefix ?? "")
        } catch {
            throw .template(error)
        }
    }

    private func promptTokens(for conversation: [ChatMessage], system: String?, tools: TurnTools?) throws(RuntimeError) -> [Int32] {
        let text = try promptText(for: conversation, system: system, tools: tools)
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

    /// The prompt for `history + new`, dropping the oldest turns of `history` as `policy` allows.
    /// Returns the prompt, the history it was rendered from, and the shift (nil if nothing was dropped).
    func fit(history: [ChatMessage], new: [ChatMessage], system: String?, tools: TurnTools?, options: GenerationOptions,
             policy: ContextOverflowPolicy) throws(RuntimeError) -> (prompt: [Int32], kept: [ChatMessage], shift: ContextShift?) {
        let full = try promptTokens(for: history + new, system: system, tools: tools)
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
            prompt = try promptTokens(for: Array(kept) + new, system: system, tools: tools)
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
        send([ChatMessage(role: "user", content: text)], onContextShift: onContextShift)
    }

    /// Answers the tool calls of the previous reply and streams the model's next reply, which may use
    /// the results or call more tools.
    ///
    /// ```swift
    /// session.tools = [weatherTool]
    /// var calls: [ChatToolCall] = []
    /// for try await event in session.send("What is the weather in Paris?") {
    ///     if case let .toolCall(call) = event { calls.append(call) }
    /// }
    /// let results = calls.map { ChatMessage.toolResult(for: $0, content: #"{"temperature": 21}"#) }
    /// let answer = try await session.send(toolResults: results).reply().text
    /// ```
    /// - Parameter toolResults: `tool` messages, one per call (see ``Template/ChatMessage/toolResult(for:content:)``).
    public func send(toolResults: [ChatMessage], onContextShift: (ContextShift) -> Void = { _ in })
        -> AsyncThrowingStream<GenerationEvent, Error>
    {
        send(toolResults, onContextShift: onContextShift)
    }

    /// Appends `new` (user or tool messages) to the conversation and streams the reply.
    func send(_ new: [ChatMessage], onContextShift: (ContextShift) -> Void) -> AsyncThrowingStream<GenerationEvent, Error> {
        // Claim the session for this turn: one reply at a time.
        let claimed = state.withLock { s -> (State, UInt64)? in
            guard s.replying == nil else { return nil }
            s.turns += 1
            s.replying = s.turns
            s.request = nil
            return (s, s.turns)
        }
        guard let (snapshot, turnID) = claimed else { return AsyncThrowingStream { $0.finish(throwing: RuntimeError.busy) } }
        /// Frees the session, unless a later turn already holds it.
        let release: @Sendable () -> Void = { [state] in
            state.withLock { s in
                if s.replying == turnID { s.replying = nil; s.request = nil }
            }
        }
        let fitted: (prompt: [Int32], kept: [ChatMessage], shift: ContextShift?)
        let tools: TurnTools?
        let upstream: AsyncThrowingStream<GenerationEvent, Error>
        do {
            tools = try turnTools(snapshot)
            fitted = try fit(history: snapshot.messages, new: new, system: snapshot.system, tools: tools,
                             options: snapshot.options, policy: snapshot.overflowPolicy)
            if let shift = fitted.shift { onContextShift(shift) }
            var options = snapshot.options
            // Call markup that is a control token (Mistral's `[TOOL_CALLS]`) must reach the parser.
            if let tools { options.visibleControlTokens += tools.format.markupTokens }
            // A forced call's name and arguments follow the tools' grammar (it replaces `format`: the reply is a call).
            if let forced = tools?.forcedFormat { options.format = forced }
            let submission = try scheduler.start(GenerationRequest(prompt: fitted.prompt, options: options, contextLength: capacity))
            state.withLock { s in if s.replying == turnID { s.request = submission.id } }
            upstream = submission.events
        } catch {
            release()
            return AsyncThrowingStream { $0.finish(throwing: error) }
        }
        let turn = fitted.kept + new
        var initialParser = tools.map { ToolCallParser(format: $0.format, toolNames: ToolChoice.names(of: $0.tools)) }
        // The forced start of a call is part of the reply as far as the parser is concerned.
        if let prefix = tools?.forcedPrefix, !prefix.isEmpty { _ = initialParser?.feed(prefix) }
        return AsyncThrowingStream { continuation in
            let task = Task { [state, initialParser] in
                var parser = initialParser
                var reply = ""
                var calls: [ChatToolCall] = []
                func deliver(_ events: [ToolCallEvent]) {
                    for event in events {
                        switch event {
                        case let .text(piece):
                            reply += piece
                            continuation.yield(.text(piece))
                        case let .call(call):
                            calls.append(call)
                            continuation.yield(.toolCall(call))
                        }
                    }
                }
                // However the reply ends, the session is free again (before the consumer sees the end,
                // so it may start the next turn at once).
                defer { release() }
                do {
                    for try await event in upstream {
                        switch event {
                        case let .text(piece):
                            if parser != nil { deliver(parser!.feed(piece)) } else { deliver([.text(piece)]) }
                            continue
                        case .done:
                            if parser != nil { deliver(parser!.finish()) }
                            let assistant = ChatMessage(role: "assistant", content: reply, toolCalls: calls.isEmpty ? nil : calls)
                            state.withLock {
                                // A clear() during the reply wins: the turn belongs to the old conversation.
                                if $0.epoch == snapshot.epoch { $0.messages = turn + [assistant] }
                            }
                            release()
                        case .logprobs, .toolCall: break
                        }
                        continuation.yield(event)
                    }
                    continuation.finish()
                } catch {
                    release()
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Stops the reply being generated, after the forward pass in progress: its stream still delivers
    /// the text so far and ends with a ``GenerationEvent/done(_:)`` of reason
    /// ``GenerationStats/DoneReason/cancelled`` (the partial reply joins the history). Does nothing
    /// between turns.
    public func cancel() {
        if let id = state.withLock({ $0.request }) { scheduler.cancel(id) }
    }

    /// True while a reply is being generated.
    public var isReplying: Bool { state.withLock { $0.replying != nil } }
}

/// Whether a reply may call a tool: OpenAI's `tool_choice`.
public enum ToolChoice: Sendable, Equatable {
    /// Tools are not shown to the model, and the reply is plain text.
    case none
    /// The model decides (the default).
    case auto
    /// The reply starts with a call: the start of the format's call markup is written for the model, so
    /// it can only continue with a tool name and arguments. (Without a grammar, the arguments are the
    /// model's own: they are parsed, not constrained.)
    case required
    /// The reply is a call of this function: the markup and the name are written for the model.
    case function(String)

    /// The function names of tools in OpenAI's shape (`function.name`, or a top-level `name`).
    public static func names(of tools: [TemplateValue]) -> Set<String> {
        Set(tools.compactMap { $0["function"]?["name"]?.stringValue ?? $0["name"]?.stringValue })
    }
}

extension ChatMessage {
    /// A `tool` message answering `call` with `content` (the tool's output, usually JSON text).
    public static func toolResult(for call: ChatToolCall, content: String) -> ChatMessage {
        ChatMessage(role: "tool", content: content, toolCallID: call.id, name: call.name)
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
