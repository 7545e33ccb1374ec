import Foundation
import GGUF
import Testing
import TestSupport
import Tokenizer

/// BERT's WordPiece (`tokenizer.ggml.model = bert`).
@Suite struct WordPieceTests {
    /// A tiny phantom-space vocabulary, as llama.cpp's converter writes one: `▁` marks word-initial
    /// pieces, continuations are bare, control tokens keep their text.
    static func tokenizer(cased: Bool = false, extra: [(key: String, value: GGUFValue)] = []) throws -> Tokenizer {
        let control = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
        let normal = ["▁un", "aff", "able", "▁hello", "▁,", "▁!", "▁中", "▁a", "▁cafe", "▁x"] + (cased ? ["▁Hello"] : [])
        let tokens = control + normal
        let types = [Int64](repeating: 3, count: control.count) + [Int64](repeating: 1, count: normal.count)
        let meta: [(key: String, value: GGUFValue)] = [
            (GGUFKey.architecture, .string("bert")),
            (GGUFKey.tokenizerModel, .string("bert")),
            (GGUFKey.tokens, .array(.strings(tokens))),
            (GGUFKey.tokenTypes, .array(.integers(types, type: 5))),
            (GGUFKey.bosID, .uint32(2)),
            (GGUFKey.eosID, .uint32(3)),
            (GGUFKey.unknownID, .uint32(1)),
            (GGUFKey.separatorID, .uint32(3)),
            (GGUFKey.paddingID, .uint32(0)),
        ] + extra
        return try Tokenizer(gguf: GGUFFile(mapping: MappedFile(copying: GGUFWriter(metadata: meta).bytes(), name: "wpm.gguf")))
    }

    @Test func greedyLongestMatchWithContinuations() throws {
        let t = try Self.tokenizer()
        // un + ##aff + ##able; punctuation split off; upper case and accents folded (uncased vocabulary).
        #expect(t.encode("Unaffable, HELLO!", addSpecial: false, parseSpecial: false) == [4, 5, 6, 8, 7, 9])
        #expect(t.encode("Café", addSpecial: false, parseSpecial: false) == [12])
        // A word with no complete segmentation is one [UNK], even after a matching prefix.
        #expect(t.encode("unx hello", addSpecial: false, parseSpecial: false) == [1, 7])
        // CJK ideographs are words of their own; an unknown one is [UNK] alone.
        #expect(t.encode("中文a", addSpecial: false, parseSpecial: false) == [10, 1, 11])
        // More than 100 characters: [UNK] without trying (100 would be split, if the vocabulary allowed).
        #expect(t.encode(String(repeating: "x", count: 101), addSpecial: false, parseSpecial: false) == [1])
        // [CLS] ... [SEP]; special-token text only with parseSpecial.
        #expect(t.encode("hello", addSpecial: true, parseSpecial: false) == [2, 7, 3])
        #expect(t.encode("[SEP]hello", addSpecial: false, parseSpecial: true) == [3, 7])
        #expect(t.specialSuffix == [3])
        // White space and control characters only: nothing.
        #expect(t.encode(" \t\n\u{200B}\u{0007} ", addSpecial: false, parseSpecial: false).isEmpty)
        // Decoding renders word-initial pieces with their space.
        #expect(String(decoding: t.pieceBytes(7), as: UTF8.self) == " hello")
    }

    @Test func casedVocabularyKeepsCase() throws {
        let t = try Self.tokenizer(cased: true)
        #expect(t.encode("Hello hello", addSpecial: false, parseSpecial: false) == [14, 7])
        #expect(t.encode("café", addSpecial: false, parseSpecial: false) == [1]) // accent kept: no match
    }

    /// The normalizer flags `swiftlm create` keeps override what the vocabulary suggests.
    @Test func normalizerFlagsFromMetadata() throws {
        let keepCase = try Self.tokenizer(extra: [(GGUFKey.normalizerLowercase, .bool(false))])
        #expect(keepCase.encode("HELLO hello", addSpecial: false, parseSpecial: false) == [1, 7])
        let keepAccents = try Self.tokenizer(extra: [(GGUFKey.normalizerLowercase, .bool(true)),
                                                     (GGUFKey.normalizerStripAccents, .bool(false))])
        #expect(keepAccents.encode("CAFÉ Cafe", addSpecial: false, parseSpecial: false) == [1, 12])
    }

    struct Case: Decodable {
        var text: String
        var plain: [Int32]
        var special: [Int32]
    }

    struct Fixture: Decodable { var cases: [Case] }

    /// Ids identical to Hugging Face `tokenizers` on the package's tokenizer.json
    /// (Fixtures/wordpiece-minilm.json, made by scripts/make-embedding-fixtures.py): the BPE test strings
    /// plus accents, CJK, punctuation runs, control characters and very long words. Hugging Face always
    /// matches its added tokens ([CLS] ...) in the text, so special parsing is on.
    @Test func matchesHuggingFaceTokenizers() throws {
        guard let path = try RealModels.pathOrSkip("all-minilm:22m") else { return }
        let t = try Tokenizer(gguf: GGUFFile(path: path))
        let url = try #require(Bundle.module.url(forResource: "Fixtures/wordpiece-minilm", withExtension: "json"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        #expect(fixture.cases.count > 100)
        var mismatches = 0
        for c in fixture.cases {
            let plain = t.encode(c.text, addSpecial: false, parseSpecial: true)
            let special = t.encode(c.text, addSpecial: true, parseSpecial: true)
            if plain != c.plain || special != c.special { mismatches += 1 }
            #expect(plain == c.plain, "\(c.text.debugDescription)")
            #expect(special == c.special, "\(c.text.debugDescription)")
        }
        #expect(mismatches == 0)
    }
}
