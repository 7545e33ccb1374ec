import JSON
import Testing

/// The shared JSON module: strict parsing with positions, order and literals kept, and the output
/// formats its callers rely on (compact for the server and grammars, Python's json.dumps for `tojson`).
struct ParserTests {
    func parse(_ text: String, _ options: JSONParser.Options = .init()) throws(JSONError) -> JSONValue {
        try JSONParser.parse(text, options: options)
    }

    func error(_ text: String, _ options: JSONParser.Options = .init()) -> JSONError? {
        do throws(JSONError) { _ = try parse(text, options); return nil } catch { return error }
    }

    @Test func keepsKeyOrderAndRepeats() throws {
        let v = try parse(#"{"z": 1, "a": {"y": [1, 2.5, "\u00e9\ud83d\ude00"]}, "z": 2}"#)
        #expect(v.objectPairs.map(\.0) == ["z", "a", "z"])
        #expect(v["z"] == .int(1))
        #expect(v["a"]?["y"] == .array([.int(1), .double(2.5), .string("é😀")]))
    }

    @Test func numbersAreIntsOnlyWithoutFractionOrExponent() throws {
        guard case let .number(n) = try parse("-0"), case .int(0) = n.value else { Issue.record("-0"); return }
        guard case let .number(f) = try parse("1.0"), case .double(1.0) = f.value else { Issue.record("1.0"); return }
        guard case let .number(e) = try parse("1E2"), case .double(100) = e.value, e.literal == "1E2" else { Issue.record("1E2"); return }
        // Beyond Int: a double, as Python's int would overflow JSON consumers anyway.
        guard case let .number(big) = try parse("99999999999999999999"), case .double(1e20) = big.value else { Issue.record("big"); return }
        #expect(try parse("[1, 1.0, 1e0]") == .array([.int(1), .int(1), .int(1)]))
    }

    @Test func rejectsWhatJSONDoesNotAllow() {
        for text in ["01", "-01", ".5", "1.", "+1", "1e", "-", "[1,]", #"{"a":1,}"#, #""\x""#, "NaN", "nul", "[1 2]",
                     #"{"a" 1}"#, "{1:2}", #""abc"#, "", "  ", "1 2", "\u{FEFF}1", #""\u12G4""#] {
            #expect(error(text) != nil, "accepted \(text)")
        }
    }

    @Test func errorsNameTheByte() {
        #expect(error("[1, 2,]") == .syntax(message: "expected a value", offset: 6))
        #expect(error(#"{"a": tru}"#) == .syntax(message: "expected 'true'", offset: 6))
        #expect(error("01") == .syntax(message: "leading zeros are not allowed", offset: 1))
        #expect(error(#"["a\qb"]"#) == .syntax(message: "bad escape", offset: 4))
        #expect(error("[1] x")?.description == "unexpected text after the JSON value at byte 4")
        #expect(error(#"{"a": [1"#) == .syntax(message: "unterminated array", offset: 8))
    }

    @Test func stringsKeepRawControlCharactersAndReplaceLoneSurrogates() throws {
        #expect(try parse("\"a\nb\"") == .string("a\nb"))
        #expect(try parse(#""\ud800x""#) == .string("\u{FFFD}x"))
        #expect(try parse(#""\ud800\u0041""#) == .string("\u{FFFD}A"))
        #expect(try parse(#""\udc00""#) == .string("\u{FFFD}"))
        #expect(try parse(#""\/\b\f""#) == .string("/\u{8}\u{C}"))
    }

    @Test func byteOrderMarkOnlyWhenAllowed() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("[1]".utf8)
        #expect(throws: JSONError.self) { try JSONParser.parse(bytes) }
        #expect(try JSONParser.parse(bytes, options: .init(allowsByteOrderMark: true)) == .array([.int(1)]))
    }

    @Test func nestingIsBounded() throws {
        let ok = String(repeating: "[", count: 511) + String(repeating: "]", count: 511)
        _ = try parse(ok)
        let deep = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(error(deep)?.message == "nesting too deep")
        #expect(error(String(repeating: "[", count: 100_000)) != nil)
    }

    @Test func duplicateKeysWhenRejected() {
        let reject = JSONParser.Options(rejectsDuplicateKeys: true)
        #expect(error(#"{"a":1,"b":{"c":1,"c":2}}"#, reject) == .duplicateKey(key: "c", offset: 18))
        #expect(error(#"{"x\"y":1,"x\"y":2}"#, reject) == .duplicateKey(key: #"x\"y"#, offset: 10))
        #expect(error(#"{"a":[{"b":1},{"b":2}],"c":{"a":1}}"#, reject) == nil)
        #expect(error(#"{"a":1,"a":2}"#) == nil)
    }
}

struct SerializerTests {
    static let sample: JSONValue = .object([
        ("b", .array([.int(1), .double(2.5), .null, .bool(true), .string("x\u{8}\u{C}\u{1}é😀")])),
        ("a", .object([])), ("c", .array([])),
        ("d", .object([("e", .double(1e-05)), ("f", .double(1e16)), ("g", .double(.nan)), ("h", .double(-.infinity)), ("i", .double(100))])),
    ])

    @Test func compactIsOneLineWithSafeNumbers() {
        #expect(Self.sample.serialized
            == #"{"b":[1,2.5,null,true,"x\u0008\u000c\u0001é😀"],"a":{},"c":[],"d":{"e":1e-05,"f":1e+16,"g":null,"h":null,"i":100}}"#)
    }

    /// Expected texts are Python's own: json.dumps(v, ensure_ascii=False[, indent=...][, separators=...]).
    @Test func pythonMatchesJSONDumps() {
        #expect(Self.sample.serialized(.python())
            == #"{"b": [1, 2.5, null, true, "x\b\f\u0001é😀"], "a": {}, "c": [], "d": {"e": 1e-05, "f": 1e+16, "g": NaN, "h": -Infinity, "i": 100.0}}"#)
        #expect(Self.sample.serialized(.python(indent: "  ")) == """
            {
              "b": [
                1,
                2.5,
                null,
                true,
                "x\\b\\f\\u0001é😀"
              ],
              "a": {},
              "c": [],
              "d": {
                "e": 1e-05,
                "f": 1e+16,
                "g": NaN,
                "h": -Infinity,
                "i": 100.0
              }
            }
            """)
        #expect(JSONValue.array([.int(1), .object([("k", .null)])]).serialized(.python(indent: "\t", itemSeparator: ";", keySeparator: "="))
            == "[\n\t1;\n\t{\n\t\t\"k\"=null\n\t}\n]")
    }

    @Test func literalsRoundTripWhenKept() throws {
        let text = #"{"const":1.50,"e":1E+2,"n":-0,"big":123456789012345678901234567890}"#
        let v = try JSONParser.parse(text)
        #expect(v.serialized == text)
        #expect(v.serialized(.python()) == #"{"const": 1.5, "e": 100.0, "n": 0, "big": 1.2345678901234568e+29}"#)
    }

    @Test func numbersCompareByValue() {
        #expect(JSONValue.int(1) == .double(1))
        #expect(JSONValue.int(1) != .double(1.5))
        #expect(JSONValue.object([("a", .int(1)), ("b", .null)]) != .object([("b", .null), ("a", .int(1))]))
    }

    @Test func quoteEscapesOnlyWhatJSONNeeds() {
        #expect(JSONValue.quote("a\"b\\c\n\r\t\u{7F}é") == #""a\"b\\c\n\r\t"# + "\u{7F}é\"")
    }
}
