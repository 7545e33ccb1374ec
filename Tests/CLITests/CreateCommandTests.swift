import Foundation
import Testing
import TestSupport

/// `swiftlm create` end to end: a Hugging Face folder (the import tests' tiny llama) becomes a
/// registered model that `list` shows and `run` generates with; bad input gets one clear error line.
@Suite struct CreateCommandTests {
    static var tinyLlama: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ImportTests/Fixtures/tiny-llama").path
    }

    @Test func createsListsAndRuns() throws {
        let (dir, cleanup) = try makeTemporaryDirectory()
        defer { cleanup() }
        let env = ["SWIFTLM_MODELS": dir + "/store"]
        let created = try runSwiftLM(["create", "tiny:test", "--from", Self.tinyLlama, "--quantize", "q8_0"], env: env)
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("created tiny:test"))
        #expect(created.stdout.contains("llama Q8_0"))
        #expect(created.stderr.contains("converting"))
        let list = try runSwiftLM(["list"], env: env)
        #expect(list.stdout.contains("tiny:test"))
        let run = try runSwiftLM(["run", "tiny:test", "The quick", "--num-predict", "4", "--temperature", "0"], env: env)
        #expect(run.status == 0, "\(run.stderr)")
    }

    @Test func errorsAreOneLine() throws {
        let (dir, cleanup) = try makeTemporaryDirectory()
        defer { cleanup() }
        try """
        {"architectures": ["MambaForCausalLM"], "hidden_size": 8}
        """.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        let env = ["SWIFTLM_MODELS": dir + "/store"]
        let r = try runSwiftLM(["create", "m", "--from", dir], env: env)
        #expect(r.status == 1)
        #expect(r.stderr.contains("error: cannot create 'm:latest': architecture 'MambaForCausalLM' cannot be converted"))
        let q = try runSwiftLM(["create", "m", "--from", dir, "--quantize", "q3_K"], env: env)
        #expect(q.status != 0 && q.stderr.contains("--quantize must be one of"))
    }
}
