import Foundation
import GGUF
import Testing
import TestSupport
import Tokenizer

/// The three catalog models against llama.cpp (fixtures from scripts/make-tokenizer-fixtures.py).
/// Only the metadata of the real files is read. In CI a missing model fails the test.
@Suite struct RealModelTests {
    struct Case: Decodable {
        let text: String
        let plain: [Int32]
        let bos: [Int32]
        let special: [Int32]
    }

    struct Model: Decodable {
        let file: String
        let cases: [Case]
    }

    struct Fixture: Decodable { let models: [String: Model] }

    static let fixture: Fixture = {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/real-models.json")
        return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }()

    static let names = ["smollm2:135m", "qwen2.5-coder:0.5b", "gemma3:270m"]

    @Test(arguments: names)
    func matchesLlamaCpp(_ name: String) throws {
        guard let path = try RealModels.pathOrSkip(name) else { return }
        let tok = try Tokenizer(gguf: GGUFFile(path: path))
        let model = try #require(Self.fixture.models[name])
        #expect(model.cases.count >= 80)
        for c in model.cases {
            #expect(tok.encode(c.text, addSpecial: false, parseSpecial: false) == c.plain, "\(name) plain \(c.text.debugDescription)")
            #expect(tok.encode(c.text, addSpecial: true, parseSpecial: false) == c.bos, "\(name) bos \(c.text.debugDescription)")
            #expect(tok.encode(c.text, addSpecial: false, parseSpecial: true) == c.special, "\(name) special \(c.text.debugDescription)")
        }
    }

    @Test(arguments: names)
    func roundTripsAndStreams(_ name: String) throws {
        guard let path = try RealModels.pathOrSkip(name) else { return }
        let tok = try Tokenizer(gguf: GGUFFile(path: path))
        for c in try #require(Self.fixture.models[name]).cases {
            // Plain text (no special parsing) is spelled exactly by every one of these vocabularies.
            #expect(tok.decode(c.plain) == c.text, "\(name): \(c.text.debugDescription)")
            // Special tokens render back as their text when asked to.
            #expect(tok.decode(c.special, renderSpecial: true) == c.text, "\(name): \(c.text.debugDescription)")
            var stream = StreamingDetokenizer(tokenizer: tok)
            var streamed = ""
            for id in c.plain { streamed += stream.append(id) }
            streamed += stream.finish()
            #expect(streamed == c.text)
        }
    }

    @Test(arguments: names)
    func metadata(_ name: String) throws {
        guard let path = try RealModels.pathOrSkip(name) else { return }
        let tok = try Tokenizer(gguf: GGUFFile(path: path))
        switch name {
        case "qwen2.5-coder:0.5b":
            #expect(tok.vocabularySize == 151_936)
            #expect(tok.model == "gpt2" && tok.preTokenizerName == "qwen2")
            #expect(tok.eosID == 151_645 && tok.bosID == 151_643 && !tok.addBOS && !tok.addEOS)
            let imEnd = try #require(tok.tokenID(forText: "<|im_end|>"))
            let endOfText = try #require(tok.tokenID(forText: "<|endoftext|>"))
            #expect(tok.isEndOfGeneration(imEnd) && tok.isEndOfGeneration(endOfText) && tok.isControl(imEnd))
            #expect(!tok.isEndOfGeneration(tok.encode("Hello", addSpecial: false, parseSpecial: false)[0]))
        case "smollm2:135m":
            #expect(tok.preTokenizerName == "smollm" && tok.eosID == 2 && !tok.addBOS)
            #expect(tok.isEndOfGeneration(2))
        default:
            #expect(tok.model == "llama" && tok.preTokenizerName == nil)
            #expect(tok.bosID == 2 && tok.eosID == 1 && tok.addBOS && !tok.addSpacePrefix)
            let eot = try #require(tok.tokenID(forText: "<end_of_turn>"))
            #expect(tok.isEndOfGeneration(eot) && tok.eotID == eot)
            #expect(tok.encode("hi", addSpecial: true, parseSpecial: false).first == 2)
            #expect(tok.pieceBytes(2, renderSpecial: false).isEmpty && tok.pieceBytes(2) == Array("<bos>".utf8))
        }
    }
}
