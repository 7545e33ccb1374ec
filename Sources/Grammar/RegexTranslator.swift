/// A JSON Schema `pattern` (ECMA-262 subset) → GBNF matching the string's JSON-encoded content.
///
/// Supported: literals, `.`, classes `[...]` / `[^...]` with ranges, `\d \w \s \D \W \S`, escaped
/// punctuation, groups `(...)` `(?:...)` `(?<name>...)`, `|`, quantifiers `* + ? {m} {m,} {m,n}` (lazy
/// `?` suffixes are ignored: a grammar has no preference), and `^` / `$` at the ends. The whole string
/// must match the pattern: a subset of what an unanchored pattern allows, so outputs always validate.
/// Characters that JSON must escape are left out of classes and `.` (a subset again); literal `"`, `\`,
/// newline and tab in the pattern are written as their JSON escapes. Lookarounds, backreferences, word
/// boundaries and Unicode properties throw ``GrammarError/unsupportedSchema(keyword:path:reason:)``.
struct RegexTranslator {
    private let p: [Unicode.Scalar]
    private var i = 0
    private let path: String

    init(_ pattern: String, path: String) {
        p = Array(pattern.unicodeScalars)
        self.path = path
    }

    private func fail(_ why: String) -> GrammarError { .unsupportedSchema(keyword: "pattern", path: path, reason: why) }

    mutating func translate() throws(GrammarError) -> String {
        var end = p.count
        if p.first == "^" { i = 1 }
        if end > i, p[end - 1] == "$", !(end >= 2 && p[end - 2] == "\\") { end -= 1 }
        let body = try alternation(end: end)
        guard i == end else { throw fail("unexpected '\(p[i])' at position \(i)") }
        return body.isEmpty ? "\"\"" : body
    }

    private mutating func alternation(end: Int) throws(GrammarError) -> String {
        var alts = [try sequence(end: end)]
        while i < end, p[i] == "|" {
            i += 1
            alts.append(try sequence(end: end))
        }
        return alts.count == 1 ? alts[0] : "(" + alts.map { $0.isEmpty ? "\"\"" : $0 }.joined(separator: " | ") + ")"
    }

    private mutating func sequence(end: Int) throws(GrammarError) -> String {
        var parts: [String] = []
        while i < end, p[i] != "|", p[i] != ")" {
            var atom = try self.atom(end: end)
            if i < end, let q = try quantifier(end: end) { atom = "(\(atom))\(q)" }
            parts.append(atom)
        }
        return parts.joined(separator: " ")
    }

