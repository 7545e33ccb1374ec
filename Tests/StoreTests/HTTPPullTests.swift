import Foundation
import Store
import Testing
import TestSupport

@Suite struct HTTPPullTests {
    @Test func pullRegistersVerifiedBlobAndManifest() async throws {
        let fixture = try HTTPFixture()
        defer { fixture.cleanup() }
        let digest = sha256Hex(fixture.body)
        var phases: [PullProgress.Phase] = []
        let result = try await fixture.store.pull(url: fixture.url, sha256: "sha256:" + digest.uppercased()) {
            if phases.last != $0.phase { phases.append($0.phase) }
        }
        #expect(!result.alreadyPresent)
        #expect(result.manifest.name == "model:latest")
        #expect(result.manifest.digest == "sha256:\(digest)")
        #expect(result.manifest.size == Int64(fixture.body.count))
        #expect(result.manifest.architecture == "llama" && result.manifest.quantization == "Q4_K_M")
        #expect(result.manifest.source == fixture.url)
        #expect(FileManager.default.contents(atPath: result.path) == Data(fixture.body))
        #expect(fixture.files("blobs") == ["sha256-\(digest)"])
        #expect(fixture.files("manifests") == ["model:latest.json"])
        #expect(fixture.files("partial") == [], "the partial download is cleaned up")
        #expect(phases.first == .downloading && phases.suffix(2) == [.verifying, .done])
        #expect(fixture.server.requests.count == 1 && fixture.server.requests[0].range == nil)

        let again = try await fixture.store.pull(url: fixture.url)
        #expect(again.alreadyPresent && again.manifest == result.manifest)
        #expect(fixture.server.requests.count == 1, "an already-present model is not downloaded again")

        let forced = try await fixture.store.pull(url: fixture.url, force: true)
        #expect(!forced.alreadyPresent && forced.manifest.digest == result.manifest.digest)
        #expect(fixture.server.requests.count == 2)
    }

    @Test func droppedConnectionIsResumedWithRangeWithinOnePull() async throws {
        let fixture = try HTTPFixture()
        defer { fixture.cleanup() }
        fixture.server.cutConnections(afterBytes: 300_000, times: 2)
        let result = try await fixture.store.pull(url: fixture.url, sha256: sha256Hex(fixture.body))
        #expect(FileManager.default.contents(atPath: result.path) == Data(fixture.body))
        #expect(fixture.server.requests.map(\.range) == [nil, "bytes=300000-", "bytes=600000-"])
    }

