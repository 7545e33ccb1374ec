import GGUF
import Kernels

/// The table of architectures, keyed by `general.architecture`.
public enum ModelRegistry {
    typealias Loader = @Sendable (GGUFFile, ThreadPool) throws(ModelError) -> any LanguageModel

    private static let table: [(name: String, load: Loader)] = [
        (Llama.architecture, { g, p throws(ModelError) in try Llama.load(g, pool: p) }),
        (Qwen2.architecture, { g, p throws(ModelError) in try Qwen2.load(g, pool: p) }),
        (Gemma3.architecture, { g, p throws(ModelError) in try Gemma3.load(g, pool: p) }),
        (Qwen3.architecture, { g, p throws(ModelError) in try Qwen3.load(g, pool: p) }),
        (Qwen3MoE.architecture, { g, p throws(ModelError) in try Qwen3MoE.load(g, pool: p) }),
        (Gemma2.architecture, { g, p throws(ModelError) in try Gemma2.load(g, pool: p) }),
        (Olmo2.architecture, { g, p throws(ModelError) in try Olmo2.load(g, pool: p) }),
        (Granite.architecture, { g, p throws(ModelError) in try Granite.load(g, pool: p) }),
        (Phi3.architecture, { g, p throws(ModelError) in try Phi3.load(g, pool: p) }),
        (Mistral3.architecture, { g, p throws(ModelError) in try Mistral3.load(g, pool: p) }),
        (BertModel.architecture, { g, p throws(ModelError) in try BertModel.load(g, pool: p) }),
    ]

    /// Architecture names SwiftLM can run.
    public static var supportedArchitectures: [String] { table.map(\.name) }

    /// Builds the model for `gguf`'s architecture, binding its weights in place from the mapping.
    /// The model keeps `gguf` (and so the mapping) alive and runs its matmuls on `pool`.
    /// - Throws: ``ModelError`` for an unknown architecture (listing the supported ones), missing or
    ///   inconsistent metadata, missing tensors, wrong shapes or tensor types without kernels.
    public static func load(_ gguf: GGUFFile, pool: ThreadPool) throws(ModelError) -> any LanguageModel {
        guard let arch = gguf.architecture else { throw .missingArchitecture }
        guard let entry = table.first(where: { $0.name == arch }) else {
            throw .unknownArchitecture(arch, supported: supportedArchitectures)
        }
        return try entry.load(gguf, pool)
    }
}
