// JSON in and out. Parsing keeps object key order; writing follows Python's json.dumps, because
// transformers' `tojson` filter is json.dumps(x, ensure_ascii=False, ...).

struct JSONParser {
    let b: [UInt8]
    var i = 0
    var depth = 0

    init(_ bytes: [UInt8]) { b = bytes }

    mutating func parseDocument() throws(TemplateError) -> TemplateValue {
        // A UTF-8 byte order mark is harmless; skip it.
        if b.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        let v = try parseValue()
        skipSpace()
        guard i == b.count else { throw fail("unexpected text after the JSON value") }
        return v
    }

    private func fail(_ m: String) -> TemplateError { .invalidJSON(message: m, offset: i) }

    private mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    private mutating func literal(_ word: String, _ v: TemplateValue) throws(TemplateError) -> TemplateValue {
        let w = Array(word.utf8)
        guard b.count - i >= w.count, Array(b[i ..< i + w.count]) == w else { throw fail("expected '\(word)'") }
        i += w.count
        return v
    }

    private mutating func parseValue() throws(TemplateError) -> TemplateValue {
        skipSpace()
        guard i < b.count else { throw fail("unexpected end of input") }
        switch b[i] {
        case UInt8(ascii: "{"):
            depth += 1
            guard depth < 512 else { throw fail("nesting too deep") }
            defer { depth -= 1 }
            i += 1
            var o = TemplateObject()
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
            while true {
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let k = try parseString()
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                o[k] = try parseValue()
                skipSpace()
                guard i < b.count else { throw fail("unterminated object") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            depth += 1
            guard depth < 512 else { throw fail("nesting too deep") }
            defer { depth -= 1 }
            i += 1
            var a: [TemplateValue] = []
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
            while true {
                a.append(try parseValue())
                skipSpace()
                guard i < b.count else { throw fail("unterminated array") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        default: return try parseNumber()
        }
    }

    private mutating func parseNumber() throws(TemplateError) -> TemplateValue {
        let start = i
        var isFloat = false
        if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
        while i < b.count {
            let c = b[i]
            if c >= 0x30, c <= 0x39 { i += 1 }
            else if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E")
                || ((c == UInt8(ascii: "+") || c == UInt8(ascii: "-")) && isFloat) { isFloat = true; i += 1 }
            else { break }
        }
        let text = String(decoding: b[start ..< i], as: UTF8.self)
        if !isFloat, let n = Int(text) { return .int(n) }
        guard !text.isEmpty, let d = Double(text) else { i = start; throw fail("expected a value") }
        return .double(d)
    }

    private mutating func hex4() throws(TemplateError) -> UInt32 {
        guard b.count - i >= 4, let v = UInt32(String(decoding: b[i ..< i + 4], as: UTF8.self), radix: 16) else {
            throw fail("bad \\u escape")
        }
        i += 4
        return v
    }

    private mutating func parseString() throws(TemplateError) -> String {
        i += 1 // opening quote
        var bytes: [UInt8] = []
        while true {
            guard i < b.count else { throw fail("unterminated string") }
            let c = b[i]
            i += 1
            if c == UInt8(ascii: "\"") { break }
            if c != UInt8(ascii: "\\") { bytes.append(c); continue }
            guard i < b.count else { throw fail("unterminated string") }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "/"), UInt8(ascii: "\\"), UInt8(ascii: "\""): bytes.append(e)
            case UInt8(ascii: "u"):
                var v = try hex4()
                if v >= 0xD800, v < 0xDC00, b.count - i >= 6, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                    i += 2
                    let lo = try hex4()
                    if lo >= 0xDC00, lo < 0xE000 { v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00) } else { i -= 6 }
                }
                let scalar = Unicode.Scalar(v) ?? "\u{FFFD}"
                bytes.append(contentsOf: Array(String(scalar).utf8))
            default: throw fail("bad escape")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

enum JSONWriter {
    /// json.dumps(value, ensure_ascii=False, indent=indent, separators=(itemSep, keySep), sort_keys=sortKeys).
    /// Nil when the value holds something JSON cannot express (Undefined, a macro...).
    static func write(_ v: Value, indent: String?, itemSep: String, keySep: String, sortKeys: Bool) -> String? {
        var out = ""
        guard write(v, into: &out, level: 0, indent: indent, itemSep: itemSep, keySep: keySep, sortKeys: sortKeys) else {
            return nil
        }
        return out
    }

    private static func write(_ v: Value, into out: inout String, level: Int, indent: String?, itemSep: String,
                              keySep: String, sortKeys: Bool) -> Bool
    {
        switch v {
        case .none: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .int(i): out += String(i)
        case let .double(d):
            if d.isNaN { out += "NaN" } else if d.isInfinite { out += d < 0 ? "-Infinity" : "Infinity" } else { out += pyFloatRepr(d) }
        case let .string(s): quote(s, into: &out)
        case let .array(a), let .tuple(a):
            if a.isEmpty { out += "[]"; return true }
            out += "["
            let (open, sep, close) = separators(level: level, indent: indent, itemSep: itemSep)
            out += open
            for (n, x) in a.enumerated() {
                if n > 0 { out += sep }
                guard write(x, into: &out, level: level + 1, indent: indent, itemSep: itemSep, keySep: keySep, sortKeys: sortKeys)
                else { return false }
            }
            out += close + "]"
        case .dict, .namespace:
            var pairs: [(Value, Value)]
            if case let .dict(d) = v { pairs = d.pairs } else if case let .namespace(n) = v { pairs = n.attributes.pairs } else { pairs = [] }
            if pairs.isEmpty { out += "{}"; return true }
            if sortKeys { pairs.sort { pyOrder($0.0, $1.0) ?? 0 < 0 } }
            out += "{"
            let (open, sep, close) = separators(level: level, indent: indent, itemSep: itemSep)
            out += open
            for (n, (k, x)) in pairs.enumerated() {
                if n > 0 { out += sep }
                quote(jsonKey(k), into: &out)
                out += keySep
                guard write(x, into: &out, level: level + 1, indent: indent, itemSep: itemSep, keySep: keySep, sortKeys: sortKeys)
                else { return false }
            }
            out += close + "}"
        default: return false
        }
        return true
    }

    private static func separators(level: Int, indent: String?, itemSep: String) -> (String, String, String) {
        guard let indent else { return ("", itemSep, "") }
        let inner = "\n" + String(repeating: indent, count: level + 1)
        return (inner, itemSep + inner, "\n" + String(repeating: indent, count: level))
    }

    /// json.dumps turns non-string keys into text: numbers as written, true / false / null.
    private static func jsonKey(_ k: Value) -> String {
        switch k {
        case let .bool(b): return b ? "true" : "false"
        case .none: return "null"
        default: return k.pyStr
        }
    }

    static func quote(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
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
