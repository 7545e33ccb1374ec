/// Errors from the Runtime: generation, chat sessions, perplexity and benchmarks.
public enum RuntimeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The model file could not be opened or bound (corrupt file, unknown architecture, unsupported tensors...).
    case loadFailed(model: String, reason: String)
    /// The prompt (or conversation) plus at least one generated token does not fit the context window.
    case contextOverflow(needed: Int, capacity: Int)
    /// An empty prompt: there is nothing to condition the model on.
    case emptyPrompt
    /// A sampling or generation option out of range; `name` is the option as the user spells it.
    case invalidOption(name: String, value: String, expected: String)
    /// The model has no chat template, so chat mode cannot format a conversation.
    case noChatTemplate(model: String)
    /// Rendering the chat template or tokenizing failed.
    case template(String)
    /// The model's forward pass failed.
    case model(String)
    /// The work was cancelled by the caller before it finished.
    case cancelled
    /// A second generation was started on a context that is still generating.
    case busy
    /// Perplexity needs at least two chunks of text.
    case notEnoughText(tokens: Int, needed: Int, context: Int)
    /// A ``RequestScheduler`` queue already holds `limit` waiting requests.
    case queueFull(limit: Int)

    public var description: String {
        switch self {
        case let .loadFailed(model, reason):
            return "cannot load \(model): \(reason)"
        case let .contextOverflow(needed, capacity):
            return "the prompt needs \(needed) tokens but the context holds \(capacity); "
                + "raise --ctx (up to the model's context length), shorten the prompt, or /clear the conversation"
        case .emptyPrompt:
            return "the prompt is empty: give some text (or a BOS-adding model) to start from"
        case let .invalidOption(name, value, expected):
            return "invalid value '\(value)' for \(name): expected \(expected)"
        case let .noChatTemplate(model):
            return "\(model) has no chat template (it is a base model): use --raw for plain completion, "
                + "or --template FILE to supply a Jinja chat template"
        case let .template(message):
            return "chat template: \(message)"
        case let .model(message):
            return "model: \(message)"
        case .cancelled:
            return "cancelled"
        case .busy:
            return "this context is already generating; wait for the current reply to finish or cancel it"
        case let .notEnoughText(tokens, needed, context):
            return "the text has \(tokens) tokens; perplexity with --ctx \(context) needs at least \(needed) "
                + "(two chunks): use a longer file or a smaller --ctx"
        case let .queueFull(limit):
            return "server busy, please try again (\(limit) requests are already waiting)"
        }
    }
}
