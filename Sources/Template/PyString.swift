// Python str semantics over Unicode code points (Swift Strings count grapheme clusters; Python counts
// code points, and templates slice and measure with Python's rules).

enum PyString {
    /// Python's `str.isspace` for one code point.
    static func isSpace(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x09 ... 0x0D, 0x1C ... 0x1F, 0x20, 0x85, 0xA0: return true
        default: return u.value > 0x7F && u.properties.isWhitespace
        }
    }

    static func strip(_ s: String, _ chars: String?, leading: Bool, trailing: Bool) -> String {
        let u = Array(s.unicodeScalars)
        let set = chars.map { Set($0.unicodeScalars) }
        func strippable(_ c: Unicode.Scalar) -> Bool { set.map { $0.contains(c) } ?? isSpace(c) }
        var a = 0, b = u.count
        if leading { while a < b, strippable(u[a]) { a += 1 } }
        if trailing { while b > a, strippable(u[b - 1]) { b -= 1 } }
        return String(String.UnicodeScalarView(u[a ..< b]))
    }

    /// `str.split(sep, maxsplit)`; with no separator, runs of whitespace split and empty parts vanish.
    static func split(_ s: String, _ sep: String?, _ maxSplit: Int) -> [String] {
        let u = Array(s.unicodeScalars)
        var parts: [String] = []
        func str(_ r: ArraySlice<Unicode.Scalar>) -> String { String(String.UnicodeScalarView(r)) }
        guard let sep else {
            var i = 0
            var splits = 0
            while i < u.count {
                while i < u.count, isSpace(u[i]) { i += 1 }
                if i == u.count { break }
                if maxSplit >= 0, splits == maxSplit {
                    var end = u.count
                    while end > i, isSpace(u[end - 1]) { end -= 1 }
                    parts.append(str(u[i ..< end]))
                    break
                }
                var j = i
                while j < u.count, !isSpace(u[j]) { j += 1 }
                parts.append(str(u[i ..< j]))
                splits += 1
                i = j
            }
            return parts
        }
        let p = Array(sep.unicodeScalars)
        var start = 0, i = 0
        while i + p.count <= u.count {
            if maxSplit >= 0, parts.count == maxSplit { break }
            if Array(u[i ..< i + p.count]) == p {
                parts.append(str(u[start ..< i]))
                i += p.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(str(u[start...]))
        return parts
    }

    static func rsplit(_ s: String, _ sep: String?, _ maxSplit: Int) -> [String] {
        if maxSplit < 0 { return split(s, sep, -1) }
        // Splitting the reversed text with a reversed separator gives the splits from the right.
        let rev = { (x: String) in String(String.UnicodeScalarView(x.unicodeScalars.reversed())) }
        return split(rev(s), sep.map(rev), maxSplit).reversed().map(rev)
    }

    static func replace(_ s: String, _ old: String, _ new: String, _ count: Int) -> String {
        let u = Array(s.unicodeScalars), o = Array(old.unicodeScalars)
        var out = String.UnicodeScalarView()
        var n = 0
        if o.isEmpty {
            for c in u {
                if count < 0 || n < count { out.append(contentsOf: new.unicodeScalars); n += 1 }
                out.append(c)
            }
            if count < 0 || n < count { out.append(contentsOf: new.unicodeScalars) }
            return String(out)
        }
        var i = 0
        while i < u.count {
            if (count < 0 || n < count), i + o.count <= u.count, Array(u[i ..< i + o.count]) == o {
                out.append(contentsOf: new.unicodeScalars)
                i += o.count
                n += 1
            } else {
                out.append(u[i])
                i += 1
            }
        }
        return String(out)
    }

    static func find(_ s: String, _ sub: String, fromEnd: Bool) -> Int {
        let u = Array(s.unicodeScalars), p = Array(sub.unicodeScalars)
        guard p.count <= u.count else { return -1 }
        let range = Array(0 ... (u.count - p.count))
        for i in fromEnd ? range.reversed() : range where Array(u[i ..< i + p.count]) == p { return i }
        return -1
    }

    static func count(_ s: String, _ sub: String) -> Int {
        let u = Array(s.unicodeScalars), p = Array(sub.unicodeScalars)
        if p.isEmpty { return u.count + 1 }
        var n = 0, i = 0
        while i + p.count <= u.count {
            if Array(u[i ..< i + p.count]) == p { n += 1; i += p.count } else { i += 1 }
        }
        return n
    }

    static func isCased(_ u: Unicode.Scalar) -> Bool { u.properties.isCased }

    /// Python `str.title()`: a letter after a cased letter is lowered, any other letter is title-cased.
    static func title(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for u in s.unicodeScalars {
            if previousCased { out += u.properties.lowercaseMapping } else { out += u.properties.titlecaseMapping }
            previousCased = isCased(u)
        }
        return out
    }

    /// Python `str.capitalize()`: first code point title-cased, the rest lowered.
    static func capitalize(_ s: String) -> String {
        var out = ""
        for (i, u) in s.unicodeScalars.enumerated() {
            out += i == 0 ? u.properties.titlecaseMapping : u.properties.lowercaseMapping
        }
        return out
    }

    /// Python `str.splitlines()`.
    static func splitLines(_ s: String, keepEnds: Bool = false) -> [String] {
        let u = Array(s.unicodeScalars)
        var lines: [String] = []
        var start = 0, i = 0
        while i < u.count {
            let c = u[i].value
            let isBreak = c == 0x0A || c == 0x0D || c == 0x0B || c == 0x0C || (0x1C ... 0x1E).contains(c)
                || c == 0x85 || c == 0x2028 || c == 0x2029
            if isBreak {
                var end = i + 1
                if c == 0x0D, i + 1 < u.count, u[i + 1] == "\n" { end += 1 }
                lines.append(String(String.UnicodeScalarView(u[start ..< (keepEnds ? end : i)])))
                start = end
                i = end
            } else {
                i += 1
            }
        }
        if start < u.count { lines.append(String(String.UnicodeScalarView(u[start...]))) }
        return lines
    }

    /// Python's `\w`: letters, digits (Unicode) and underscore.
    static func isWordChar(_ u: Unicode.Scalar) -> Bool {
        if u == "_" { return true }
        let p = u.properties
        return p.isAlphabetic || p.numericType != nil
    }
}

extension String {
    /// Python allows `_` between digits in number literals (`1_000`).
    var withoutUnderscores: String { String(filter { $0 != "_" }) }
}
