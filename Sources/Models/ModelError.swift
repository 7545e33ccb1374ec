import GGUF

/// Everything that can go wrong loading or running a model, with messages a user can act on.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `general.architecture` names an architecture SwiftLM does not implement.
    case unknownArchitecture(String, supported: [String])
    /// The file has no `general.architecture` key at all.
    case missingArchitecture
    case missingMetadata(key: String)
    case invalidMetadata(key: String, reason: String)
    case missingTensor(String)
    /// Dimensions in GGUF order (`dims[0]` = innermost / input features).
    case wrongShape(tensor: String, expected: [Int], found: [Int])
    case unsupportedTensorType(tensor: String, type: GGMLType)
    /// The file holds a tensor the architecture does not use: running without it would compute something
    /// else than the model (e.g. `rope_freqs.weight` on an architecture that does not apply it).
    case unusedTensor(String)
    /// The batch would need `needed` positions but the cache holds `capacity`.
    case contextOverflow(needed: Int, capacity: Int)
    case invalidInput(String)

    public var description: String {
        switch self {
        case let .unknownArchitecture(arch, supported):
            return "unsupported model architecture '\(arch)'; SwiftLM supports: \(supported.joined(separator: ", "))"
        case .missingArchitecture:
            return "the GGUF file has no '\(GGUFKey.architecture)' key, so its architecture is unknown"
        case let .missingMetadata(key):
            return "the model file lacks the metadata key '\(key)' (incomplete or non-standard conversion?)"
        case let .invalidMetadata(key, reason):
            return "the model file's metadata '\(key)' is invalid: \(reason)"
        case let .missingTensor(name):
            return "the model file lacks the tensor '\(name)' (incomplete or non-standard conversion?)"
        case let .wrongShape(name, expected, found):
            return "tensor '\(name)' has shape \(found), expected \(expected) from the model's metadata"
        case let .unsupportedTensorType(name, type):
            return "tensor '\(name)' is stored as \(type.name), which SwiftLM cannot compute with yet; try a different quantization of this model"
        case let .unusedTensor(name):
            return "the model file has a tensor '\(name)' that SwiftLM does not know how to use for this architecture; running without it would give wrong results"
        case let .contextOverflow(needed, capacity):
            return "context overflow: \(needed) positions needed but the context holds \(capacity); start a new context or raise its size"
        case let .invalidInput(reason):
            return "invalid model input: \(reason)"
        }
    }
}
