import Foundation
import Grammar
import Testing

/// The llama.cpp example grammars, as shipped in Fixtures (scripts/make-grammar-fixtures).
enum GrammarFixtures {
    static var directory: URL {
        Bundle.module.url(forResource: "Fixtures/llama.cpp-grammars", withExtension: nil)!
    }

    static func names() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".gbnf") }.sorted()
    }

    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }
}

@Suite struct GBNFTests {
    @Test func everyLlamaCppGrammarParses() throws {
        let names = try GrammarFixtures.names()
        #expect(names.count == 8, "\(names)")
        for name in names {
            let text = try GrammarFixtures.text(name)
            let g = try Grammar(gbnf: text)
            #expect(g.ruleCount > 0, "\(name)")
            _ = EarleyRecognizer(try GBNFParser.parse(text))
        }
    }

    /// Both recognizers agree on hand-written accepting and rejecting inputs.
    @Test(arguments: [
        ("json.gbnf", #"{"a": [1, 2.5, "x", true, null], "b": {"c": "d\n\u00e9"}}"#, true),
        ("json.gbnf", #"{"a": }"#, false),
        ("json.gbnf", #"[1, 2]"#, false),
        ("json.gbnf", "{\"é ☃ 😀\": -0.5e9}", true),
        ("arithmetic.gbnf", "a+b*3=(x)\n", true),
        ("arithmetic.gbnf", "a+=b\n", false),
        ("chess.gbnf", "1. e4 e5\n2. Nf3 Nc6\n", true),
        ("chess.gbnf", "1. e9 e5\n2. Nf3 Nc6\n", false),
        ("list.gbnf", "- one\n- two\n", true),
        ("list.gbnf", "- one\n-two\n", false),
        ("japanese.gbnf", "こんにちは 世界", true),
        ("japanese.gbnf", "hello", false),
        ("english.gbnf", "Hello, world!", true),
        ("c.gbnf", "int main(){return 0;}", true),
        ("json_arr.gbnf", "[\n{\"a\": 1},\n2]", true),
    ])
    func recognizersAgree(file: String, text: String, valid: Bool) throws {
        let source = try GrammarFixtures.text(file)
        let g = try Grammar(gbnf: source)
        #expect(Recognizer.matches(g, text) == valid)
        #expect(EarleyRecognizer(try GBNFParser.parse(source)).recognizes(text) == valid)
    }

    @Test func syntaxFeatures() throws {
        let g = try Grammar(gbnf: """
            # comment
            root ::= "a"{2} x{1,3} y{2,} z? "\\x41\\u00e9\\U0001F600" [^a-c] .
            x ::= "x"
            y ::= [0-9]
            z ::= ( "p" | "q" )+
            """)
        #expect(Recognizer.matches(g, "aax00pqAé😀dz"))
        #expect(Recognizer.matches(g, "aaxxx123Aé😀é☃"))
        #expect(!Recognizer.matches(g, "axx00Aé😀dz"))
        #expect(!Recognizer.matches(g, "aaxxxx00Aé😀dz"))
        #expect(!Recognizer.matches(g, "aax0Aé😀dz"))
        #expect(!Recognizer.matches(g, "aax00Aé😀bz"))
    }

    @Test func errorsNameTheProblem() {
        #expect(grammarError { _ = try Grammar(gbnf: "a ::= \"x\"") } == .missingRoot)
        #expect(grammarError { _ = try Grammar(gbnf: "root ::= b") } == .undefinedRule("b"))
        #expect(grammarError { _ = try Grammar(gbnf: "root ::= root \"x\" | \"y\"") } == .leftRecursion(rule: "root"))
        guard case .unsupportedSyntax? = grammarError({ _ = try Grammar(gbnf: "root ::= <[1000]>") }) else {
            Issue.record("token references parsed")
            return
        }
        guard case let .syntax(line, _, message)? = grammarError({ _ = try Grammar(gbnf: "root ::= \"a\"\nx ::= [a-") }) else {
            Issue.record("an unterminated class parsed")
            return
        }
        #expect(line == 2)
        #expect(message.contains("class"))
    }

    /// A character class over bytes: every code point of the class, and no other, is accepted.
    @Test func unicodeClassesMatchExactlyTheirCodePoints() throws {
        let g = try Grammar(gbnf: #"root ::= [a-zé-ü\u0400-\u04FF\U0001F300-\U0001F5FF]"#)
        let inside: [UInt32] = [0x61, 0x7A, 0xE9, 0xFC, 0x400, 0x4FF, 0x1F300, 0x1F5FF]
        let outside: [UInt32] = [0x60, 0x7B, 0xE8, 0xFD, 0x3FF, 0x500, 0x1F2FF, 0x1F600, 0xFFFF, 0x10FFFF]
        for c in inside { #expect(Recognizer.matches(g, String(Unicode.Scalar(c)!)), "\(c)") }
        for c in outside { #expect(!Recognizer.matches(g, String(Unicode.Scalar(c)!)), "\(c)") }
        let negated = try Grammar(gbnf: #"root ::= [^a]"#)
        for c: UInt32 in [0x62, 0x7FF, 0x800, 0xFFFF, 0x10000, 0x10FFFF] { #expect(Recognizer.matches(negated, String(Unicode.Scalar(c)!)), "\(c)") }
        #expect(!Recognizer.matches(negated, "a"))
        // Invalid UTF-8 never matches, even byte by byte.
        var r = Recognizer(negated)
        let fed = r.feed([0xC0, 0x80])
        #expect(!fed)
    }
}
