import JSON

// The interpreter's values: TemplateValue's data plus what only exists while rendering
// (Undefined, namespaces, macros, loop objects, callables).

/// A Python dict key: equal numbers are one key (`1`, `1.0` and `True`), as in Python.
enum DictKey: Hashable {
    case string(String)
    case int(Int)
    case double(Double)
    case none
    case other(String)

    init(_ v: Value) {
        switch v {
        case let .string(s): self = .string(s)
        case let .int(i): self = .int(i)
        case let .bool(b): self = .int(b ? 1 : 0)
        case let .double(d): self = (d == d.rounded() && abs(d) < 9e18) ? .int(Int(d)) : .double(d)
        case .none: self = .none
        default: self = .other(v.pyRepr)
        }
    }
}

/// Insertion-ordered dictionary, as Python 3.7+ dicts are.
struct Dict {
    /// The keys as first inserted (Python keeps the first key object on update).
    private(set) var keys: [Value] = []
    private var storage: [DictKey: Value] = [:]

    init() {}

    var count: Int { keys.count }
    var values: [Value] { keys.map { storage[DictKey($0)]! } }
    var pairs: [(Value, Value)] { keys.map { ($0, storage[DictKey($0)]!) } }
    /// Keys as text, for keyword arguments and namespaces (always string-keyed).
    var stringPairs: [(String, Value)] { pairs.map { ($0.0.pyStr, $0.1) } }

    subscript(key: String) -> Value? {
        get { storage[.string(key)] }
        set { self[value: .string(key)] = newValue }
    }

    subscript(value key: Value) -> Value? {
        get { storage[DictKey(key)] }
        set {
            let k = DictKey(key)
            if let newValue {
                if storage.updateValue(newValue, forKey: k) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: k) != nil {
                keys.removeAll { DictKey($0) == k }
            }
        }
    }
}

/// `namespace()`: the one mutable object templates may assign attributes on.
final class Namespace {
    var attributes: Dict
    init(_ attributes: Dict) { self.attributes = attributes }
}

/// A `{% macro %}` bound to the scope it was defined in.
final class Macro {
    let definition: MacroDefinition
    let closure: Frame
    /// The `caller()` body of a `{% call %}` block invoking this macro, if any.
    let caller: Macro?
    init(definition: MacroDefinition, closure: Frame, caller: Macro? = nil) {
        self.definition = definition
        self.closure = closure
        self.caller = caller
    }
}

/// The `loop` variable of a for loop.
struct LoopState {
    let items: [Value]
    let index0: Int
    /// Nesting level of a recursive loop (plain nested loops each start at 0, as in jinja2).
    let depth0: Int
    /// Set for `{% for ... recursive %}`, whose body may call `loop(children)`.
    let recursion: ForLoop?
}

/// A for loop as it runs: what `loop(...)` needs to render the body again for a recursive loop.
final class ForLoop {
    let target: Target
    let condition: Expr?
    let body: [Node]
    let otherwise: [Node]
    let frame: Frame
    let recursive: Bool
    let offset: Int

    init(target: Target, condition: Expr?, body: [Node], otherwise: [Node], frame: Frame, recursive: Bool, offset: Int) {
        self.target = target
        self.condition = condition
        self.body = body
        self.otherwise = otherwise
        self.frame = frame
        self.recursive = recursive
        self.offset = offset
    }
}

enum ViewKind: String {
    case keys = "dict_keys", values = "dict_values", items = "dict_items"
}

