import Foundation
import GGUF
import Kernels
import Models
import Template
import Tokenizer

/// A model ready to run: weights bound from the memory-mapped GGUF, its tokenizer and (when the file has
/// one) its chat template, plus the thread pool its kernels use.
///
/// Shareable across tasks. Forward passes are serialized by an internal lock, because a model reuses
/// preallocated scratch buffers; each sequence keeps its own KV cache (in a ``RequestScheduler`` slot).
public final class LoadedModel: Sendable {
    /// A display name: the store name the caller used, or the file name.
    public let name: String
    public let gguf: GGUFFile
    public let model: any LanguageModel
    public let tokenizer: Tokenizer
    /// The file's chat template; nil for base models such as gemma3:270m.
    public let chatTemplate: ChatTemplate?
    /// Why ``chatTemplate`` is nil when the file does have a template text that failed to parse.
    public let chatTemplateError: TemplateError?
    public let pool: ThreadPool
    /// Wall time of mapping the file, binding weights and building the tokenizer.
    public let loadDuration: Duration
    /// Serializes ``embed(_:)`` calls, which reuse one cache per call on a decoder model.
    let forwardLock = NSLock()

    /// Loads the GGUF file at `path`.
    /// - Parameters:
    ///   - threads: kernel threads; nil uses SWIFTLM_THREADS, else the physical core count.
    ///   - name: how to refer to the model in messages; defaults to the file name.
    /// - Throws: ``RuntimeError/loadFailed(model:cause:)`` with the failing module's own error, or
    ///   ``RuntimeError/invalidOption(name:value:expected:)`` for a thread count below 1 (given, or in
    ///   SWIFTLM_THREADS).
    public init(path: String, threads: Int? = nil, name: String? = nil) throws(RuntimeError) {
        let start = ContinuousClock.now
        let displayName = name ?? (path as NSString).lastPathComponent
        if let threads, threads < 1 {
            throw .invalidOption(name: "threads", value: String(threads), expected: "an integer >= 1")
        }
        if threads == nil, let text = ThreadPool.environmentThreadText, ThreadPool.parseThreadCount(text) == nil {
            throw .invalidOption(name: ThreadPool.threadsEnvironmentVariable, value: text, expected: "an integer >= 1")
        }
        let threadCount = threads ?? ThreadPool.defaultThreadCount
        do {
            gguf = try GGUFFile(path: path)
        } catch {
            throw .loadFailed(model: displayName, cause: .file(error))
        }
        do {
            tokenizer = try Tokenizer(gguf: gguf)
        } catch {
            throw .loadFailed(model: displayName, cause: .tokenizer(error))
        }
        pool = ThreadPool(threads: threadCount)
        do {
            model = try ModelRegistry.load(gguf, pool: pool)
        } catch {
            throw .loadFailed(model: displayName, cause: .model(error))
        }
        if gguf.string(GGUFKey.chatTemplate) == nil {
            chatTemplate = nil
            chatTemplateError = nil
        } else {
            do {
                chatTemplate = try ChatTemplate.fromModel(gguf)
                chatTemplateError = nil
            } catch {
                chatTemplate = nil
                chatTemplateError = error
            }
        }
        self.name = displayName
        loadDuration = ContinuousClock.now - start
    }

    /// The model's trained context length.
    public var trainedContextLength: Int { model.info.contextLength }

    /// A KV cache of `capacity` positions storing keys and values as `type`.
    /// - Throws: ``RuntimeError/model(_:)`` when `type` cannot store this model's rows (q8_0 needs head
    ///   sizes that are multiples of 32).
    func makeCache(capacity: Int, type: KVCacheType) throws(RuntimeError) -> KVCache {
        do { return try model.makeCache(capacity: capacity, type: type) } catch { throw .model(error) }
    }

    /// Bytes one sequence's KV cache of `capacity` positions takes as `type` (sliding-window rings
    /// included): what `ps` and `show` report per slot. Nil when `type` cannot store this model's rows.
    public func cacheBytes(capacity: Int, type: KVCacheType) -> Int? { model.cacheBytes(capacity: capacity, type: type) }

    /// Throws the error making a cache of `type` would, before any cache is made.
    /// - Throws: ``RuntimeError/model(_:)`` when `type` cannot store this model's rows (q8_0 needs head
    ///   sizes that are multiples of 32).
    public func checkCacheType(_ type: KVCacheType) throws(RuntimeError) {
        if cacheBytes(capacity: 1, type: type) == nil { _ = try makeCache(capacity: 1, type: type) }
    }

    /// Runs one forward pass of one sequence (the model serializes its own forward calls).
    func forward(tokens: [Int32], positions: [Int32], cache: KVCache, outputRows: [Int],
                 mode: MatmulMode) throws(RuntimeError) -> [Float] {
        do {
            return try model.forward(tokens: tokens, positions: positions, cache: cache, outputRows: outputRows, mode: mode)
        } catch {
            throw .model(error)
        }
    }

    /// Runs one forward pass over several sequences (see ``ForwardBatch``).
    func forward(_ batch: ForwardBatch, mode: MatmulMode) throws(RuntimeError) -> [Float] {
        do {
            return try model.forward(batch, mode: mode)
        } catch {
            throw .model(error)
        }
    }

    /// The text of the BOS / EOS tokens, as chat templates expect them in `bos_token` / `eos_token`.
    public var specialTokenTexts: (bos: String, eos: String) {
        (tokenizer.bosID.map { tokenizer.tokenText($0) } ?? "", tokenizer.eosID.map { tokenizer.tokenText($0) } ?? "")
    }
}
