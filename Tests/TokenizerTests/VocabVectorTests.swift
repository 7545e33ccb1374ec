import Testing
import Tokenizer

/// 100% agreement with llama.cpp's own tokenizer vectors, one vocabulary per pre-tokenizer family.
@Suite struct VocabVectorTests {
    static let vocabularies = [
        "gpt-2", "llama-bpe", "llama-spm", "phi-3", "qwen2", "deepseek-llm", "deepseek-coder",
        "starcoder", "falcon", "refact", "command-r", "mpt", "qwen35", "tekken", "gpt-4o",
    ]

    /// A vocabulary whose vectors are in Fixtures/vocab but not in `vocabularies` would go untested.
    @Test func everyVocabularyWithVectorsIsTested() throws {
        let present = try VocabFixtures.namesWithVectors()
        #expect(present.count >= Self.vocabularies.count)
        #expect(Set(present) == Set(Self.vocabularies), "untested: \(Set(present).subtracting(Self.vocabularies).sorted())")
    }

    /// The pre-tokenizers that GGUFs of the families SwiftLM runs carry are all implemented: Llama 3
    /// (`llama-bpe`), Qwen 2/3 (`qwen2`), DeepSeek-R1 distills (`deepseek-r1-qwen`), Mistral Nemo /
    /// Ministral / Mistral Small 3 (`tekken`), Phi-4-mini (`gpt-4o`), cl100k-style (`dbrx`), OLMo
    /// (`olmo`), refact-style (`refact`), SmolLM (`smollm`). Phi-3 and Gemma are SentencePiece. An
    /// unknown name is refused rather than split some other way.
    @Test func familiesPreTokenizersAreKnown() throws {
        let families = ["llama-bpe", "qwen2", "deepseek-r1-qwen", "tekken", "gpt-4o", "dbrx", "olmo", "refact", "smollm"]
        for pre in families {
            #expect(Tokenizer.knownPreTokenizers.contains(pre), "\(pre)")
        }
        #expect(throws: TokenizerError.self) { try VocabFixtures.tokenizer("llama-bpe", pre: "no-such-pre") }
    }

    @Test(arguments: vocabularies)
    func matchesLlamaCpp(_ name: String) throws {
        let tok = try VocabFixtures.vectorsTokenizer(name)
        let cases = try VocabFixtures.cases(name)
        #expect(cases.count > 20)
        var failures = 0
        for (k, c) in cases.enumerated() {
            let got = tok.encode(c.text, addSpecial: false, parseSpecial: false)
            if got != c.ids {
                failures += 1
                Issue.record("\(name) case \(k) \(c.text.debugDescription): got \(got), expected \(c.ids)")
            }
        }
        #expect(failures == 0, "\(failures) of \(cases.count) cases differ")
    }

    @Test(arguments: vocabularies)
    func decodeInvertsEncode(_ name: String) throws {
        let tok = try VocabFixtures.vectorsTokenizer(name)
        for c in try VocabFixtures.cases(name) {
            // Byte-level BPE spells every byte; SentencePiece drops nothing but the prefix space it adds.
            let ids = tok.encode(c.text, addSpecial: false, parseSpecial: false)
            #expect(tok.decode(ids) == c.text, "\(name): \(c.text.debugDescription)")
        }
    }
}
