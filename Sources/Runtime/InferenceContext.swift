import Foundation
import Kernels
import Models

/// One sequence evaluated directly on a ``LoadedModel``, without sampling: its KV cache and the tokens
/// already evaluated into it. What a caller that needs logits rather than generated text uses
/// (``perplexity(tokens:chunkLength:progress:)`` scores every row, tests compare rows); every
/// generation, the CLI's, the library's and the server's, runs on a ``RequestScheduler`` instead.
///
/// Single owner by construction: the type is not `Sendable`, so a context (and its cache) stays in the
/// isolation domain that made it, and its calls never overlap.
public final class InferenceContext {
    public let model: LoadedModel
    /// Positions the cache holds (the effective `--ctx`).
    public let capacity: Int
    /// Tokens per forward call while evaluating a prompt (llama.cpp's ubatch). Outputs do not depend on it:
    /// prompts run batch-invariant.
    public let batchSize: Int
    /// Tokens whose keys and values are in the cache, in order.
    public private(set) var tokens: [Int32] = []
    let cache: KVCache
    /// How the cache stores keys and values.
    public var kvType: KVCacheType { cache.type }

    /// - Parameters:
    ///   - contextLength: positions to allocate; nil means ``RequestScheduler/defaultContextLength``. Always
    ///     capped at the model's trained context length.
    ///   - batchSize: prompt tokens per forward call.
    ///   - kvType: how the cache stores keys and values (llama.cpp's and Ollama's default, f16, unless given).
    /// - Throws: ``RuntimeError/model(_:)`` for an embedding model (an encoder generates nothing) or a
    ///   `kvType` that cannot store this model's rows.
    public init(model: LoadedModel, contextLength: Int? = nil, batchSize: Int = 512,
                kvType: KVCacheType = .default) throws(RuntimeError) {
        let requested = contextLength ?? RequestScheduler.defaultContextLength
        guard requested >= 1 else {
            throw .invalidOption(name: "ctx", value: String(requested), expected: "an integer >= 1")
        }
        guard batchSize >= 1 else {
            throw .invalidOption(name: "batch-size", value: String(batchSize), expected: "an integer >= 1")
        }
        if model.isEmbeddingModel {
            throw .embeddingModel(model: model.name, architecture: model.model.info.architecture)
        }
        let trained = model.trainedContextLength
        self.model = model
        self.capacity = trained > 0 ? min(requested, trained) : requested
        self.batchSize = batchSize
        cache = try model.makeCache(capacity: capacity, type: kvType)
    }

    /// Forgets every evaluated token.
    public func reset() {
        cache.clear()
        tokens.removeAll()
    }

    /// Keeps only the first `count` evaluated tokens, when the cache can.
    ///
    /// A sliding-window model's cache holds only the last few hundred positions on its windowed layers,
    /// so a rewind below ``earliestReusablePosition`` cannot keep a prefix: the context is then emptied
    /// and the caller re-evaluates from the start. Returns how many tokens were kept.
    @discardableResult
    public func truncate(to count: Int) -> Int {
        let n = cache.truncate(to: max(0, min(count, tokens.count)))
        tokens.removeSubrange(n...)
        return n
    }

    /// The smallest non-zero token count ``truncate(to:)`` can keep (0 when any count can be kept).
    public var earliestReusablePosition: Int { cache.earliestReusablePosition }

    /// Rewinds the cache to the longest prefix it shares with `prompt`, keeping at least one token of
    /// `prompt` unevaluated so its logits can be computed. Returns how many tokens were reused: fewer
    /// than they share (0) when the cache could not rewind that far (see ``truncate(to:)``).
    @discardableResult
    public func reusePrefix(of prompt: [Int32]) -> Int {
        var common = 0
        let limit = min(tokens.count, prompt.count - 1)
        while common < limit, tokens[common] == prompt[common] { common += 1 }
        return truncate(to: common)
    }

    /// Which logits rows ``evaluate(_:logits:kernels:)`` returns.
    public enum LogitRows: Sendable, Equatable {
        case none
        /// The row of the final token.
        case last
        /// One row per token, from batch index `from` on (perplexity).
        case all(from: Int)
    }

    /// Appends `newTokens` to the cache in chunks of ``batchSize`` and returns the requested logits rows,
    /// row-major `[rows x vocabularySize]`.
    /// `kernels` is ``MatmulMode/batchInvariant`` by default, so logits do not depend on ``batchSize``;
    /// ``MatmulMode/fastest`` lets a one-token call take the mat-vec kernels.
    /// - Throws: ``RuntimeError/contextOverflow(needed:capacity:)`` if they do not fit (nothing is evaluated then).
    public func evaluate(_ newTokens: [Int32], logits rows: LogitRows = .last,
                         kernels: MatmulMode = .batchInvariant) throws(RuntimeError) -> [Float] {
        guard tokens.count + newTokens.count <= capacity else {
            throw .contextOverflow(needed: tokens.count + newTokens.count, capacity: capacity)
        }
        let vocab = model.model.info.vocabSize
        var out: [Float] = []
        var start = 0
        while start < newTokens.count {
            let end = min(start + batchSize, newTokens.count)
            let chunk = Array(newTokens[start..<end])
            var wanted: [Int] = []
            switch rows {
            case .none: break
            case .last: if end == newTokens.count { wanted = [chunk.count - 1] }
            case let .all(from): wanted = (max(from, start)..<end).map { $0 - start }
            }
            let base = Int32(tokens.count)
            let positions = (0..<Int32(chunk.count)).map { base + $0 }
            let logits = try model.forward(tokens: chunk, positions: positions, cache: cache, outputRows: wanted, mode: kernels)
            precondition(logits.count == wanted.count * vocab, "the model returns one row per requested output")
            out.append(contentsOf: logits)
            tokens.append(contentsOf: chunk)
            start = end
        }
        return out
    }
}
