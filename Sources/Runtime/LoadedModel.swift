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
/// preallocated scratch buffers; each sequence keeps its own state in an ``InferenceContext``.
public final class LoadedModel: Sendable {
    /// A display name: the store name the caller used, or the file name.
    public let name: String
    public let gguf: GGUFFile
    public let model: any LanguageModel
    public let tokenizer: Tokenizer
    /// The file's chat template; nil for base models such as gemma3:270m.
    public let chatTemplate: ChatTemplate?
    /// Why ``chatTemplate`` is nil when the file does have a template text that failed to parse.
    public let chatTemplateError: String?
    public let pool: ThreadPool
    /// Wall time of mapping the file, binding weights and building the tokenizer.
    public let loadDuration: Duration
    /// Serializes forward passes (the model's scratch buffers); also taken by ``embed(_:)``.
    let forwardLock = NSLock()

    /// Loads the GGUF file at `path`.
    /// - Parameters:
    ///   - threads: kernel threads; nil uses ``ThreadPool/defaultThreadCount`` (physical cores, or SWIFTLM_THREADS).
    ///   - name: how to refer to the model in messages; defaults to the file name.
    public init(path: String, threads: Int? = nil, name: String? = nil) throws(RuntimeError) {
        let start = ContinuousClock.now
        let displayName = name ?? (path as NSString).lastPathComponent
        do {
            gguf = try GGUFFile(path: path)
        } catch {
            throw .loadFailed(model: displayName, reason: error.description)
        }
        do {
            tokenizer = try Tokenizer(gguf: gguf)
        } catch {
            throw .loadFailed(model: displayName, reason: "tokenizer: \(error)")
        }
        if let threads, threads < 1 {
            throw .invalidOption(name: "threads", value: String(threads), expected: "an integer >= 1")
        }
        pool = ThreadPool(threads: threads ?? ThreadPool.defaultThreadCount)
        do {
            model = try ModelRegistry.load(gguf, pool: pool)
        } catch {
            throw .loadFailed(model: displayName, reason: error.description)
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
                chatTemplateError = "\(error)"
            }
        }
        self.name = displayName
        loadDuration = ContinuousClock.now - start
    }

    /// The model's trained context length.
    public var trainedContextLength: Int { model.info.contextLength }

    /// Runs one forward pass with exclusive use of the model's scratch buffers.
    func forward(tokens: [Int32], positions: [Int32], cache: KVCache, outputRows: [Int],
                 mode: MatmulMode) throws(RuntimeError) -> [Float] {
        forwardLock.lock()
        defer { forwardLock.unlock() }
        do {
            return try model.forward(tokens: tokens, positions: positions, cache: cache, outputRows: outputRows, mode: mode)
        } catch {
            throw .model(error.description)
        }
    }

    /// The text of the BOS / EOS tokens, as chat templates expect them in `bos_token` / `eos_token`.
    public var specialTokenTexts: (bos: String, eos: String) {
        (tokenizer.bosID.map { tokenizer.tokenText($0) } ?? "", tokenizer.eosID.map { tokenizer.tokenText($0) } ?? "")
    }
}
