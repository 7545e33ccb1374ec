import Foundation
import Store
import Testing
import TestSupport

@Suite struct ListRemoveTests {
    @Test func listIsMostRecentFirstAndCopySharesTheBlob() async throws {
        let fixture = try HTTPFixture()
        defer { fixture.cleanup() }
        _ = try await fixture.store.pull(url: fixture.url, name: "old")
        try await Task.sleep(nanoseconds: 1_100_000_000)  // manifests keep whole seconds
        let copy = try fixture.store.copy("old", to: "new:v2")
        #expect(copy.name == "new:v2" && copy.digest == fixture.store.list().last?.digest)
        #expect(fixture.store.list().map(\.name) == ["new:v2", "old:latest"], "as ollama list: last modified first")
        #expect(fixture.files("blobs").count == 1, "a copy is a second manifest, not a second blob")
        #expect(throws: StoreError.alreadyExists(name: "new:v2")) { try fixture.store.copy("old", to: "new:v2") }
        #expect(throws: StoreError.notInStore(name: "nope")) { try fixture.store.copy("nope", to: "x") }
        #expect(throws: StoreError.self) { try fixture.store.copy("old", to: "../escape") }
    }

    @Test func aModelWhoseBlobIsGoneIsNotIntact() async throws {
        let fixture = try HTTPFixture()
        defer { fixture.cleanup() }
        let pulled = try await fixture.store.pull(url: fixture.url, name: "m")
        #expect(fixture.store.isIntact(pulled.manifest))
        try FileManager.default.removeItem(atPath: pulled.path)
        #expect(!fixture.store.isIntact(pulled.manifest))
        #expect(!fixture.store.isPulled("m"))
    }

    @Test func removeKeepsSharedBlobUntilLastReference() async throws {
        let fixture = try HTTPFixture()
        defer { fixture.cleanup() }
        let a = try await fixture.store.pull(url: fixture.url, name: "a:1")
        _ = try await fixture.store.pull(url: fixture.url, name: "b")
        #expect(fixture.store.list().map(\.name).sorted() == ["a:1", "b:latest"])
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
