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

    /// Qwen 3.5 ships the Qwen 2 vocabulary with `tokenizer.ggml.pre = qwen35`; instead of a second
    /// 6 MB copy we rewrite the Qwen 2 file's metadata.
    static func qwen35Tokenizer() throws -> Tokenizer {
        let src = try GGUFFile(path: path("qwen2"))
        var meta = src.metadata
        guard let i = meta.firstIndex(where: { $0.key == GGUFKey.tokenizerPre }) else { throw FixtureError.bad("no pre") }
        meta[i].value = .string("qwen35")
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlm-vocab-qwen35-\(UUID().uuidString).gguf")
        try Data(GGUFWriter(metadata: meta).bytes()).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try Tokenizer(gguf: GGUFFile(path: url.path))
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
