import GGUF
import Kernels

/// Everything that can stop `swiftlm create`: a folder that is not a Hugging Face model, an
/// architecture or tokenizer SwiftLM cannot convert, a corrupt safetensors file, a failed write.
/// Messages name the file or value at fault.
public enum ImportError: Error, Equatable, Sendable, CustomStringConvertible {
    case notADirectory(String)
    case missingFile(path: String, hint: String)
    case badJSON(path: String, reason: String)
    case missingConfigValue(path: String, key: String)
    /// `config.json` names an architecture the converter does not know.
    case unsupportedArchitecture(String, supported: [String])
    case unsupportedTokenizer(path: String, reason: String)
    case badSafetensors(path: String, reason: String)
    case unsupportedDType(tensor: String, dtype: String)
    case missingTensor(String)
    case unexpectedTensor(String, architecture: String)
    case shapeMismatch(tensor: String, expected: [Int], actual: [Int])
    case badModelfile(path: String, line: Int, reason: String)
    case gguf(GGUFError)
    case kernels(KernelsError)

    public var description: String {
        switch self {
        case let .notADirectory(path): return "\(path) is not a directory holding a Hugging Face model (config.json and *.safetensors)"
        case let .missingFile(path, hint): return "\(path) is missing: \(hint)"
        case let .badJSON(path, reason): return "\(path) is not valid JSON: \(reason)"
        case let .missingConfigValue(path, key): return "\(path) has no '\(key)', which the conversion needs"
        case let .unsupportedArchitecture(name, supported):
            return "architecture '\(name)' cannot be converted; supported: \(supported.joined(separator: ", "))"
        case let .unsupportedTokenizer(path, reason): return "cannot convert the tokenizer in \(path): \(reason)"
        case let .badSafetensors(path, reason): return "\(path) is not a valid safetensors file: \(reason)"
        case let .unsupportedDType(tensor, dtype):
            return "tensor '\(tensor)' has dtype \(dtype); only F32, F16 and BF16 weights can be converted"
        case let .missingTensor(name): return "the model has no tensor '\(name)', which its architecture needs"
        case let .unexpectedTensor(name, arch): return "tensor '\(name)' has no place in a \(arch) model (a different architecture, or an unsupported variant?)"
        case let .shapeMismatch(tensor, expected, actual):
            return "tensor '\(tensor)' has shape \(actual), but config.json implies \(expected)"
        case let .badModelfile(path, line, reason): return "\(path):\(line): \(reason)"
        case let .gguf(error): return error.description
        case let .kernels(error): return error.description
        }
    }
}
