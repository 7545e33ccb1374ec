import GGUF
import Grammar
import Models
import Template
import Tokenizer

/// Errors from the Runtime: generation, chat sessions, perplexity and benchmarks.
///
/// Errors from the lower modules travel typed (``LoadFailure``, `ModelError`, `TemplateError`), so a
/// caller can tell a corrupt file from an unknown architecture without parsing text. Messages say what
/// went wrong in the library's own terms; the command line and the server add their own advice (which
/// flag to raise, which status to answer), since only they know how the user can act.
public enum RuntimeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The model file could not be opened or bound (corrupt file, unknown architecture, unsupported tensors...).
    case loadFailed(model: String, cause: LoadFailure)
    /// The prompt (or conversation) plus at least one generated token does not fit the context window.
    case contextOverflow(needed: Int, capacity: Int)
    /// An empty prompt: there is nothing to condition the model on.
    case emptyPrompt
    /// A sampling or generation option out of range; `name` is the option's parameter name (`num_predict`...).
    case invalidOption(name: String, value: String, expected: String)
    /// The model has no chat template, so a conversation cannot be formatted.
    case noChatTemplate(model: String)
    /// The chat template did not parse, or failed while rendering.
    case template(TemplateError)
    /// Tools were given, but the model's chat template does not show tools to the model (or writes calls
    /// in a syntax SwiftLM cannot parse).
    case toolsUnsupported(model: String)
    /// The model's forward pass failed.
    case model(ModelError)
    /// The work was cancelled by the caller before it finished.
    case cancelled
    /// A second generation was started on a context that is still generating.
    case busy
    /// Perplexity needs at least two chunks of text.
    case notEnoughText(tokens: Int, needed: Int, context: Int)
    /// A ``RequestScheduler`` queue already holds `limit` waiting requests.
    case queueFull(limit: Int)
    /// The model is an encoder (BERT): it embeds text and cannot generate.
    case embeddingModel(model: String, architecture: String)
    /// The requested output format (JSON schema or GBNF grammar) is invalid or uses something unsupported.
    case grammar(GrammarError)

    public var description: String {
        switch self {
        case let .loadFailed(model, cause):
            return "cannot load \(model): \(cause)"
        case let .contextOverflow(needed, capacity):
            return "the prompt needs \(needed) tokens but the context holds \(capacity)"
        case .emptyPrompt:
            return "the prompt is empty: give some text (or a BOS-adding model) to start from"
        case let .invalidOption(name, value, expected):
            return "invalid value '\(value)' for \(name): expected \(expected)"
        case let .noChatTemplate(model):
            return "\(model) has no chat template (it is a base model), so it cannot format a conversation"
        case let .template(error):
            return "chat template: \(error)"
        case let .toolsUnsupported(model):
            return "\(model) does not support tools (its chat template does not render them, or writes calls in a syntax SwiftLM does not parse)"
        case let .model(error):
            return "model: \(error)"
        case .cancelled:
            return "cancelled"
        case .busy:
            return "this context is already generating; wait for the current reply to finish or cancel it"
        case let .notEnoughText(tokens, needed, context):
            return "the text has \(tokens) tokens; perplexity with a context of \(context) tokens needs at least "
                + "\(needed) (two chunks)"
        case let .queueFull(limit):
            return "server busy, please try again (\(limit) requests are already waiting)"
        case let .embeddingModel(model, architecture):
            return "\(model) is an embedding model (\(architecture)): it cannot generate text, only embed it"
        case let .grammar(error):
            return error.description
        }
    }
}

/// Why a model file could not be loaded, as the failing module reported it.
public enum LoadFailure: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not a readable GGUF file (missing, truncated, corrupt, a directory...).
    case file(GGUFError)
    /// The tokenizer metadata is missing or inconsistent.
    case tokenizer(TokenizerError)
    /// The architecture is unknown, or weights are missing, misshapen or of an unsupported type.
    case model(ModelError)

    public var description: String {
        switch self {
        case let .file(error): return error.description
        case let .tokenizer(error): return "tokenizer: \(error)"
        case let .model(error): return error.description
        }
    }
}
