import Testing
import Tokenizer

/// 100% agreement with llama.cpp's own tokenizer vectors, one vocabulary per pre-tokenizer family.
@Suite struct VocabVectorTests {
    static let vocabularies = [
        "gpt-2", "llama-bpe", "llama-spm", "phi-3", "qwen2", "deepseek-llm", "deepseek-coder",
        "starcoder", "falcon", "refact", "command-r", "mpt", "qwen35",
    ]

    @Test(arguments: vocabularies)
    func matchesLlamaCpp(_ name: String) throws {
        let tok = name == "qwen35" ? try VocabFixtures.qwen35Tokenizer() : try VocabFixtures.tokenizer(name)
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
        let tok = name == "qwen35" ? try VocabFixtures.qwen35Tokenizer() : try VocabFixtures.tokenizer(name)
        for c in try VocabFixtures.cases(name) {
            // Byte-level BPE spells every byte; SentencePiece drops nothing but the prefix space it adds.
            let ids = tok.encode(c.text, addSpecial: false, parseSpecial: false)
            #expect(tok.decode(ids) == c.text, "\(name): \(c.text.debugDescription)")
        }
    }
}
