import Foundation
import GGUF
import Testing
import TestSupport
import Tokenizer

@Suite struct SpecialTokenTests {
    @Test func controlTokensOnlyWithParseSpecial() throws {
        let tok = try VocabFixtures.tokenizer("qwen2")
        let imStart = try #require(tok.tokenID(forText: "<|im_start|>"))
        let text = "<|im_start|>user\nhi"
        let parsed = tok.encode(text, addSpecial: false, parseSpecial: true)
        #expect(parsed.first == imStart)
        let plain = tok.encode(text, addSpecial: false, parseSpecial: false)
        #expect(!plain.contains(imStart))
        #expect(tok.decode(plain) == text)
        // Control tokens render only when asked.
        #expect(tok.decode(parsed) == "user\nhi")
        #expect(tok.decode(parsed, renderSpecial: true) == text)
    }

    @Test func bosAndEOSFollowMetadata() throws {
        let bpe = try VocabFixtures.tokenizer("llama-bpe")
        #expect(bpe.addBOS) // Llama 3's default
        #expect(bpe.encode("hi", addSpecial: true, parseSpecial: false).first == bpe.bosID)
        #expect(bpe.encode("hi", addSpecial: false, parseSpecial: false).first != bpe.bosID)
        let gpt2 = try VocabFixtures.tokenizer("gpt-2")
        #expect(gpt2.encode("hi", addSpecial: true, parseSpecial: false) == gpt2.encode("hi", addSpecial: false, parseSpecial: false))
    }

    /// A vocabulary written by hand: longest special token wins, user-defined tokens match even
    /// without special parsing, an unknown pre-tokenizer is an error naming the known ones.
    @Test func handMadeVocabulary() throws {
        // Byte-level spellings: every single byte is a token, plus specials.
        var tokens: [String] = []
        var types: [Int32] = []
        for b in 0 ..< 256 { tokens.append(Self.byteLevel(UInt8(b))); types.append(1) }
        tokens += ["<|a|>", "<|a|>b", "<x>"]
        types += [3, 3, 4]
        func file(pre: String) throws -> GGUFFile {
            let meta: [(key: String, value: GGUFValue)] = [
                (GGUFKey.tokenizerModel, .string("gpt2")),
                (GGUFKey.tokenizerPre, .string(pre)),
                (GGUFKey.tokens, .array(.strings(tokens))),
                (GGUFKey.tokenTypes, .array(.integers(types.map(Int64.init), type: 5))),
                (GGUFKey.merges, .array(.strings([]))),
            ]
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlm-tok-\(UUID().uuidString).gguf")
            try Data(GGUFWriter(metadata: meta).bytes()).write(to: url)
            defer { try? FileManager.default.removeItem(at: url) }
            return try GGUFFile(path: url.path)
        }
        let tok = try Tokenizer(gguf: file(pre: "gpt-2"))
        #expect(tok.encode("<|a|>b", addSpecial: false, parseSpecial: true) == [257])
        #expect(tok.encode("q<|a|>", addSpecial: false, parseSpecial: true) == [113, 256])
        #expect(tok.encode("<x>", addSpecial: false, parseSpecial: false) == [258])
        #expect(tok.encode("<|a|>", addSpecial: false, parseSpecial: false).count == 5)
        #expect(tok.decode(tok.encode("\u{0}\u{7f} é", addSpecial: false, parseSpecial: false)) == "\u{0}\u{7f} é")
        // Invalid UTF-8 from a file: byte-level BPE sees U+FFFD per bad byte, as llama.cpp does.
        #expect(tok.encode(bytes: [0x61, 0xFF, 0x62], addSpecial: false, parseSpecial: false) == [97, 0xEF, 0xBF, 0xBD, 98])

        let unknown = try file(pre: "no-such-pre")
        #expect(throws: TokenizerError.self) { try Tokenizer(gguf: unknown) }
        do {
            _ = try Tokenizer(gguf: unknown)
        } catch {
            #expect(error.description.contains("qwen2") && error.description.contains("no-such-pre"))
        }
        let fallback = try Tokenizer(gguf: file(pre: ""))
        #expect(fallback.preTokenizerName == "default" && !fallback.warnings.isEmpty)
    }

    @Test func missingVocabularyIsAnError() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlm-tok-\(UUID().uuidString).gguf")
        try Data(GGUFWriter(metadata: [(GGUFKey.architecture, .string("llama"))]).bytes()).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: TokenizerError.missingKey(GGUFKey.tokenizerModel)) { try Tokenizer(gguf: GGUFFile(path: url.path)) }
    }

    static func byteLevel(_ b: UInt8) -> String {
        var n: UInt32 = 0
        for x in 0 ..< 256 {
            let direct = (33 ... 126).contains(x) || (161 ... 172).contains(x) || (174 ... 255).contains(x)
            if x == Int(b) { return String(Character(Unicode.Scalar(direct ? UInt32(x) : 256 + n)!)) }
            if !direct { n += 1 }
        }
        return ""
    }
}
