import Foundation
import Testing
import TestSupport

@Suite struct EmbedTests {
    @Test func embedsWithJSONOutput() throws {
        guard let path = try RealModels.pathOrSkip("all-minilm:22m") else { return }
        let r = try runSwiftLM(["embed", path, "早上好", "Good morning", "--json"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(object["model"] as? String == path)
        let vectors = try #require(object["embeddings"] as? [[Double]])
        #expect(vectors.count == 2)
        for v in vectors {
            #expect(v.count == 384)
            #expect(abs(v.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4)
        }
        // Plain output: one line of space-separated floats per input, the same values.
        let plain = try runSwiftLM(["embed", path, "早上好"])
        #expect(plain.status == 0)
        let values = plain.stdout.split(separator: "\n").first.map { $0.split(separator: " ").compactMap { Double($0) } } ?? []
        #expect(values == vectors[0])
    }

    @Test func embedsTheLinesOfAFile() throws {
        guard let path = try RealModels.pathOrSkip("all-minilm:22m") else { return }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlm-embed-\(UUID().uuidString).txt")
        try "first line\n\nsecond line\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let r = try runSwiftLM(["embed", path, "--file", file.path])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout.split(separator: "\n").count == 2)
    }

    @Test func needsTextOrFile() throws {
        let r = try runSwiftLM(["embed", "all-minilm:22m"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--file"))
    }
}
