/// How ``JSONValue/serialized(_:)`` writes a value: layout, number spelling and string escapes.
///
/// Two presets cover SwiftLM's callers: ``compact`` (HTTP responses, NDJSON and SSE lines, GBNF
/// literals) and ``python(indent:itemSeparator:keySeparator:)``, Python's `json.dumps` as jinja2's
/// and transformers' `tojson` filter calls it.
public struct JSONFormat: Sendable {
    /// How floating-point numbers are spelled.
    public enum Doubles: Sendable {
        /// Valid JSON for any reader: non-finite values as `null`, whole values below 10^15 without a
        /// fraction (`512.0` as `512`), others in Swift's shortest round-trip form.
        case compact
        /// Python's `repr(float)` (`1.0`, `1e-05`, `1e+16`), and `NaN` / `Infinity` / `-Infinity`
        /// as `json.dumps` writes them.
        case python
    }

    /// One level of indentation; nil writes everything on one line.
    public var indent: String?
    /// Written between array items and between object members (before the newline when indenting).
    public var itemSeparator: String
    /// Written between a key and its value.
    public var keySeparator: String
    /// How numbers without a literal (built in code) are written.
    public var doubles: Doubles
    /// Write parsed numbers exactly as they were written (their ``JSONNumber/literal``).
    public var keepsNumberLiterals: Bool
    /// Escape backspace and form feed as `\b` and `\f` (as Python does) rather than `\u0008` and `\u000c`.
    public var shortControlEscapes: Bool

    /// A format; the defaults are ``compact``'s.
    public init(indent: String? = nil, itemSeparator: String = ",", keySeparator: String = ":", doubles: Doubles = .compact,
                keepsNumberLiterals: Bool = true, shortControlEscapes: Bool = false) {
        self.indent = indent
        self.itemSeparator = itemSeparator
        self.keySeparator = keySeparator
        self.doubles = doubles
        self.keepsNumberLiterals = keepsNumberLiterals
        self.shortControlEscapes = shortControlEscapes
    }

    /// One line, no spaces, parsed numbers as written: what NDJSON / SSE need and what a generator prints.
    public static let compact = JSONFormat()

    /// `json.dumps(x, ensure_ascii=False, indent=indent, separators=(itemSeparator, keySeparator))`.
    /// (`ensure_ascii=True` escapes the finished text; see the Template module's `tojson`.)
    public static func python(indent: String? = nil, itemSeparator: String? = nil, keySeparator: String = ": ") -> JSONFormat {
        // json.dumps's default item separator drops its space when indenting (the newline follows).
        JSONFormat(indent: indent, itemSeparator: itemSeparator ?? (indent == nil ? ", " : ","), keySeparator: keySeparator,
                   doubles: .python, keepsNumberLiterals: false, shortControlEscapes: true)
    }
}

extension JSONValue {
    /// Compact JSON on one line (``JSONFormat/compact``).
    public var serialized: String { serialized(.compact) }

    /// The value as JSON text in `format`.
    public func serialized(_ format: JSONFormat) -> String {
        var out = ""
        write(into: &out, level: 0, format)
        return out
    }

    private func write(into out: inout String, level: Int, _ format: JSONFormat) {
        switch self {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .number(n): Self.write(n, into: &out, format)
        case let .string(s): Self.quote(s, into: &out, format)
        case let .array(items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            let (open, separator, close) = Self.separators(level: level, format)
            out += open
            for (n, item) in items.enumerated() {
                if n > 0 { out += separator }
                item.write(into: &out, level: level + 1, format)
            }
            out += close + "]"
        case let .object(pairs):
            if pairs.isEmpty { out += "{}"; return }
            out += "{"
            let (open, separator, close) = Self.separators(level: level, format)
            out += open
            for (n, (key, value)) in pairs.enumerated() {
                if n > 0 { out += separator }
                Self.quote(key, into: &out, format)
                out += format.keySeparator
                value.write(into: &out, level: level + 1, format)
            }
            out += close + "}"
        }
    }

    private static func separators(level: Int, _ format: JSONFormat) -> (String, String, String) {
        guard let indent = format.indent else { return ("", format.itemSeparator, "") }
        let inner = "\n" + String(repeating: indent, count: level + 1)
        return (inner, format.itemSeparator + inner, "\n" + String(repeating: indent, count: level))
    }

    private static func write(_ n: JSONNumber, into out: inout String, _ format: JSONFormat) {
        if format.keepsNumberLiterals, let literal = n.literal { out += literal; return }
        switch n.value {
        case let .int(i): out += String(i)
        case let .double(d):
            switch format.doubles {
            case .compact:
                if !d.isFinite {
                    out += "null"
                } else if d == d.rounded(), abs(d) < 1e15 {
                    out += String(Int(d))
                } else {
                    out += String(d)
                }
            case .python:
                if d.isNaN { out += "NaN" } else if d.isInfinite { out += d < 0 ? "-Infinity" : "Infinity" } else { out += pythonFloatRepr(d) }
            }
        }
    }

    /// `s` as a JSON string literal: quotes, backslashes and control characters escaped, everything
    /// else (non-ASCII included) as is.
    public static func quote(_ s: String, _ format: JSONFormat = .compact) -> String {
        var out = ""
        quote(s, into: &out, format)
        return out
    }

    private static func quote(_ s: String, into out: inout String, _ format: JSONFormat) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}" where format.shortControlEscapes: out += "\\b"
            case "\u{0C}" where format.shortControlEscapes: out += "\\f"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}
