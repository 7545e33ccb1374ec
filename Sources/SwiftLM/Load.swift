import Foundation
import Runtime
import Store
import Template

/// The high-level entry points of the library.
///
/// ```swift
/// let model = try await SwiftLM.load("qwen2.5-coder:0.5b")
/// for try await piece in try model.complete("def fib(n):").textPieces { print(piece, terminator: "") }
/// ```
public enum SwiftLM {
    /// Resolves `nameOrPath` through the model store (pulling a catalog model that is not there yet when
    /// `pull` is true) and loads it.
    /// - Parameters:
    ///   - threads: kernel threads; nil uses the physical core count (or SWIFTLM_THREADS).
    ///   - progress: pull progress snapshots, only called when a download happens.
    public static func load(_ nameOrPath: String, threads: Int? = nil, pull: Bool = true, store: ModelStore = ModelStore(),
                            progress: (PullProgress) -> Void = { _ in }) async throws -> LoadedModel {
        let path: String
        do {
            path = try store.resolve(nameOrPath)
        } catch let error {
            guard pull, case .notPulled = error else { throw error }
            path = try await store.pull(nameOrPath, progress: progress).path
        }
        return try LoadedModel(path: path, threads: threads, name: ModelName.isPath(nameOrPath) ? nil : nameOrPath)
    }
}

extension LoadedModel {
    /// Tokenizes `text` for plain completion as llama.cpp does: BOS if the model's metadata asks for it,
    /// special-token text such as `<|im_start|>` parsed into its token.
    public func completionTokens(_ text: String) -> [Int32] {
        tokenizer.encode(text, addSpecial: true, parseSpecial: true)
    }

    /// Streams a raw continuation of `text` (no chat template) in a fresh KV cache.
    ///
    /// With `scheduler`, the completion runs there, batched with whatever else it serves and reusing any
    /// prefix its slots hold; without, on a one-slot ``RequestScheduler`` of its own that lives as long
    /// as the stream.
    /// - Parameter contextLength: nil means 4096, capped at the model's trained length.
    /// - Throws: ``RuntimeError`` for bad options or a `scheduler` of another model, or
    ///   ``RuntimeError/queueFull(limit:)`` from a busy `scheduler`.
    public func complete(_ text: String, options: GenerationOptions = GenerationOptions(), contextLength: Int? = nil,
                         scheduler: RequestScheduler? = nil) throws -> AsyncThrowingStream<GenerationEvent, Error> {
        let scheduler = scheduler ?? RequestScheduler(model: self, parallel: 1)
        guard scheduler.model === self else {
            throw RuntimeError.invalidOption(name: "scheduler", value: scheduler.model.name, expected: "a scheduler of \(name)")
        }
        return try scheduler.submit(GenerationRequest(prompt: completionTokens(text), options: options, contextLength: contextLength))
    }

    /// Starts a conversation using the model's chat template (or `template`), on a one-slot
    /// ``RequestScheduler`` of its own that keeps the conversation cached between turns (see ``ChatSession``
    /// for sessions sharing one scheduler).
    public func chat(system: String? = nil, options: GenerationOptions = GenerationOptions(),
                     contextLength: Int? = nil, template: ChatTemplate? = nil) throws -> ChatSession {
        try ChatSession(model: self, contextLength: contextLength, system: system, options: options, template: template)
    }
}

extension AsyncThrowingStream where Element == GenerationEvent, Failure == Error {
    /// Just the text pieces, for callers who do not need the final statistics.
    public var textPieces: AsyncCompactMapSequence<AsyncThrowingStream<GenerationEvent, Error>, String> {
        compactMap(\.text)
    }

    /// Collects the whole reply and the final statistics (tool calls, if any, are left out: see ``reply()``).
    public func collect() async throws -> (text: String, stats: GenerationStats) {
        let r = try await reply()
        return (r.text, r.stats)
    }

    /// Collects the whole reply: its text, the tool calls parsed from it (a ``ChatSession`` with
    /// tools), and the final statistics.
    public func reply() async throws -> ChatReply {
        var r = ChatReply()
        for try await event in self {
            switch event {
            case let .text(t): r.text += t
            case let .toolCall(call): r.toolCalls.append(call)
            case let .done(s): r.stats = s
            case .logprobs: break
            }
        }
        return r
    }
}

/// A whole reply, as ``AsyncThrowingStream/reply()`` collects it.
public struct ChatReply: Sendable, Equatable {
    /// The text, without any tool-call markup.
    public var text = ""
    /// The calls, in order; answer them with ``ChatSession/send(toolResults:onContextShift:)``.
    public var toolCalls: [ChatToolCall] = []
    public var stats = GenerationStats()

    public init() {}
}
