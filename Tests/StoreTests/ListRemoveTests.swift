import Foundation
import Store
import Testing
import TestSupport

@Suite struct ListRemoveTests {
    @Test func removeKeepsSharedBlobUntilLastReference() async throws {
        let fixture = try HTTPFixture()
        defer { fixture.cleanup() }
        let a = try await fixture.store.pull(url: fixture.url, name: "a:1")
        _ = try await fixture.store.pull(url: fixture.url, name: "b")
        #expect(fixture.store.list().map(\.name) == ["a:1", "b:latest"])
        #expect(fixture.files("blobs").count == 1)

        let removed = try fixture.store.remove("a:1")
        #expect(removed?.name == "a:1")
        #expect(fixture.store.list().map(\.name) == ["b:latest"])
        #expect(FileManager.default.fileExists(atPath: a.path), "b still uses the blob")

        try fixture.store.remove("b")
        #expect(fixture.store.list().isEmpty)
        #expect(fixture.files("blobs") == [] && fixture.files("manifests") == [])
        #expect(throws: StoreError.notInStore(name: "b")) { try fixture.store.remove("b") }
        #expect(throws: StoreError.notInStore(name: "smollm2")) { try fixture.store.remove("smollm2") }
    }

    @Test func listSkipsUnreadableManifestsButRmRemovesThem() async throws {
        let fixture = try HTTPFixture()
        defer { fixture.cleanup() }
        _ = try await fixture.store.pull(url: fixture.url, name: "good")
        let junk = fixture.store.root + "/manifests/junk:latest.json"
        #expect(FileManager.default.createFile(atPath: junk, contents: Data("{not json".utf8)))
        #expect(fixture.store.list().map(\.name) == ["good:latest"])
        let error = #expect(throws: StoreError.self) { try fixture.store.resolve("junk") }
        guard case .corruptManifest? = error else {
            Issue.record("expected corruptManifest, got \(String(describing: error))")
            return
        }
        try fixture.store.remove("junk")
        #expect(!FileManager.default.fileExists(atPath: junk))
        #expect(fixture.files("blobs").count == 1, "the good model's blob is untouched")
    }

    @Test func emptyOrMissingStoreListsNothing() {
        #expect(ModelStore(root: "/nonexistent-swiftlm-store").list().isEmpty)
    }

    @Test func rootComesFromArgumentThenEnvironment() {
        #expect(ModelStore(root: "/x/y").root == "/x/y")
        let env = ProcessInfo.processInfo.environment["SWIFTLM_MODELS"] ?? ""
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        let expected = env.isEmpty ? home + "/.swiftlm/models" : env
        #expect(ModelStore().root == expected)
    }
}
