import Foundation
import Testing
import TestSupport

/// `swiftlm explain --html`: the page embeds exactly the report `--json` prints (the browser tests in
/// Tests/Explain check what the page draws from it).
@Suite(.serialized) struct ExplainHTMLTests {
    static let model = "smollm2:135m"

    @Test func thePageEmbedsTheJSONReport() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("explain-\(UUID().uuidString).html")
        defer { try? FileManager.default.removeItem(at: file) }
        let r = try runSwiftLM(["explain", Self.model, "1, 2, 3, <b>4</b>", "--json", "--num-predict", "3", "--html", file.path])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let html = try String(contentsOf: file, encoding: .utf8)
        let open = #"<script type="application/json" id="report">"#
        let start = try #require(html.range(of: open)).upperBound
        let end = try #require(html.range(of: "</script>", range: start..<html.endIndex)).lowerBound
        let embedded = String(html[start..<end])
        // The prompt's markup cannot close the script block early: `<` is escaped inside the JSON.
        #expect(!embedded.contains("<"))
        let fromPage = try JSONSerialization.jsonObject(with: Data(embedded.utf8)) as? NSDictionary
        let fromStdout = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? NSDictionary
        #expect(fromPage != nil && fromPage == fromStdout)
        #expect(fromPage?["prompt"] as? String == "1, 2, 3, <b>4</b>")
        // Inline only, and a policy that forbids the saved file any network access.
        #expect(html.contains("default-src 'none'") && !html.contains("connect-src") && !html.contains(" src="))
    }

    @Test func aMissingFolderIsAUsageErrorBeforeLoading() throws {
        let r = try runSwiftLM(["explain", Self.model, "hi", "--html", "/no/such/folder/x.html"])
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.contains("--html: the folder /no/such/folder does not exist"), "\(r.stderr)")
    }
}
