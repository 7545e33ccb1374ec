/// A strict JSON parser (RFC 8259) over UTF-8 bytes that keeps object key order and number literals.
///
/// Strict in structure, escapes and number syntax: `01`, `.5`, `1.`, `+1`, `\x` and trailing commas
/// are errors. Two leniencies are deliberate: raw control characters inside strings are kept (models
/// writing tool-call arguments put raw newlines there, and Python's `json.loads(strict=False)` reads
/// them too), and unpaired UTF-16 surrogate escapes become U+FFFD (a Swift `String` cannot hold them).
/// Invalid UTF-8 inside strings is replaced by U+FFFD as well.
public struct JSONParser {
    /// Choices that differ between callers.
    public struct Options: Sendable {
        /// Skip a leading UTF-8 byte order mark (files written by some editors start with one).
        public var allowsByteOrderMark = false
        /// Throw ``JSONError/duplicateKey(key:offset:)`` when an object repeats a key. Decoders
        /// disagree on which repeat wins, so a server refuses them rather than guess.
        public var rejectsDuplicateKeys = false
        /// Arrays and objects nested deeper than this are an error (the parser recurses).
        public var maximumDepth = 512

        /// The defaults: no byte order mark, repeated keys kept, 512 levels of nesting.
        public init(allowsByteOrderMark: Bool = false, rejectsDuplicateKeys: Bool = false, maximumDepth: Int = 512) {
            self.allowsByteOrderMark = allowsByteOrderMark
            self.rejectsDuplicateKeys = rejectsDuplicateKeys
            self.maximumDepth = maximumDepth
        }
    }

    private let b: [UInt8]
    private let options: Options
    private var i = 0
    private var depth = 0

    private init(_ bytes: [UInt8], options: Options) {
        b = bytes
        self.options = options
    }

    /// Parses one JSON document: a value with nothing but whitespace around it.
    public static func parse(_ bytes: [UInt8], options: Options = Options()) throws(JSONError) -> JSONValue {
        var p = JSONParser(bytes, options: options)
        if options.allowsByteOrderMark, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { p.i = 3 }
        let v = try p.value()
        p.skipSpace()
        guard p.i == p.b.count else { throw p.fail("unexpected text after the JSON value") }
        return v
    }

    /// Parses one JSON document from text.
    public static func parse(_ text: String, options: Options = Options()) throws(JSONError) -> JSONValue {
        try parse(Array(text.utf8), options: options)
    }

    private func fail(_ message: String) -> JSONError { .syntax(message: message, offset: i) }

    private func at(_ c: Unicode.Scalar) -> Bool { i < b.count && b[i] == UInt8(ascii: c) }

    private mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    private mutating func value() throws(JSONError) -> JSONValue {
        skipSpace()
        guard i < b.count else { throw fail("unexpected end of input") }
        switch b[i] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw fail("expected a value")
        }
    }

    private mutating func enter() throws(JSONError) {
        depth += 1
        guard depth < options.maximumDepth else { throw fail("nesting too deep") }
        i += 1
    }

    private mutating func object() throws(JSONError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        var pairs: [(String, JSONValue)] = []
        // Keys as written (escapes kept), for the duplicate check and its message.
        var seen: Set<ArraySlice<UInt8>> = []
        skipSpace()
        if at("}") { i += 1; return .object(pairs) }
        while true {
            skipSpace()
            guard at("\"") else { throw fail("expected a string key") }
            let keyStart = i
            let key = try string()
            if options.rejectsDuplicateKeys {
                let raw = b[keyStart + 1 ..< i - 1]
                guard seen.insert(raw).inserted else {
                    throw .duplicateKey(key: String(decoding: raw, as: UTF8.self), offset: keyStart)
                }
            }
            skipSpace()
            guard at(":") else { throw fail("expected ':'") }
            i += 1
            pairs.append((key, try value()))
            skipSpace()
            guard i < b.count else { throw fail("unterminated object") }
            if at(",") { i += 1; continue }
            if at("}") { i += 1; return .object(pairs) }
            throw fail("expected ',' or '}'")
        }
    }

    private mutating func array() throws(JSONError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        var items: [JSONValue] = []
        skipSpace()
        if at("]") { i += 1; return .array(items) }
        while true {
            items.append(try value())
            skipSpace()
            guard i < b.count else { throw fail("unterminated array") }
            if at(",") { i += 1; continue }
            if at("]") { i += 1; return .array(items) }
            throw fail("expected ',' or ']'")
        }
    }

    private mutating func literal(_ word: String, _ v: JSONValue) throws(JSONError) -> JSONValue {
        let w = Array(word.utf8)
        guard b.count - i >= w.count, b[i ..< i + w.count].elementsEqual(w) else { throw fail("expected '\(word)'") }
        i += w.count
        return v
    }

    private func isDigit(_ at: Int) -> Bool { at < b.count && b[at] >= 0x30 && b[at] <= 0x39 }

    private mutating func digits() throws(JSONError) {
        guard isDigit(i) else { throw fail("expected a digit") }
        while isDigit(i) { i += 1 }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    private mutating func number() throws(JSONError) -> JSONNumber {
        let start = i
        if at("-") { i += 1 }
        if at("0") {
            i += 1
            if isDigit(i) { throw fail("leading zeros are not allowed") }
        } else {
            try digits()
        }
        var isInteger = true
        if at(".") { i += 1; isInteger = false; try digits() }
        if at("e") || at("E") {
            i += 1
            isInteger = false
            if at("+") || at("-") { i += 1 }
            try digits()
        }
        let text = String(decoding: b[start ..< i], as: UTF8.self)
        if isInteger, let n = Int(text) { return JSONNumber(.int(n), literal: text) }
        // Valid syntax always converts (out-of-range magnitudes become ±infinity or zero).
        return JSONNumber(.double(Double(text) ?? .nan), literal: text)
    }

    private mutating func hex4() throws(JSONError) -> UInt32 {
        guard b.count - i >= 4, b[i ..< i + 4].allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }),
              let v = UInt32(String(decoding: b[i ..< i + 4], as: UTF8.self), radix: 16) else {
            throw fail("bad \\u escape")
        }
        i += 4
        return v
    }

    private mutating func string() throws(JSONError) -> String {
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
                // A high surrogate pairs with an immediately following low one; anything else is unpaired.
                if v >= 0xD800, v < 0xDC00, b.count - i >= 6, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                    i += 2
                    let lo = try hex4()
                    if lo >= 0xDC00, lo < 0xE000 { v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00) } else { i -= 6 }
                }
                bytes.append(contentsOf: Array(String(Unicode.Scalar(v) ?? "\u{FFFD}").utf8))
            default:
                i -= 1
                throw fail("bad escape")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
