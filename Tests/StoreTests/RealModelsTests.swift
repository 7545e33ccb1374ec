import GGUF
import Store
import Testing
import TestSupport

/// The lookup other suites use for the real models (scripts/pull-test-models fills the store).
@Suite struct RealModelsTests {
    @Test func unknownModelIsMissingWithTheFix() {
        let error = #expect(throws: RealModels.Missing.self) { try RealModels.path("no-such-model:1b") }
        #expect(error?.description.contains("scripts/pull-test-models") == true)
    }

    @Test(arguments: Catalog.entries)
    func pulledCatalogModelsAreTheRightFiles(_ entry: CatalogEntry) throws {
        guard let path = try RealModels.pathOrSkip(entry.name) else { return }
        let file = try GGUFFile(path: path)
        #expect(file.architecture == entry.architecture)
        #expect(Int64(file.fileSize) == entry.size)
        #expect(path.hasSuffix("sha256-\(entry.sha256)"))
    }
}
