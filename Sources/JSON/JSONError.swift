/// Why a text is not accepted as JSON, with the byte offset where parsing stopped, so that each
/// module can wrap it in its own error (a grammar's, a template's, a request's).
public enum JSONError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text is not valid JSON at byte `offset` (0-based, into the UTF-8 text).
    case syntax(message: String, offset: Int)
    /// An object repeats `key` (spelled as in the text, escapes kept) at byte `offset`; raised only
    /// when the parser was asked to reject repeats.
    case duplicateKey(key: String, offset: Int)

    /// What is wrong, without the position.
    public var message: String {
        switch self {
        case let .syntax(message, _): return message
        case let .duplicateKey(key, _): return "duplicate key '\(key)'"
        }
    }

    /// The byte offset where parsing stopped.
    public var offset: Int {
        switch self {
        case let .syntax(_, offset), let .duplicateKey(_, offset): return offset
        }
    }

    public var description: String { "\(message) at byte \(offset)" }
}
