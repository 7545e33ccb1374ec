import JSON

/// Errors from the grammar engine: a GBNF text that does not parse, a JSON Schema that cannot be
/// converted, or a grammar that cannot drive generation.
///
/// Messages name the offending rule, keyword or position so a user can fix the input; nothing
/// unsupported is silently loosened.
public enum GrammarError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The GBNF text is malformed at a line and column.
    case syntax(line: Int, column: Int, message: String)
    /// A rule is referenced but never defined.
    case undefinedRule(String)
    /// The grammar has no `root` rule.
    case missingRoot
    /// A rule can reach itself without consuming input, so it would never make progress.
    case leftRecursion(rule: String)
    /// A GBNF feature SwiftLM does not implement (token references such as `<[1000]>`).
    case unsupportedSyntax(String)
    /// The text is not valid JSON (a schema, or a value inside one).
    case invalidJSON(String)
    /// The schema uses a keyword (or keyword value) the converter cannot enforce; `path` is a JSON
    /// pointer to where it appears.
    case unsupportedSchema(keyword: String, path: String, reason: String)
    /// The schema is self-contradictory or malformed at `path`.
    case invalidSchema(path: String, reason: String)

    public var description: String {
        switch self {
        case let .syntax(line, column, message):
            return "grammar syntax error at line \(line), column \(column): \(message)"
        case let .undefinedRule(name):
            return "grammar references the undefined rule '\(name)'"
        case .missingRoot:
            return "grammar has no 'root' rule (the rule that the whole output must match)"
        case let .leftRecursion(rule):
            return "grammar rule '\(rule)' is left-recursive (it can reach itself before matching any character)"
        case let .unsupportedSyntax(what):
            return "unsupported grammar syntax: \(what)"
        case let .invalidJSON(message):
            return "invalid JSON: \(message)"
        case let .unsupportedSchema(keyword, path, reason):
            return "unsupported JSON Schema keyword '\(keyword)' at \(path.isEmpty ? "#" : "#" + path): \(reason)"
        case let .invalidSchema(path, reason):
            return "invalid JSON Schema at \(path.isEmpty ? "#" : "#" + path): \(reason)"
        }
    }
}

extension GrammarError {
    /// A JSON text that does not parse, its message naming the byte where parsing stopped.
    package init(_ error: JSONError) {
        self = .invalidJSON(error.description)
    }
}