    private mutating func quantifier(end: Int) throws(GrammarError) -> String? {
        let c = p[i]
        var q: String
        switch c {
        case "*": q = "*"; i += 1
        case "+": q = "+"; i += 1
        case "?": q = "?"; i += 1
        case "{":
            var j = i + 1
            var text = ""
            while j < end, p[j] != "}" { text.unicodeScalars.append(p[j]); j += 1 }
            let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharactersSpace }
            guard j < end, let m = Int(parts[0]), parts.count <= 2 else { return nil }
            if parts.count == 1 { q = "{\(m)}" } else if parts[1].isEmpty { q = "{\(m),}" } else {
                guard let n = Int(parts[1]), n >= m else { throw fail("bad repetition {\(text)}") }
                q = "{\(m),\(n)}"
            }
            i = j + 1
        default: return nil
        }
        if i < end, p[i] == "?" { i += 1 } // lazy: same language
        if i < end, p[i] == "+" { throw fail("possessive quantifiers are not supported") }
        return q
    }

    private mutating func atom(end: Int) throws(GrammarError) -> String {
        let c = p[i]
        i += 1
        switch c {
        case "(":
            if i < end, p[i] == "?" {
                if i + 1 < end, p[i + 1] == ":" { i += 2 }
                else if i + 2 < end, p[i + 1] == "<", p[i + 2] != "=", p[i + 2] != "!" {
                    while i < end, p[i] != ">" { i += 1 }
                    i += 1
                } else { throw fail("lookarounds and inline flags are not supported") }
            }
            let inner = try alternation(end: end)
            guard i < end, p[i] == ")" else { throw fail("unbalanced '('") }
            i += 1
            return inner.isEmpty ? "\"\"" : "(\(inner))"
        case "[": return try charClass(end: end)
        case ".": return Self.classText(Self.jsonSafe(UTF8Ranges.complement([10...10])))
        case "\\": return try escape(end: end, inClass: false).text
        case "^", "$": throw fail("anchors are only supported at the start and end of the pattern")
        case ")": throw fail("unbalanced ')'")
        default: return Self.literal(c)
        }
    }

    private struct Escaped { var text: String; var ranges: [ClosedRange<UInt32>] }

    private mutating func escape(end: Int, inClass: Bool) throws(GrammarError) -> Escaped {
        guard i < end else { throw fail("pattern ends with '\\'") }
        let e = p[i]
        i += 1
        let digit: [ClosedRange<UInt32>] = [48...57]
        let word: [ClosedRange<UInt32>] = [48...57, 65...90, 95...95, 97...122]
        let space: [ClosedRange<UInt32>] = [32...32]
        func cls(_ r: [ClosedRange<UInt32>]) -> Escaped { Escaped(text: Self.classText(Self.jsonSafe(r)), ranges: Self.jsonSafe(r)) }
        switch e {
        case "d": return cls(digit)
        case "w": return cls(word)
        case "s": return cls(space)
        case "D": return cls(UTF8Ranges.complement(digit))
        case "W": return cls(UTF8Ranges.complement(word))
        case "S": return cls(UTF8Ranges.complement([9...13, 32...32]))
        case "n": return Escaped(text: Self.literal("\n"), ranges: [10...10])
        case "t": return Escaped(text: Self.literal("\t"), ranges: [9...9])
        case "b", "B": throw fail("word boundaries are not supported")
        case "p", "P": throw fail("Unicode property classes are not supported")
        case "u":
            guard i + 4 <= end, let v = UInt32(String(String.UnicodeScalarView(p[i..<i + 4])), radix: 16), let s = Unicode.Scalar(v) else { throw fail("bad \\u escape") }
            i += 4
            return Escaped(text: Self.literal(s), ranges: [v...v])
        case "x":
            guard i + 2 <= end, let v = UInt32(String(String.UnicodeScalarView(p[i..<i + 2])), radix: 16), let s = Unicode.Scalar(v) else { throw fail("bad \\x escape") }
            i += 2
            return Escaped(text: Self.literal(s), ranges: [v...v])
        default:
            if e.properties.numericType != nil { throw fail("backreferences are not supported") }
            if e.isASCII, e.properties.isAlphabetic { throw fail("unknown escape '\\\(e)'") }
            return Escaped(text: Self.literal(e), ranges: [e.value...e.value])
        }
    }

    private mutating func charClass(end: Int) throws(GrammarError) -> String {
        var negated = false
        if i < end, p[i] == "^" { negated = true; i += 1 }
        var ranges: [ClosedRange<UInt32>] = []
        var first = true
        while true {
            guard i < end else { throw fail("unterminated character class") }
            if p[i] == "]", !first { i += 1; break }
            first = false
            var lo: UInt32
            if p[i] == "\\" {
                i += 1
                let e = try escape(end: end, inClass: true)
                if e.ranges.count != 1 || e.ranges[0].count != 1 { ranges += e.ranges; continue }
                lo = e.ranges[0].lowerBound
            } else {
                lo = p[i].value
                i += 1
            }
            if i + 1 < end, p[i] == "-", p[i + 1] != "]" {
                i += 1
                var hi: UInt32
                if p[i] == "\\" {
                    i += 1
                    let e = try escape(end: end, inClass: true)
                    guard e.ranges.count == 1, e.ranges[0].count == 1 else { throw fail("a class range cannot end in a class escape") }
                    hi = e.ranges[0].lowerBound
                } else { hi = p[i].value; i += 1 }
                guard lo <= hi else { throw fail("reversed class range") }
                ranges.append(lo...hi)
            } else {
                ranges.append(lo...lo)
            }
        }
        let set = Self.jsonSafe(negated ? UTF8Ranges.complement(ranges) : ranges)
        guard !set.isEmpty else { throw fail("a character class allows no character that can be generated") }
        return Self.classText(set)
    }

    /// Drops characters a JSON string must escape (controls, `"`, `\`) from a class.
    static func jsonSafe(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        let forbidden = UTF8Ranges.complement([0...0x1F, 0x22...0x22, 0x5C...0x5C, 0x7F...0x7F])
        var out: [ClosedRange<UInt32>] = []
        for r in UTF8Ranges.normalized(ranges) {
            for f in forbidden {
                let lo = max(r.lowerBound, f.lowerBound), hi = min(r.upperBound, f.upperBound)
                if lo <= hi { out.append(lo...hi) }
            }
        }
        return UTF8Ranges.normalized(out)
    }

    static func classText(_ ranges: [ClosedRange<UInt32>]) -> String {
        func esc(_ v: UInt32) -> String {
            if v < 0x80, let s = Unicode.Scalar(v), s.properties.isAlphabetic || (48...57).contains(v) { return String(s) }
            return v <= 0xFFFF ? "\\u" + hex(v, 4) : "\\U" + hex(v, 8)
        }
        return "[" + ranges.map { $0.lowerBound == $0.upperBound ? esc($0.lowerBound) : esc($0.lowerBound) + "-" + esc($0.upperBound) }.joined() + "]"
    }

    static func hex(_ v: UInt32, _ width: Int) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    /// A GBNF literal for one character as it appears inside a JSON string.
    static func literal(_ c: Unicode.Scalar) -> String {
        switch c {
        case "\"": return #""\\\"""#
        case "\\": return #""\\\\""#
        case "\n": return #""\\n""#
        case "\t": return #""\\t""#
        case "\r": return #""\\r""#
        default:
            if c.value < 0x20 || c.value == 0x7F { return "\"\\\\u\(hex(c.value, 4))\"" }
            return SchemaConverter.literal(String(c))
        }
    }
}

private extension Substring {
    var trimmingCharactersSpace: String { String(self.filter { $0 != " " }) }
}