    @Test func interruptedPullLeavesNothingRegisteredAndNextPullResumes() async throws {
        let fixture = try HTTPFixture()
        defer { fixture.cleanup() }
        let digest = sha256Hex(fixture.body)
        fixture.server.cutConnections(afterBytes: 400_000, times: 1)
        let error = await #expect(throws: StoreError.self) {
            _ = try await fixture.store.pull(url: fixture.url, sha256: digest, retries: 0)
        }
        guard case .download? = error else {
            Issue.record("expected a download error, got \(String(describing: error))")
            return
        }
        #expect(fixture.files("manifests") == [] && fixture.files("blobs") == [])
        #expect(fixture.store.list().isEmpty)
        #expect(throws: StoreError.unknownModel(name: "model", available: Catalog.allNames)) {
            try fixture.store.resolve("model")
        }
        #expect(fixture.files("partial") == ["model:latest"])

        let result = try await fixture.store.pull(url: fixture.url, sha256: digest, retries: 0)
        #expect(result.manifest.digest == "sha256:\(digest)")
        #expect(FileManager.default.contents(atPath: result.path) == Data(fixture.body))
        let ranges = fixture.server.requests.map(\.range)
        #expect(ranges == [nil, "bytes=400000-"])
        #expect(fixture.server.requests[1].headers["if-range"] != nil, "resume is guarded by the ETag")
    }

    @Test func changedFileRestartsInsteadOfSplicing() async throws {
        let fixture = try HTTPFixture()
        defer { fixture.cleanup() }
        fixture.server.cutConnections(afterBytes: 500_000, times: 1)
        _ = try? await fixture.store.pull(url: fixture.url, retries: 0)
        let newBody = sampleGGUF(seed: 2)
        fixture.server.setFile("/model.gguf", body: newBody)
        let result = try await fixture.store.pull(url: fixture.url, sha256: sha256Hex(newBody), retries: 0)
        #expect(FileManager.default.contents(atPath: result.path) == Data(newBody))
        #expect(fixture.server.requests.last?.range == "bytes=500000-")
    }

    @Test func checksumMismatchIsRefusedAndNothingRegistered() async throws {
        let fixture = try HTTPFixture()
        defer { fixture.cleanup() }
        let wrong = String(repeating: "ab", count: 32)
        let error = await #expect(throws: StoreError.self) {
            _ = try await fixture.store.pull(url: fixture.url, name: "bad", sha256: wrong)
        }
        #expect(error == .checksumMismatch(name: "bad:latest", expected: wrong, actual: sha256Hex(fixture.body)))
        #expect(fixture.files("manifests") == [] && fixture.files("blobs") == [])
        #expect(fixture.files("partial") == [], "bytes known to be wrong are discarded")
        #expect(fixture.store.list().isEmpty)

        // The next pull starts from scratch rather than trusting the discarded bytes.
        _ = try await fixture.store.pull(url: fixture.url, name: "bad", sha256: sha256Hex(fixture.body))
        #expect(fixture.server.requests.map(\.range) == [nil, nil])
    }

    @Test func badInputGetsClearErrors() async throws {
        let fixture = try HTTPFixture()
        defer { fixture.cleanup() }
        await #expect(throws: StoreError.invalidChecksum("xyz")) {
            _ = try await fixture.store.pull(url: fixture.url, sha256: "xyz")
        }
        await #expect(throws: StoreError.badURL("http://")) { _ = try await fixture.store.pull(url: "http://") }
        await #expect(throws: StoreError.httpStatus(url: fixture.server.baseURL + "/nope.gguf", status: 404)) {
            _ = try await fixture.store.pull(url: fixture.server.baseURL + "/nope.gguf")
        }
        await #expect(throws: StoreError.invalidName(name: "a b", reason: "use only letters, digits, '.', '_' and '-' (plus one ':' before the tag)")) {
            _ = try await fixture.store.pull(url: fixture.url, name: "a b")
        }
        fixture.server.setFile("/notes.gguf", body: Array("hello, not a model".utf8))
        let error = await #expect(throws: StoreError.self) {
            _ = try await fixture.store.pull(url: fixture.server.baseURL + "/notes.gguf")
        }
        guard case .notGGUF? = error else {
            Issue.record("expected notGGUF, got \(String(describing: error))")
            return
        }
        #expect(fixture.store.list().isEmpty && fixture.files("blobs") == [] && fixture.files("partial") == [])
    }

    @Test func unreachableServerFailsWithDownloadError() async throws {
        let fixture = try HTTPFixture()
        let url = fixture.url
        fixture.cleanup() // the port is closed now
        let error = await #expect(throws: StoreError.self) {
            _ = try await fixture.store.pull(url: url, retries: 0)
        }
        guard case .download? = error else {
            Issue.record("expected a download error, got \(String(describing: error))")
            return
        }
    }

    @Test func knownDigestIsRegisteredWithoutDownloading() async throws {
        let fixture = try HTTPFixture()
        defer { fixture.cleanup() }
        let digest = sha256Hex(fixture.body)
        _ = try await fixture.store.pull(url: fixture.url, name: "first")
        let second = try await fixture.store.pull(url: fixture.url, name: "second", sha256: digest)
        #expect(second.manifest.digest == "sha256:\(digest)" && !second.alreadyPresent)
        #expect(fixture.server.requests.count == 1)
        #expect(fixture.store.list().map(\.name).sorted() == ["first:latest", "second:latest"])
    }
}

@Suite struct PullLockTests {
    @Test func secondPullOfTheSameNameWaitsItsTurn() async throws {
        let fixture = try HTTPFixture()
        defer { fixture.cleanup() }
        fixture.server.throttle(chunk: 16384, microseconds: 5000)
        let store = fixture.store, url = fixture.url
        let first = Task { try await store.pull(url: url) }
        let data = store.root + "/partial/model:latest/data"
        for _ in 0..<500 where (try? FileManager.default.attributesOfItem(atPath: data)[.size] as? Int) ?? 0 == 0 {
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        await #expect(throws: StoreError.busy(name: "model:latest", lockPath: store.root + "/partial/model:latest/lock")) {
            _ = try await store.pull(url: url)
        }
        fixture.server.throttle(chunk: 65536, microseconds: 0)
        let result = try await first.value
        #expect(FileManager.default.contents(atPath: result.path) == Data(fixture.body))
    }
}