enum Value {
    /// jinja2's default `Undefined`; `hint` says what was missing, for error messages.
    case undefined(hint: String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([Value])
    /// A Python tuple (from `(a, b)` or `dict.items()`): a sequence that prints with parentheses.
    case tuple([Value])
    case dict(Dict)
    /// A Python generator (what `map`, `select`, `items`... return): iterable once, no length, not JSON.
    case iterator([Value])
    /// `dict.keys()` / `values()` / `items()`: iterable with a length, but not indexable and not JSON.
    case view(ViewKind, [Value])
    case namespace(Namespace)
    case macro(Macro)
    case loop(LoopState)
    /// A global function (`range`, `namespace`, `dict`, `raise_exception`, `strftime_now`...).
    case builtin(String)
    /// A method looked up on a value (`message.content.strip`), called later.
    indirect case method(Value, String)

    init(_ t: TemplateValue) {
        switch t {
        case .null: self = .none
        case let .bool(b): self = .bool(b)
        case let .int(i): self = .int(i)
        case let .double(d): self = .double(d)
        case let .string(s): self = .string(s)
        case let .array(a): self = .array(a.map(Value.init))
        case let .object(o):
            var d = Dict()
            for (k, v) in o { d[k] = Value(v) }
            self = .dict(d)
        }
    }

    var isUndefined: Bool {
        if case .undefined = self { return true }
        return false
    }

    /// Python truthiness.
    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case let .bool(b): return b
        case let .int(i): return i != 0
        case let .double(d): return d != 0
        case let .string(s): return !s.isEmpty
        case let .array(a), let .tuple(a), let .view(_, a): return !a.isEmpty
        case let .dict(d): return d.count > 0
        case .iterator, .namespace, .macro, .loop, .builtin, .method: return true
        }
    }

    /// The sequence a for loop or filter iterates: dicts give their keys, strings their characters.
    var iterated: [Value]? {
        switch self {
        case .undefined: return []
        case let .array(a), let .tuple(a), let .iterator(a), let .view(_, a): return a
        case let .dict(d): return d.keys
        case let .string(s): return s.unicodeScalars.map { .string(String($0)) }
        case let .namespace(n): return n.attributes.keys
        default: return nil
        }
    }

    /// Python's type name, for error messages as jinja2 words them.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .array: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .iterator: return "generator"
        case let .view(kind, _): return kind.rawValue
        case .namespace: return "Namespace"
        case .macro: return "Macro"
        case .loop: return "LoopContext"
        case .builtin, .method: return "function"
        }
    }

    /// Python `str(x)`; Undefined prints as the empty string.
    var pyStr: String {
        switch self {
        case .undefined: return ""
        case let .string(s): return s
        default: return pyRepr
        }
    }

    /// Python `repr(x)`, used when containers are printed (`{{ ['a'] }}` gives `['a']`).
    var pyRepr: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "None"
        case let .bool(b): return b ? "True" : "False"
        case let .int(i): return String(i)
        case let .double(d): return pythonFloatRepr(d)
        case let .string(s): return pyStringRepr(s)
        case let .array(a): return "[" + a.map(\.pyRepr).joined(separator: ", ") + "]"
        case let .tuple(a):
            return a.count == 1 ? "(" + a[0].pyRepr + ",)" : "(" + a.map(\.pyRepr).joined(separator: ", ") + ")"
        case let .dict(d):
            return "{" + d.pairs.map { $0.0.pyRepr + ": " + $0.1.pyRepr }.joined(separator: ", ") + "}"
        case let .namespace(n):
            return "<Namespace {" + n.attributes.pairs.map { $0.0.pyRepr + ": " + $0.1.pyRepr }.joined(separator: ", ") + "}>"
        case .iterator: return "<generator object>"
        case let .view(kind, a): return kind.rawValue + "([" + a.map(\.pyRepr).joined(separator: ", ") + "])"
        case .macro: return "<Macro>"
        case .loop: return "<LoopContext>"
        case let .builtin(name): return "<function \(name)>"
        case let .method(_, name): return "<built-in method \(name)>"
        }
    }
}

/// Python's str repr: single quotes unless the text has a single quote and no double quote.
func pyStringRepr(_ s: String) -> String {
    let quote: Character = (s.contains("'") && !s.contains("\"")) ? "\"" : "'"
    var out = String(quote)
    for u in s.unicodeScalars {
        switch u {
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if Character(u) == quote { out += "\\" + String(quote); continue }
            if isPrintable(u) { out.unicodeScalars.append(u); continue }
            let v = u.value
            let hex = String(v, radix: 16)
            if v < 0x100 { out += "\\x" + String(repeating: "0", count: 2 - hex.count) + hex }
            else if v < 0x10000 { out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex }
            else { out += "\\U" + String(repeating: "0", count: 8 - hex.count) + hex }
        }
    }
    out.append(quote)
    return out
}

/// Python's `str.isprintable` for one code point: everything but Other and Separator categories (space excepted).
func isPrintable(_ u: Unicode.Scalar) -> Bool {
    if u == " " { return true }
    switch u.properties.generalCategory {
    case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
        return false
    default:
        return true
    }
}
