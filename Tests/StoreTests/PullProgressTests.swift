import Store
import Testing

/// The whole-model figure of a pip pull, as the progress line shows it next to the part's own.
@Suite struct PullProgressTests {
    @Test(arguments: Catalog.entries)
    func theTotalNeverTrailsThePartAndOnlyGrows(entry: CatalogEntry) {
        for part in entry.parts {
            var previous: Int64 = 0
            let step: Int64 = max(part.downloadSize / 997, 1)
            var downloaded: Int64 = 0
            while downloaded <= part.downloadSize + 1000 {
                defer { downloaded += step }
                let shown = min(downloaded, part.downloadSize)
                let overall = ModelStore.overallBytes(part, downloaded: shown)
                #expect(overall >= shown, "\(part.requirement): total \(overall) behind the part's \(shown)")
                #expect(overall >= previous && overall <= part.size)
                previous = overall
            }
            #expect(ModelStore.overallBytes(part, downloaded: part.downloadSize) == part.size)
        }
    }
}
