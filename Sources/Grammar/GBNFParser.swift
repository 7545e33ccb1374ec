/// One symbol of a GBNF rule, at the level of Unicode code points (before compiling to bytes).
package indirect enum GBNFTerm: Equatable, Sendable {
    /// A quoted string: these code points in order.
    case literal([UInt32])
    /// `[...]`, `[^...]` or `.` (a negated empty class): one code point from (or outside) the ranges.
    case charClass([ClosedRange<UInt32>], negated: Bool)
    case ruleRef(String)
    /// `( a | b )`
    case group([[GBNFTerm]])
    /// `x*`, `x+`, `x?`, `x{m}`, `x{m,}`, `x{m,n}`; `max == nil` is unbounded.
    case repetition(GBNFTerm, min: Int, max: Int?)
}

/// A GBNF grammar as written: rules in order of first definition, each a list of alternatives.
package struct GBNFGrammar: Equatable, Sendable {
    package var rules: [(name: String, alternatives: [[GBNFTerm]])]

    package static func == (a: GBNFGrammar, b: GBNFGrammar) -> Bool {
        a.rules.count == b.rules.count && zip(a.rules, b.rules).allSatisfy { $0.name == $1.name && $0.alternatives == $1.alternatives }
    }
}

/// Reads llama.cpp's GBNF: `name ::= alternatives`, `#` comments, quoted literals and `[...]` classes with
/// `\x` `\u` `\U` escapes, `.`, groups, and the repetition operators. Inside parentheses and after `|` or
/// `::=` newlines are plain space; elsewhere a newline ends the rule (a following line that starts with `|`
/// continues it, which llama.cpp does not allow but costs nothing to accept). Repeated definitions of one
/// name add alternatives, as in llama.cpp.
package struct GBNFParser {
    private let text: [Unicode.Scalar]
    private var i = 0

    init(_ source: String) { text = Array(source.unicodeScalars) }

    package static func parse(_ source: String) throws(GrammarError) -> GBNFGrammar {
        var parser = GBNFParser(source)
        return try parser.grammar()
    }

    private var current: Unicode.Scalar? { i < text.count ? text[i] : nil }

    private func error(_ message: String) -> GrammarError {
        var line = 1, column = 1
        for c in text[..<min(i, text.count)] {
            if c == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return .syntax(line: line, column: column, message: message)
    }

    /// Skips spaces, tabs, comments and (when `newlines`) line breaks.
    private mutating func skipSpace(newlines: Bool) {
        while let c = current {
            if c == " " || c == "\t" { i += 1 }
            else if c == "#" { while let d = current, d != "\n" { _ = d; i += 1 } }
            else if newlines, c == "\n" || c == "\r" { i += 1 }
            else { break }
        }
    }

    private static func isNameChar(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "-" || c == "_"
    }

    private mutating func name() -> String? {
        let start = i
        while let c = current, Self.isNameChar(c) { i += 1 }
        return i > start ? String(String.UnicodeScalarView(text[start..<i])) : nil
    }

    mutating func grammar() throws(GrammarError) -> GBNFGrammar {
        var order: [String] = []
        var rules: [String: [[GBNFTerm]]] = [:]
        skipSpace(newlines: true)
        while current != nil {
            guard let name = name() else { throw error("expected a rule name") }
            skipSpace(newlines: false)
            guard i + 3 <= text.count, text[i] == ":", text[i + 1] == ":", text[i + 2] == "=" else { throw error("expected '::=' after '\(name)'") }
            i += 3
            skipSpace(newlines: true)
            let alternatives = try self.alternatives(nested: false)
            if rules[name] == nil { order.append(name) }
            rules[name, default: []] += alternatives
            skipSpace(newlines: false)
            if let c = current, c != "\n", c != "\r" { throw error("unexpected '\(c)' at the end of rule '\(name)'") }
            skipSpace(newlines: true)
        }
        return GBNFGrammar(rules: order.map { ($0, rules[$0]!) })
    }

    private mutating func alternatives(nested: Bool) throws(GrammarError) -> [[GBNFTerm]] {
        var result = [try sequence(nested: nested)]
        while true {
            if current == "|" {
                i += 1
                skipSpace(newlines: true)
                result.append(try sequence(nested: nested))
                continue
            }
            if !nested {
                // A line break followed by '|' continues the rule.
                var j = i
                while j < text.count, [" ", "\t", "\n", "\r"].contains(text[j]) { j += 1 }
                if j < text.count, text[j] == "|", j > i { i = j; continue }
            }
            return result
        }
    }

    private mutating func sequence(nested: Bool) throws(GrammarError) -> [GBNFTerm] {
        var terms: [GBNFTerm] = []
        while let c = current {
            var term: GBNFTerm
            if c == "\"" {
                i += 1
                var points: [UInt32] = []
                while true {
                    guard let d = current else { throw error("unterminated string literal") }
                    if d == "\"" { i += 1; break }
                    if d == "\n" { throw error("line break inside a string literal") }
                    points.append(try character())
                }
                term = .literal(points)
            } else if c == "[" {
                i += 1
                var negated = false
                if current == "^" { negated = true; i += 1 }
                var ranges: [ClosedRange<UInt32>] = []
                while true {
                    guard let d = current else { throw error("unterminated character class") }
                    if d == "]" { i += 1; break }
                    let lo = try character()
                    var hi = lo
                    if current == "-", i + 1 < text.count, text[i + 1] != "]" {
                        i += 1
                        hi = try character()
                    }
                    guard lo <= hi else { throw error("character range is reversed") }
                    ranges.append(lo...hi)
                }
                term = .charClass(ranges, negated: negated)
            } else if c == "." {
                i += 1
                term = .charClass([], negated: true)
            } else if c == "(" {
                i += 1
                skipSpace(newlines: true)
                let alts = try alternatives(nested: true)
                skipSpace(newlines: true)
                guard current == ")" else { throw error("expected ')'") }
                i += 1
                term = .group(alts)
            } else if c == "<" || c == "!" {
                throw .unsupportedSyntax("token references such as <[1000]> or !<token> (match characters instead)")
            } else if Self.isNameChar(c) {
                let start = i
                let n = name()!
                // `name ::=` starts the next rule: this sequence ended at the previous line break.
                var j = i
                while j < text.count, text[j] == " " || text[j] == "\t" { j += 1 }
                if j + 2 < text.count, text[j] == ":", text[j + 1] == ":", text[j + 2] == "=" {
                    i = start
                    if !nested { return terms }
                    throw error("missing ')' before rule '\(n)'")
                }
                term = .ruleRef(n)
            } else {
                break
            }
            skipSpace(newlines: nested)
            // Postfix repetition operators (several may stack: x?*).
            while let op = current {
                if op == "*" { term = .repetition(term, min: 0, max: nil); i += 1 }
                else if op == "+" { term = .repetition(term, min: 1, max: nil); i += 1 }
                else if op == "?" { term = .repetition(term, min: 0, max: 1); i += 1 }
                else if op == "{" {
                    i += 1
                    skipSpace(newlines: nested)
                    guard let m = integer() else { throw error("expected a number after '{'") }
                    skipSpace(newlines: nested)
                    var max: Int? = m
                    if current == "," {
                        i += 1
                        skipSpace(newlines: nested)
                        max = integer()
                        skipSpace(newlines: nested)
                    }
                    guard current == "}" else { throw error("expected '}'") }
                    i += 1
                    if let max, max < m { throw error("repetition {\(m),\(max)} has its maximum below its minimum") }
                    term = .repetition(term, min: m, max: max)
                } else { break }
                skipSpace(newlines: nested)
            }
            terms.append(term)
        }
        return terms
    }

    private mutating func integer() -> Int? {
        let start = i
        var value = 0
        while let c = current, c >= "0" && c <= "9" {
            value = value &* 10 &+ Int(c.value - 48)
            i += 1
        }
        return i > start ? value : nil
    }

    /// One code point of a literal or class, decoding escapes.
    private mutating func character() throws(GrammarError) -> UInt32 {
        guard let c = current else { throw error("unexpected end of grammar") }
        i += 1
        guard c == "\\" else { return c.value }
        guard let e = current else { throw error("unexpected end after '\\'") }
        i += 1
        func hex(_ digits: Int) throws(GrammarError) -> UInt32 {
            var v: UInt32 = 0
            for _ in 0..<digits {
                guard let h = current, let d = h.properties.numericType != nil || ("a"..."f").contains(h) || ("A"..."F").contains(h)
                        ? UInt32(String(h), radix: 16) : nil else { throw error("expected \(digits) hex digits after '\\\(e)'") }
                v = v * 16 + d
                i += 1
            }
            return v
        }
        switch e {
        case "x": return try hex(2)
        case "u": return try hex(4)
        case "U": return try hex(8)
        case "t": return 9
        case "n": return 10
        case "r": return 13
        case "0": return 0
        default:
            // \\ \" \[ \] \- \^ ... stand for the character itself.
            if e.isASCII, !(("a"..."z").contains(e) || ("A"..."Z").contains(e) || ("0"..."9").contains(e)) { return e.value }
            throw error("unknown escape '\\\(e)'")
        }
    }
}
