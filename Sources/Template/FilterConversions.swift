#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import JSON

// The filters with Python-specific details: transformers' tojson, int / float conversion,
// round, indent and title.

extension Interpreter {
    func toJSON(_ v: Value, _ args: CallArguments, offset: Int) throws(TemplateError) -> Value {
        // transformers: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
        let ensureASCII = args.get(0, "ensure_ascii")?.truthy ?? false
        var indent: String?
        switch args.get(1, "indent") {
        case nil, .none?: indent = nil
        case let .string(s)?: indent = s
        case let x?:
            guard let n = intValue(x) else { throw fail("indent must be an int or a string", offset) }
            indent = String(repeating: " ", count: try checkSize(n, offset: offset))
        }
        var itemSep = indent == nil ? ", " : ","
        var keySep = ": "
        if let seps = args.get(2, "separators"), !seps.isNone {
            guard let parts = seps.iterated, parts.count == 2 else { throw fail("separators must be a pair of strings", offset) }
            itemSep = parts[0].pyStr
            keySep = parts[1].pyStr
        }
        guard let json = JSONValue(v, sortKeys: args.get(3, "sort_keys")?.truthy ?? false) else {
            if case let .undefined(hint) = v { throw fail(hint, offset) }
            throw fail("Object of type \(v.typeName) is not JSON serializable", offset)
        }
        var text = json.serialized(.python(indent: indent, itemSeparator: itemSep, keySeparator: keySep))
        if ensureASCII { text = asciiEscaped(text) }
        return .string(text)
    }

    func asciiEscaped(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            // Python escapes everything outside printable ASCII, DEL included.
            if u.value < 0x7F { out.unicodeScalars.append(u); continue }
            func hex(_ v: UInt32) -> String {
                let h = String(v, radix: 16)
                return "\\u" + String(repeating: "0", count: 4 - h.count) + h
            }
            if u.value >= 0x10000 {
                let v = u.value - 0x10000
                out += hex(0xD800 + (v >> 10)) + hex(0xDC00 + (v & 0x3FF))
            } else {
                out += hex(u.value)
            }
        }
        return out
    }

    func toInt(_ v: Value, _ args: CallArguments) -> Value {
        let fallback = args.get(0, "default") ?? .int(0)
        switch v {
        case let .int(i): return .int(i)
        case let .bool(b): return .int(b ? 1 : 0)
        case let .double(d): return truncatedInt(d).map(Value.int) ?? fallback
        case let .string(s):
            let t = PyString.strip(s, nil, leading: true, trailing: true).withoutUnderscores
            if let i = Int(t) { return .int(i) }
            if let d = Double(t), let i = truncatedInt(d) { return .int(i) }
            return fallback
        default: return fallback
        }
    }

    func toFloat(_ v: Value, _ args: CallArguments) -> Value {
        let fallback = args.get(0, "default") ?? .double(0)
        switch v {
        case let .int(i): return .double(Double(i))
        case let .bool(b): return .double(b ? 1 : 0)
        case let .double(d): return .double(d)
        case let .string(s):
            return Double(PyString.strip(s, nil, leading: true, trailing: true)).map(Value.double) ?? fallback
        default: return fallback
        }
    }

    func round(_ v: Value, _ args: CallArguments, offset: Int) throws(TemplateError) -> Value {
        let precision = args.get(0, "precision").flatMap { intValue($0) } ?? 0
        let method = args.get(1, "method")?.pyStr ?? "common"
        guard let d = doubleValue(v) else { throw operandError("type \(v.typeName) doesn't define __round__ method", v, offset) }
        let scale = pow(10, Double(precision))
        switch method {
        case "common":
            // Python's round(): half to even on the scaled value; ints stay ints.
            if case .int = v { return v }
            return .double((d * scale).rounded(.toNearestOrEven) / scale)
        case "floor": return .double((d * scale).rounded(.down) / scale)
        case "ceil": return .double((d * scale).rounded(.up) / scale)
        default: throw fail("method must be common, ceil or floor", offset)
        }
    }

    /// jinja2's groupby: sort by the attribute, then one `(grouper, list)` tuple per run of equal keys;
    /// the grouper keeps the case of the group's first item.
    func groupBy(_ seq: [Value], _ args: CallArguments, offset: Int) throws(TemplateError) -> Value {
        guard let attr = args.get(0, "attribute") else { throw fail("groupby needs an attribute", offset) }
        let fallback = args.get(1, "default")
        let caseSensitive = args.get(2, "case_sensitive")?.truthy ?? false
        func key(_ x: Value) throws(TemplateError) -> Value {
            let k = try attribute(x, attr, offset: offset)
            if k.isUndefined, let fallback { return fallback }
            return k
        }
        func folded(_ k: Value) -> Value {
            if !caseSensitive, case let .string(s) = k { return .string(s.lowercased()) }
            return k
        }
        var sorted = seq
        try sortValues(&sorted, caseSensitive: caseSensitive, reverse: false, offset: offset) { (x) throws(TemplateError) in try key(x) }
        var groups: [Value] = []
        var current: (grouper: Value, folded: Value, items: [Value])?
        for x in sorted {
            let k = try key(x)
            if let c = current, pyEquals(c.folded, folded(k)) {
                current?.items.append(x)
            } else {
                if let c = current { groups.append(.tuple([c.grouper, .array(c.items)])) }
                current = (k, folded(k), [x])
            }
        }
        if let c = current { groups.append(.tuple([c.grouper, .array(c.items)])) }
        return .array(groups)
    }

    /// jinja2's indent: lines after the first get the prefix; blank lines only with blank=True.
    func indent(_ text: String, _ args: CallArguments) -> String {
        let prefix: String
        switch args.get(0, "width") {
        case let .string(s)?: prefix = s
        case let w?: prefix = String(repeating: " ", count: min(max(intValue(w) ?? 4, 0), 1 << 16))
        case nil: prefix = "    "
        }
        let first = args.get(1, "first")?.truthy ?? false
        let blank = args.get(2, "blank")?.truthy ?? false
        var lines = PyString.splitLines(text + "\n")
        var rv: String
        if blank {
            rv = lines.joined(separator: "\n" + prefix)
        } else {
            rv = lines.isEmpty ? "" : lines.removeFirst()
            if !lines.isEmpty { rv += "\n" + lines.map { $0.isEmpty ? $0 : prefix + $0 }.joined(separator: "\n") }
        }
        return first ? prefix + rv : rv
    }

    /// jinja2's `title` filter: capitalises after spaces, dashes and brackets (not Python's str.title).
    func jinjaTitle(_ s: String) -> String {
        var out = ""
        var word = String.UnicodeScalarView()
        func flush() {
            if let f = word.first {
                out += f.properties.uppercaseMapping
                out += String(String.UnicodeScalarView(word.dropFirst())).lowercased()
            }
            word.removeAll()
        }
        for u in s.unicodeScalars {
            if u == "-" || u == "(" || u == "{" || u == "[" || u == "<" || PyString.isSpace(u) {
                flush()
                out.unicodeScalars.append(u)
            } else {
                word.append(u)
            }
        }
        flush()
        return out
    }
}

/// markupsafe's escape.
func htmlEscaped(_ s: String) -> String {
    var out = ""
    for c in s.unicodeScalars {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&#34;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(c)
        }
    }
    return out
}
