// The parsed form of a template. Every node keeps the byte offset of its source so runtime errors
// can name a line and column.

enum Literal: Sendable {
    case none, bool(Bool), int(Int), double(Double), string(String)
}

struct Argument: Sendable {
    /// Nil for positional arguments.
    let name: String?
    let value: Expr
}

struct Expr: Sendable {
    let kind: ExprKind
    let offset: Int
}

indirect enum ExprKind: Sendable {
    case literal(Literal)
    case name(String)
    case list([Expr])
    case tuple([Expr])
    case dict([(Expr, Expr)])
    case attribute(Expr, String)
    case item(Expr, Expr)
    case slice(Expr, Expr?, Expr?, Expr?)
    case call(Expr, [Argument])
    case filter(Expr, String, [Argument])
    case test(Expr, String, [Argument], negated: Bool)
    case negate(Expr)
    case plus(Expr)
    case not(Expr)
    case binary(String, Expr, Expr)
    case and(Expr, Expr)
    case or(Expr, Expr)
    case compare(Expr, [(String, Expr)])
    case concat([Expr])
    case conditional(then: Expr, test: Expr, otherwise: Expr?)
}

enum Target: Sendable {
    case name(String)
    case tuple([String])
    /// `ns.attr`, the only attribute assignment jinja2 allows (on namespace objects).
    case attribute(String, String)
}

struct FilterCall: Sendable {
    let name: String
    let arguments: [Argument]
    let offset: Int
}

struct MacroDefinition: Sendable {
    let name: String
    let parameters: [(name: String, defaultValue: Expr?)]
    let body: [Node]
}

struct Node: Sendable {
    let kind: NodeKind
    let offset: Int
}

indirect enum NodeKind: Sendable {
    case text(String)
    case output(Expr)
    case ifBlock([(Expr, [Node])], otherwise: [Node])
    case forLoop(target: Target, iterable: Expr, condition: Expr?, body: [Node], otherwise: [Node], recursive: Bool)
    case set(Target, Expr)
    case setBlock(Target, filters: [FilterCall], body: [Node])
    case macro(MacroDefinition)
    case callBlock(call: Expr, callerParameters: [(name: String, defaultValue: Expr?)], body: [Node])
    case filterBlock([FilterCall], body: [Node])
    /// `{% generation %}` (transformers' AssistantTracker): renders its body unchanged.
    case generation([Node])
    case breakLoop
    case continueLoop
}
