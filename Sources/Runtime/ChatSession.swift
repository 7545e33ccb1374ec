import Template
import Tokenizer

/// A conversation with a model whose history stays in the KV cache.
///
/// Each turn re-renders the whole conversation with the chat template and evaluates only the tokens past
/// the prefix the cache already holds, so earlier turns are never recomputed. A conversation that no
/// longer fits the context fails with ``RuntimeError/contextOverflow(needed:capacity:)`` and leaves the
/// history as it was (call ``clear()`` to start over); it is never truncated silently.
public final class ChatSession: @unchecked Sendable {
    public let context: InferenceContext
    public let template: ChatTemplate
    /// The system prompt, sent first in every rendering when non-empty.
    public var system: String?
    /// Options for the following turns.
    public var options: GenerationOptions
    /// The turns so far (the system prompt excluded).
    public private(set) var messages: [ChatMessage] = []

    /// - Parameter template: overrides the model's own chat template.
    /// - Throws: ``RuntimeError/noChatTemplate(model:)`` when neither exists.
    public init(context: InferenceContext, system: String? = nil, options: GenerationOptions = GenerationOptions(),
                template: ChatTemplate? = nil) throws(RuntimeError) {
        guard let t = template ?? context.model.chatTemplate else {
            if let reason = context.model.chatTemplateError { throw .template(reason) }
            throw .noChatTemplate(model: context.model.name)
        }
        self.context = context
        self.template = t
        self.system = system
        self.options = options
    }

    /// Forgets the conversation (the system prompt stays).
    public func clear() {
        messages.removeAll()
        context.reset()
    }

    /// The token ids the template gives for `conversation`, ready for the model: rendered with a
    /// generation prompt, special tokens parsed, BOS added only if the model wants one and the template
    /// did not already write it.
    public func promptTokens(for conversation: [ChatMessage]) throws(RuntimeError) -> [Int32] {
        var all: [ChatMessage] = []
        if let system, !system.isEmpty { all.append(ChatMessage(role: "system", content: system)) }
        all += conversation
        let model = context.model
        let special = model.specialTokenTexts
        let text: String
        do {
            text = try template.render(messages: all, addGenerationPrompt: true, bosToken: special.bos, eosToken: special.eos)
        } catch {
            throw .template("\(error)")
        }
        let tokenizer = model.tokenizer
        var ids = tokenizer.encode(text, addSpecial: false, parseSpecial: true)
        if tokenizer.addBOS, let bos = tokenizer.bosID, ids.first != bos { ids.insert(bos, at: 0) }
        return ids
    }

    /// Sends a user message and streams the reply. When the stream ends the reply (even a cancelled,
    /// partial one) is part of the history.
    public func send(_ text: String) -> AsyncThrowingStream<GenerationEvent, Error> {
        let attempt = messages + [ChatMessage(role: "user", content: text)]
        let prompt: [Int32]
        do {
            prompt = try promptTokens(for: attempt)
            if prompt.count >= context.capacity {
                throw RuntimeError.contextOverflow(needed: prompt.count + 1, capacity: context.capacity)
            }
        } catch {
            return AsyncThrowingStream { $0.finish(throwing: error) }
        }
        let upstream = context.generate(prompt: prompt, options: options)
        return AsyncThrowingStream { continuation in
            let task = Task {
                var reply = ""
                do {
                    for try await event in upstream {
                        switch event {
                        case let .text(piece): reply += piece
                        case .done: self.messages = attempt + [ChatMessage(role: "assistant", content: reply)]
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
