import Foundation
import Store
import Testing
import TestSupport

@Suite struct ResolveTests {
    @Test func existingFilePathIsReturnedAsIs() throws {
        let dir = try makeTemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.path + "/x.gguf"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(sampleGGUF(floats: 8))))
        let store = ModelStore(root: dir.path + "/models")
        #expect(try store.resolve(path) == path)
        #expect(throws: StoreError.fileNotFound(path: dir.path + "/missing.gguf")) {
            try store.resolve(dir.path + "/missing.gguf")
        }
        #expect(throws: StoreError.fileNotFound(path: "nothere.gguf")) { try store.resolve("nothere.gguf") }
        // A directory is not a model file.
        #expect(throws: StoreError.isDirectory(path: dir.path + "/")) { try store.resolve(dir.path + "/") }
    }

    @Test func catalogModelNotPulledSaysHowToPull() throws {
        let store = ModelStore(root: "/nonexistent-swiftlm-store")
        let error = #expect(throws: StoreError.self) { try store.resolve("qwen2.5-coder:0.5b") }
        #expect(error == .notPulled(name: "qwen2.5-coder:0.5b"))
        #expect(error?.description == "model 'qwen2.5-coder:0.5b' is not pulled yet: run 'swiftlm pull qwen2.5-coder:0.5b'")
        #expect(throws: StoreError.notPulled(name: "gemma3:270m")) { try store.resolve("gemma3") }
    }

    @Test func unknownNameListsWhatExists() async throws {
        let fixture = try HTTPFixture()
        defer { fixture.cleanup() }
        _ = try await fixture.store.pull(url: fixture.url, name: "mine")
        let error = #expect(throws: StoreError.self) { try fixture.store.resolve("llama9:70b") }
        #expect(error == .unknownModel(name: "llama9:70b",
                                       available: ["mine:latest", "smollm2:135m", "qwen2.5-coder:0.5b", "gemma3:270m", "all-minilm:22m"]))
        #expect(error?.description.contains("mine:latest, smollm2:135m") == true)
        #expect(throws: StoreError.self) { try fixture.store.resolve("not a name") }
    }

    @Test func pulledNameResolvesToItsBlob() async throws {
        let fixture = try HTTPFixture()
        defer { fixture.cleanup() }
        let result = try await fixture.store.pull(url: fixture.url, name: "mine:v1")
        let path = try fixture.store.resolve("mine:v1")
        #expect(path == result.path && path.hasSuffix("/blobs/sha256-\(sha256Hex(fixture.body))"))
        #expect(FileManager.default.contents(atPath: path) == Data(fixture.body))
    }

    @Test func missingBlobIsReportedNotReturned() async throws {
        let fixture = try HTTPFixture()
        defer { fixture.cleanup() }
        let result = try await fixture.store.pull(url: fixture.url)
        try FileManager.default.removeItem(atPath: result.path)
        #expect(throws: StoreError.missingBlob(name: "model:latest", path: result.path)) {
            try fixture.store.resolve("model")
        }
        #expect(!fixture.store.isPulled("model"))
        // A pull repairs it.
        let again = try await fixture.store.pull(url: fixture.url)
        #expect(!again.alreadyPresent && FileManager.default.fileExists(atPath: again.path))
    }
}
