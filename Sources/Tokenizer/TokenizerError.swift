/// Everything that can stop a tokenizer from being built from a GGUF file. Encoding and decoding
/// never fail: any byte sequence has a tokenization and any id sequence a rendering.
public enum TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A required metadata key is absent.
    case missingKey(String)
    /// A metadata key holds the wrong type or shape.
    case badValue(key: String, reason: String)
    /// `tokenizer.ggml.model` names a tokenizer SwiftLM does not implement.
    case unsupportedModel(String, supported: [String])
    /// `tokenizer.ggml.pre` names a pre-tokenizer SwiftLM does not implement.
    case unknownPreTokenizer(String, known: [String])
    /// The vocabulary lacks a token the tokenizer cannot work without (e.g. a byte token).
    case missingToken(String)

    public var description: String {
        switch self {
        case let .missingKey(k):
            return "GGUF metadata key '\(k)' is missing: the file has no usable tokenizer (re-convert the model with a current llama.cpp convert script)"
        case let .badValue(k, reason): return "GGUF metadata key '\(k)' is invalid: \(reason)"
        case let .unsupportedModel(m, supported):
            return "tokenizer model '\(m)' is not supported (supported: \(supported.joined(separator: ", ")))"
        case let .unknownPreTokenizer(p, known):
            return "unknown pre-tokenizer '\(p)' (tokenizer.ggml.pre); known: \(known.joined(separator: ", "))"
        case let .missingToken(t): return "the vocabulary has no token for \(t), which this tokenizer needs"
        }
    }
}
