import Foundation
import Testing
import TestSupport

/// The fields of `swiftlm show --json` that scripts/make-show-fixtures.py computes independently
/// (with llama.cpp's `gguf` Python package).
struct ShowJSON: Decodable, Equatable {
    var architecture: String
    var name: String?
    var parameters: Int
    var context_length: Int?
    var embedding_length: Int?
    var block_count: Int?
    var head_count: Int?
    var head_count_kv: Int?
    var file_type: String?
    var tensor_types: [String: Int]
    var tensor_count: Int
    var vocab_size: Int?
    var tokenizer: String?
    var tokenizer_pre: String?
    var chat_template: String?
    var license: String?
    var file_size: Int
    var gguf_version: Int
}

struct ShowFixture: Decodable {
    var model: String
    var expected: ShowJSON
}

func loadShowFixture(_ model: String) throws -> ShowFixture {
    let file = "show-" + model.replacingOccurrences(of: ":", with: "-")
    let url = try #require(Bundle.module.url(forResource: file, withExtension: "json", subdirectory: "Fixtures"))
    return try JSONDecoder().decode(ShowFixture.self, from: Data(contentsOf: url))
}

@Suite struct CLIRunnerTests {
    @Test func runsTheBuiltBinary() throws {
        let r = try runSwiftLM(["--help"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout.contains("show"))
    }

    @Test func passesEnvironmentAndStdin() throws {
        // `show` on a missing store name reports the store directory from $SWIFTLM_MODELS.
        let r = try runSwiftLM(["show", "no-such-model:1b"], env: ["SWIFTLM_MODELS": "/nonexistent-store"], stdin: "ignored\n")
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("error: "), "\(r.stderr)")
    }
}

@Suite struct ShowTests {
    static let models = ["smollm2:135m", "qwen2.5-coder:0.5b", "gemma3:270m"]

    @Test(arguments: models)
    func jsonMatchesTheReferenceReader(model: String) throws {
        guard try RealModels.pathOrSkip(model) != nil else { return }
        let fixture = try loadShowFixture(model)
        #expect(fixture.model == model)
        let r = try runSwiftLM(["show", model, "--json"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let data = Data(r.stdout.utf8)
        let actual = try JSONDecoder().decode(ShowJSON.self, from: data)
        #expect(actual == fixture.expected)
        // Absent values are written as null, never dropped: every documented key is always present.
        let keys = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any]).keys
        for key in ["architecture", "parameters", "context_length", "embedding_length", "block_count", "head_count",
                    "head_count_kv", "file_type", "tensor_types", "vocab_size", "tokenizer", "chat_template"] {
            #expect(keys.contains(key), "missing \(key)")
        }
    }

    @Test(arguments: models)
    func humanOutputByNameAndByPath(model: String) throws {
        guard let path = try RealModels.pathOrSkip(model) else { return }
        let expected = try loadShowFixture(model).expected
        let byName = try runSwiftLM(["show", model])
        #expect(byName.status == 0, "stderr: \(byName.stderr)")
        #expect(byName.stderr.isEmpty)
        for line in ["architecture        \(expected.architecture)", "layers              \(expected.block_count!)",
                     "file type           \(expected.file_type!)", "vocab size          \(expected.vocab_size!)",
                     "KV heads            \(expected.head_count_kv!)"] {
            #expect(byName.stdout.contains(line), "missing '\(line)' in:\n\(byName.stdout)")
        }
        #expect(byName.stdout.contains(expected.chat_template == nil ? "none (base model)" : "chat template       yes"))
        let byPath = try runSwiftLM(["show", path])
        #expect(byPath.status == 0 && byPath.stdout == byName.stdout)
    }

    /// The features row on a real model: Gemma 3 windows 5 of every 6 layers, with Q/K norms and
    /// norms on both sides of each sub-layer.
    @Test func featuresRow() throws {
        guard try RealModels.pathOrSkip("gemma3:270m") != nil else { return }
        let r = try runSwiftLM(["show", "gemma3:270m"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let line = "features            sliding window 512 on 5 of every 6 layers; Q/K norm; pre- and post-norms\n"
        #expect(r.stdout.contains(line), "\(r.stdout)")
    }

    @Test func parameterLabelAndTemplate() throws {
        guard try RealModels.pathOrSkip("qwen2.5-coder:0.5b") != nil else { return }
        let r = try runSwiftLM(["show", "qwen2.5-coder:0.5b"])
        // 630,167,424 tensor elements: this file stores output.weight separately from token_embd.
        #expect(r.stdout.contains("parameters          630.2M"), "\(r.stdout)")
        let t = try runSwiftLM(["show", "qwen2.5-coder:0.5b", "--template"])
        #expect(t.status == 0 && t.stdout.contains("<|im_start|>"))
    }

    @Test func baseModelHasNoTemplate() throws {
        guard try RealModels.pathOrSkip("gemma3:270m") != nil else { return }
        let t = try runSwiftLM(["show", "gemma3:270m", "--template"])
        #expect(t.status == 1 && t.stderr.hasPrefix("error: ") && t.stderr.contains("no chat template"), "\(t.stderr)")
        #expect(t.stderr.filter { $0 == "\n" }.count == 1)
    }

    @Test func verboseListsMetadata() throws {
        guard try RealModels.pathOrSkip("smollm2:135m") != nil else { return }
        let r = try runSwiftLM(["show", "smollm2:135m", "--verbose"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("tokenizer.ggml.tokens = [49152 × STRING]"), "\(r.stdout)")
        #expect(r.stdout.contains("general.architecture = \"llama\""))
    }

    /// A tiny file written by the test needs no store at all.
    @Test func tinyWrittenFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { dir.cleanup() }
        let path = try GGUFWriter(metadata: [
            ("general.architecture", .string("llama")), ("llama.context_length", .uint32(128)),
            ("llama.block_count", .uint32(1)), ("general.file_type", .uint32(7)),
            ("tokenizer.ggml.tokens", .array(.strings(["a", "b", "c"]))),
        ], tensors: [
            .init(name: "token_embd.weight", dimensions: [32, 3], type: .q8_0),
            .init(name: "output_norm.weight", dimensions: [32], type: .f32),
        ]).write(to: dir.path + "/tiny.gguf")
        let r = try runSwiftLM(["show", path, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let s = try JSONDecoder().decode(ShowJSON.self, from: Data(r.stdout.utf8))
        #expect(s.architecture == "llama" && s.parameters == 128 && s.context_length == 128 && s.block_count == 1)
        #expect(s.file_type == "Q8_0" && s.tensor_types == ["Q8_0": 1, "F32": 1] && s.vocab_size == 3)
        #expect(s.chat_template == nil && s.head_count == nil && s.license == nil)
    }
}
