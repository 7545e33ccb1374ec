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

/// A decoder-only language model: a forward pass over a batch of tokens into a KV cache.
///
/// Sampling, stop conditions and detokenization live outside the model (in Runtime).
/// A model is immutable after loading; all per-sequence state lives in its ``KVCache``, so one
/// model can serve several caches, but a forward call must not run concurrently with another
/// forward call on the same model (it reuses preallocated scratch buffers).
public protocol LanguageModel: AnyObject, Sendable {
    var info: ModelInfo { get }

    /// A fresh cache for up to `capacity` positions.
    func makeCache(capacity: Int) -> KVCache

    /// Runs `tokens[i]` at `positions[i]`, appending their keys and values to `cache`.
    ///
    /// Positions continue the cache: `cache.count, cache.count + 1, ...`.
    /// `mode` picks the matmul kernels: ``MatmulMode/batchInvariant`` (prompts: each token's result is the
    /// same whatever batch it is evaluated in) or ``MatmulMode/fastest`` (generated tokens, one at a time).
    /// - Returns: logits, row-major `[outputRows.count x vocabSize]`, for the batch indices in `outputRows`.
    /// - Throws: ``ModelError/contextOverflow(needed:capacity:)`` when the batch does not fit in the cache,
    ///   ``ModelError/invalidInput(_:)`` for token ids outside the vocabulary, non-continuing positions,
    ///   or output rows outside the batch.
    func forward(tokens: [Int32], positions: [Int32], cache: KVCache, outputRows: [Int], mode: MatmulMode) throws(ModelError) -> [Float]

    /// The same pass as ``forward(tokens:positions:cache:outputRows:mode:)``, returning instead of logits
    /// the final hidden states after the output norm (llama.cpp's `result_norm`), row-major
    /// `[outputRows.count x embeddingLength]`: what embedding pooling reads for a decoder model.
    func hiddenStates(tokens: [Int32], positions: [Int32], cache: KVCache, outputRows: [Int], mode: MatmulMode) throws(ModelError) -> [Float]
}

extension LanguageModel {
    /// A prompt-style forward pass (``MatmulMode/batchInvariant``).
    public func forward(tokens: [Int32], positions: [Int32], cache: KVCache, outputRows: [Int]) throws(ModelError) -> [Float] {
        try forward(tokens: tokens, positions: positions, cache: cache, outputRows: outputRows, mode: .batchInvariant)
    }
}
