import Foundation
import GGUF
import Models
import Tokenizer

/// Text embeddings: one unit-length vector per input, for retrieval (compare with a dot product).
///
/// An encoder (BERT: `all-minilm:22m`) embeds with its trained pooling (`bert.pooling_type`), all inputs
/// packed into one pass. A decoder model (llama, qwen2, gemma3) pools its final hidden states (after the
/// output norm, llama.cpp's `result_norm`) as its file's `<arch>.pooling_type` says, when a
/// sentence-transformers packaging gave it one; otherwise it gets a fallback: the mean over every token
/// of the input, BOS included, as llama.cpp's `--pooling mean` computes it. Such vectors are usable but
/// not what a dedicated embedding model gives; use an encoder such as `all-minilm:22m` for retrieval.
extension LoadedModel {
    /// The model as an encoder, when it is one (BERT); nil for decoder models.
    public var encoder: (any EmbeddingModel)? { model as? any EmbeddingModel }

    /// True for an encoder-only model, which embeds but cannot generate text.
    public var isEmbeddingModel: Bool { encoder != nil }

    /// How ``embed(_:)`` turns token vectors into one vector per input: the encoder's own pooling; for a
    /// decoder the file's `<arch>.pooling_type` if it has one, else ``EmbeddingPooling/mean`` (the fallback).
    public var embeddingPooling: EmbeddingPooling {
        if let encoder { return encoder.pooling }
        return gguf.int(GGUFKey.poolingType(model.info.architecture)).flatMap(EmbeddingPooling.init(ggufValue:)) ?? .mean
    }

    /// Floats in each vector ``embed(_:)`` returns.
    public var embeddingDimensions: Int { model.info.embeddingLength }

    /// The most tokens of one input ``embed(_:)`` reads: the model's trained context length. Longer
    /// inputs are truncated to it (as sentence-transformers and Ollama's `truncate` do).
    public var embeddingTokenLimit: Int { max(1, model.info.contextLength) }

    /// The tokens ``embed(_:)`` evaluates for `text`: special tokens added as the model asks, then cut to
    /// ``embeddingTokenLimit``, keeping the trailing EOS / `[SEP]` when the tokenizer appends one (as
    /// Hugging Face truncation does). Special tokens written in the text (`[SEP]`, `<|im_end|>`) are parsed
    /// as such, as llama.cpp's embedding tool and Hugging Face tokenizers do.
    public func embeddingTokens(_ text: String) -> [Int32] {
        let tokens = tokenizer.encode(text, addSpecial: true, parseSpecial: true)
        let limit = embeddingTokenLimit
        guard tokens.count > limit else { return tokens }
        let suffix = tokenizer.specialSuffix
        if !suffix.isEmpty, limit > suffix.count {
            return Array(tokens.prefix(limit - suffix.count)) + suffix
        }
        return Array(tokens.prefix(limit))
    }

    /// Embeds each of `texts`, in order: L2-normalised vectors of ``embeddingDimensions`` floats, pooled
    /// as ``embeddingPooling`` says, each input truncated to ``embeddingTokenLimit`` tokens.
    ///
    /// An encoder packs all inputs into batches without padding; a decoder evaluates each input on its
    /// own from an empty cache. Both use the batch-invariant kernels, so a text's vector does not depend
    /// on the other texts in the call. Synchronous and CPU bound; forward passes of other callers on this
    /// model wait until it returns.
    /// - Throws: ``RuntimeError/emptyPrompt`` for an input that tokenizes to nothing (an empty string on
    ///   a model that adds no BOS), ``RuntimeError/model(_:)`` if the forward pass fails.
    public func embed(_ texts: [String]) throws(RuntimeError) -> [[Float]] {
        let inputs = texts.map(embeddingTokens)
        if inputs.contains(where: \.isEmpty) { throw .emptyPrompt }
        guard let longest = inputs.map(\.count).max() else { return [] }
        let width = embeddingDimensions, pooling = embeddingPooling
        forwardLock.lock()
        defer { forwardLock.unlock() }
        if let encoder {
            do {
                return try encoder.embed(inputs)
            } catch {
                throw .model(error)
            }
        }
        let cache = model.makeCache(capacity: longest)
        var vectors: [[Float]] = []
        vectors.reserveCapacity(inputs.count)
        for tokens in inputs {
            cache.clear()
            let n = tokens.count
            let hidden: [Float]
            do {
                hidden = try model.hiddenStates(tokens: tokens, positions: (0 ..< Int32(n)).map { $0 }, cache: cache,
                                                outputRows: Array(0 ..< n), mode: .batchInvariant)
            } catch {
                throw .model(error)
            }
            var v = [Float](repeating: 0, count: width)
            hidden.withUnsafeBufferPointer { h in
                v.withUnsafeMutableBufferPointer { pooling.pool(h.baseAddress!, rows: n, width: width, into: $0.baseAddress!) }
            }
            vectors.append(v)
        }
        return vectors
    }
}
