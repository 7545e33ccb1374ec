import Foundation
import GGUF
import TestSupport
import Tokenizer

/// llama.cpp's tokenizer vectors (`models/ggml-vocab-*.gguf` with `.inp` / `.out`), copied into
/// Fixtures/vocab. Each input ends with a line `__ggml_vocab_test__`; the matching `.out` line holds
/// the ids, tokenized without BOS / EOS and without special parsing (tests/test-tokenizer-0.cpp).
enum VocabFixtures {
    static let directory: URL = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/vocab")

    static func path(_ name: String) -> String {
        directory.appendingPathComponent("ggml-vocab-\(name).gguf").path
    }

    static func tokenizer(_ name: String) throws -> Tokenizer {
        try Tokenizer(gguf: GGUFFile(path: path(name)))
    }

    /// Vocabularies whose test vectors run on another file's vocabulary with only `tokenizer.ggml.pre`
    /// rewritten: Qwen 3.5 ships the Qwen 2 vocabulary with `qwen35` (llama.cpp's own vectors); for
    /// Tekken and GPT-4o, whose vocabularies are not in llama.cpp's models/, the vectors come from
    /// scripts/make-pretokenizer-fixtures.py, which tokenizes with llama.cpp on the Llama 3 vocabulary.
    /// Rewriting saves a second multi-megabyte copy of the same tokens.
    static let rewrittenPre = ["qwen35": "qwen2", "tekken": "llama-bpe", "gpt-4o": "llama-bpe"]

    /// The tokenizer for the test vectors called `name`.
    static func vectorsTokenizer(_ name: String) throws -> Tokenizer {
        guard let base = rewrittenPre[name] else { return try tokenizer(name) }
        return try tokenizer(base, pre: name)
    }

    /// `base`'s vocabulary with `tokenizer.ggml.pre` set to `pre`.
    static func tokenizer(_ base: String, pre: String) throws -> Tokenizer {
        let src = try GGUFFile(path: path(base))
        var meta = src.metadata
        guard let i = meta.firstIndex(where: { $0.key == GGUFKey.tokenizerPre }) else { throw FixtureError.bad("no pre") }
        meta[i].value = .string(pre)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlm-vocab-\(pre)-\(UUID().uuidString).gguf")
        try Data(GGUFWriter(metadata: meta).bytes()).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try Tokenizer(gguf: GGUFFile(path: url.path))
    }

    /// Every vocabulary that has test vectors (`ggml-vocab-NAME.gguf.inp`) in Fixtures/vocab.
    static func namesWithVectors() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasPrefix("ggml-vocab-") && $0.hasSuffix(".gguf.inp") }
            .map { String($0.dropFirst("ggml-vocab-".count).dropLast(".gguf.inp".count)) }
            .sorted()
    }

    /// (input, expected ids) pairs of a vocabulary's test vectors.
    static func cases(_ name: String) throws -> [(text: String, ids: [Int32])] {
        let inp = try Data(contentsOf: URL(fileURLWithPath: path(name) + ".inp"))
        let out = try String(contentsOf: URL(fileURLWithPath: path(name) + ".out"), encoding: .utf8)
        let sep = Array("\n__ggml_vocab_test__\n".utf8)
        var inputs: [[UInt8]] = []
        let raw = [UInt8](inp)
        var pos = 0
        while pos < raw.count {
            var next: Int? = nil
            var i = pos
            while i + sep.count <= raw.count {
                if raw[i] == sep[0], Array(raw[i ..< i + sep.count]) == sep { next = i; break }
                i += 1
            }
            guard let n = next else { inputs.append(Array(raw[pos...])); break }
            inputs.append(Array(raw[pos ..< n]))
            pos = n + sep.count
        }
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= inputs.count else { throw FixtureError.bad("\(name): \(inputs.count) inputs, \(lines.count) outputs") }
        return inputs.enumerated().map { k, bytes in
            let ids = lines[k].split(separator: " ").compactMap { Int32($0) }
            return (String(decoding: bytes, as: UTF8.self), ids)
        }
    }
}

enum FixtureError: Error { case bad(String) }
