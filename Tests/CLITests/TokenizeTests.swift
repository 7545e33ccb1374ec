import Foundation
import GGUF
import Testing
import TestSupport

@Suite struct TokenizeTests {
    /// A vocab-only GGUF (no tensors): byte-level tokens for every byte, one merge, one control token.
    static func tinyVocab() throws -> String {
        var tokens: [String] = []
        var n: UInt32 = 0
        for b in 0 ..< 256 {
            let direct = (33 ... 126).contains(b) || (161 ... 172).contains(b) || (174 ... 255).contains(b)
            tokens.append(String(Character(Unicode.Scalar(direct ? UInt32(b) : 256 + n)!)))
            if !direct { n += 1 }
        }
        tokens += ["ab", "<|end|>"]
        let types = [Int64](repeating: 1, count: 257) + [3]
        let meta: [(key: String, value: GGUFValue)] = [
            (GGUFKey.architecture, .string("llama")),
            (GGUFKey.tokenizerModel, .string("gpt2")),
            (GGUFKey.tokenizerPre, .string("gpt-2")),
            (GGUFKey.tokens, .array(.strings(tokens))),
            (GGUFKey.tokenTypes, .array(.integers(types, type: 5))),
            (GGUFKey.merges, .array(.strings(["a b"]))),
            (GGUFKey.bosID, .uint32(257)),
            (GGUFKey.addBOS, .bool(true)),
        ]
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlm-cli-vocab-\(UUID().uuidString).gguf").path
        try Data(GGUFWriter(metadata: meta).bytes()).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func vocabOnlyFile() throws {
        let vocab = try Self.tinyVocab()
        defer { try? FileManager.default.removeItem(atPath: vocab) }
        let lines = try runSwiftLM(["tokenize", vocab, "ab a\nb"])
        #expect(lines.status == 0, "stderr: \(lines.stderr)")
        #expect(lines.stdout == "256\tab\n32\t \n97\ta\n10\t\\n\n98\tb\n")
        let json = try runSwiftLM(["tokenize", vocab, "--json", "ab"])
        #expect(json.stdout == "[256]\n")
        // --bos adds what the metadata asks for; --special turns control-token text into the token.
        #expect(try runSwiftLM(["tokenize", vocab, "--json", "--bos", "ab"]).stdout == "[257,256]\n")
        #expect(try runSwiftLM(["tokenize", vocab, "--json", "--special", "<|end|>"]).stdout == "[257]\n")
        #expect(try runSwiftLM(["tokenize", vocab, "--json", "<|end|>"]).stdout != "[257]\n")
    }

    @Test func fileBytesExactly() throws {
        let vocab = try Self.tinyVocab()
        defer { try? FileManager.default.removeItem(atPath: vocab) }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlm-cli-in-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: input) }
        // A trailing newline and an invalid byte must both reach the tokenizer untouched.
        try Data([0x61, 0x62, 0xFF, 0x0A]).write(to: URL(fileURLWithPath: input))
        let r = try runSwiftLM(["tokenize", vocab, "--file", input])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        // 0xFF is U+FFFD (EF BF BD) to the byte-level pre-tokenizer, as in llama.cpp.
        #expect(r.stdout == "256\tab\n239\t\\xEF\n191\t\\xBF\n189\t\\xBD\n10\t\\n\n")
    }

    @Test func usageErrors() throws {
        let vocab = try Self.tinyVocab()
        defer { try? FileManager.default.removeItem(atPath: vocab) }
        let neither = try runSwiftLM(["tokenize", vocab])
        #expect(neither.status != 0 && neither.stderr.contains("--file"))
        let missing = try runSwiftLM(["tokenize", "/nonexistent/model.gguf", "hi"])
        #expect(missing.status == 1 && missing.stderr.hasPrefix("error:"))
        let unreadable = try runSwiftLM(["tokenize", vocab, "--file", "/nonexistent/input.txt"])
        #expect(unreadable.status != 0 && unreadable.stderr.contains("/nonexistent/input.txt"))
    }

    @Test(.enabled(if: RealModels.shouldRun("qwen2.5-coder:0.5b")))
    func realModel() throws {
        _ = try RealModels.path("qwen2.5-coder:0.5b")
        let r = try runSwiftLM(["tokenize", "qwen2.5-coder:0.5b", "--json", "Hello world"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout == "[9707,1879]\n")
        #expect(try runSwiftLM(["tokenize", "qwen2.5-coder:0.5b", "--json", "--special", "<|im_start|>user"]).stdout == "[151644,872]\n")
        let lines = try runSwiftLM(["tokenize", "qwen2.5-coder:0.5b", "早上好"]).stdout
        #expect(lines == "105083\t早上\n52801\t好\n")
    }
}
