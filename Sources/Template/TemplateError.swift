/// Everything that can go wrong while parsing or rendering a chat template.
///
/// Line and column are 1-based and point into the template source, so a user can find the
/// offending tag in the model's template (or in the file passed with `--template`).
public enum TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The template text is not valid Jinja2 (unclosed tag, unknown tag, bad expression, unknown filter...).
    case syntax(message: String, line: Int, column: Int)
    /// The template failed while rendering (undefined attribute, type error, unsafe call...).
    case runtime(message: String, line: Int, column: Int)
    /// The template called `raise_exception(message)`; `message` is the template's own text.
    case raised(message: String, line: Int, column: Int)
    /// The model file carries no chat template (for example a base model such as gemma3:270m).
    case missingTemplate(model: String, variant: String?)
    /// A JSON context could not be parsed.
    case invalidJSON(message: String, offset: Int)

    public var description: String {
        switch self {
        case let .syntax(m, l, c): return "template syntax error at line \(l), column \(c): \(m)"
        case let .runtime(m, l, c): return "template error at line \(l), column \(c): \(m)"
        case let .raised(m, l, c): return "the template raised an error at line \(l), column \(c): \(m)"
        case let .missingTemplate(model, variant):
            let what = variant.map { "chat template named '\($0)'" } ?? "chat template"
            return "\(model) has no \(what) (it may be a base model)"
        case let .invalidJSON(m, o): return "invalid JSON at byte \(o): \(m)"
        }
    }
}
