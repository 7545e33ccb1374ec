import Kernels

/// What a loaded model is, in the terms a caller needs to size buffers and report to a user.
public struct ModelInfo: Sendable, Equatable {
    /// `general.architecture`, e.g. `llama`, `qwen2`, `gemma3`.
    public var architecture: String
    public var vocabSize: Int
    /// The context length the model was trained for (`<arch>.context_length`).
    public var contextLength: Int
    public var embeddingLength: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int

    public init(architecture: String, vocabSize: Int, contextLength: Int, embeddingLength: Int,
                layerCount: Int, headCount: Int, kvHeadCount: Int) {
        self.architecture = architecture
        self.vocabSize = vocabSize
        self.contextLength = contextLength
        self.embeddingLength = embeddingLength
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
    }
}

/// Rows of several sequences evaluated in one forward pass (llama.cpp's `llama_ubatch`, with the
/// sequences as contiguous runs of rows).
///
/// Every row is one token. A segment is one sequence: a run of consecutive rows appended to its own
/// ``KVCache``. Row `i` of a segment sits at position `cache.count + i` (caches only append, so the
/// position is not an input that could disagree). Matmuls, norms and the FFN run once over all rows;
/// RoPE, storing keys and values, and attention follow each row's own segment. A segment may be a
/// whole prompt chunk (prefill) or one sampled token (decode); a batch mixes both freely.
public struct ForwardBatch {
    /// One sequence's rows in the batch.
    public struct Segment {
        /// The sequence's cache: its rows are appended to it, and attend to what it already holds.
        public var cache: KVCache
        /// Indices into ``ForwardBatch/tokens``.
        public var rows: Range<Int>
        /// Rows, relative to the segment (`0` is `rows.lowerBound`), whose logits (or hidden states)
        /// the caller wants, in the order they are returned.
        public var outputRows: [Int]

        public init(cache: KVCache, rows: Range<Int>, outputRows: [Int]) {
            self.cache = cache
            self.rows = rows
            self.outputRows = outputRows
        }
    }

    public var tokens: [Int32]
    /// In row order: `segments[0].rows` starts at 0, each next one starts where the previous ends, and
    /// the last ends at `tokens.count`. No cache appears twice.
    public var segments: [Segment]

    public init(tokens: [Int32], segments: [Segment]) {
        self.tokens = tokens
        self.segments = segments
    }

    /// An empty batch, filled with ``append(_:to:outputRows:)``.
    public init() {
        tokens = []
        segments = []
    }

    /// Adds `tokens` as a new segment of `cache`.
    public mutating func append(_ newTokens: [Int32], to cache: KVCache, outputRows: [Int]) {
        let start = tokens.count
        tokens.append(contentsOf: newTokens)
        segments.append(Segment(cache: cache, rows: start ..< tokens.count, outputRows: outputRows))
    }

    /// Rows of output the pass returns (the sum of every segment's `outputRows.count`).
    public var outputCount: Int { segments.reduce(0) { $0 + $1.outputRows.count } }
}

/// A decoder-only language model: a forward pass over a batch of tokens, from one or several
/// sequences, each into its own KV cache.
///
/// Sampling, stop conditions and detokenization live outside the model (in Runtime).
/// A model is immutable after loading; all per-sequence state lives in its ``KVCache``, so one
/// model can serve several caches. Forward calls on one model are serialized inside it (they reuse
/// preallocated scratch buffers): batch the sequences into one call rather than calling concurrently.
public protocol LanguageModel: AnyObject, Sendable {
    var info: ModelInfo { get }

    /// A fresh cache for up to `capacity` positions, storing keys and values as `type`.
    /// - Throws: ``ModelError/invalidInput(_:)`` when `type` cannot store this model's rows (q8_0 needs
    ///   head sizes that are multiples of 32).
    func makeCache(capacity: Int, type: KVCacheType) throws(ModelError) -> KVCache

    /// Bytes a cache of `capacity` positions of `type` allocates (sliding-window rings included), or nil
    /// when `type` cannot store this model's rows.
    func cacheBytes(capacity: Int, type: KVCacheType) -> Int?

    /// Runs every segment's tokens, appending their keys and values to the segment's cache.
    ///
    /// A row's result depends only on its token, its position and what its own cache holds: with
    /// ``MatmulMode/batchInvariant`` it is bit-identical whatever else shares the batch and however a
    /// sequence is split across calls. ``MatmulMode/fastest`` lets a one-row batch take the mat-vec kernels.
    /// - Returns: logits, row-major `[batch.outputCount x vocabSize]`: each segment's `outputRows` in order.
    /// - Throws: ``ModelError/contextOverflow(needed:capacity:)`` when a segment does not fit in its cache,
    ///   ``ModelError/invalidInput(_:)`` for token ids outside the vocabulary, segments that do not tile the
    ///   batch, a cache used twice or made by another model, or output rows outside their segment. Nothing is
    ///   evaluated when it throws.
    func forward(_ batch: ForwardBatch, mode: MatmulMode) throws(ModelError) -> [Float]

    /// The same pass as ``forward(_:mode:)``, returning instead of logits the final hidden states after
    /// the output norm (llama.cpp's `result_norm`), row-major `[batch.outputCount x embeddingLength]`:
    /// what embedding pooling reads for a decoder model.
    func hiddenStates(_ batch: ForwardBatch, mode: MatmulMode) throws(ModelError) -> [Float]
}

extension LanguageModel {
    /// A fresh f32 cache for up to `capacity` positions: the exact type, which model-level tests compare
    /// against llama.cpp's f32-cache logits. Generation defaults to ``KVCacheType/default`` (f16) instead.
    public func makeCache(capacity: Int) -> KVCache {
        do { return try makeCache(capacity: capacity, type: .f32) } catch { preconditionFailure("an f32 cache stores any row: \(error)") }
    }

    /// One sequence: runs `tokens[i]` at `positions[i]`, appending their keys and values to `cache`.
    ///
    /// Positions must continue the cache (`cache.count, cache.count + 1, ...`); they are checked, and are
    /// otherwise implied by the cache. `outputRows` are batch indices.
    public func forward(tokens: [Int32], positions: [Int32], cache: KVCache, outputRows: [Int],
                        mode: MatmulMode = .batchInvariant) throws(ModelError) -> [Float] {
        try forward(singleSequence(tokens: tokens, positions: positions, cache: cache, outputRows: outputRows), mode: mode)
    }

    /// ``hiddenStates(_:mode:)`` for one sequence (see ``forward(tokens:positions:cache:outputRows:mode:)``).
    public func hiddenStates(tokens: [Int32], positions: [Int32], cache: KVCache, outputRows: [Int],
                             mode: MatmulMode = .batchInvariant) throws(ModelError) -> [Float] {
        try hiddenStates(singleSequence(tokens: tokens, positions: positions, cache: cache, outputRows: outputRows), mode: mode)
    }

    private func singleSequence(tokens: [Int32], positions: [Int32], cache: KVCache,
                                outputRows: [Int]) throws(ModelError) -> ForwardBatch {
        guard positions.count == tokens.count else {
            throw .invalidInput("\(tokens.count) tokens but \(positions.count) positions")
        }
        for (i, p) in positions.enumerated() where Int(p) != cache.count + i {
            throw .invalidInput("position \(p) at batch index \(i) does not continue the cache (expected \(cache.count + i))")
        }
        return ForwardBatch(tokens: tokens, segments: [.init(cache: cache, rows: 0 ..< tokens.count, outputRows: outputRows)])
    }
}
