import Foundation

/// The explain page, one self-contained HTML document (inline style and script, no network fetches but
/// the live page's own API calls): the prompt as token chips, the generation coloured by probability,
/// each step's candidates, sampling chain and numbers.
///
/// The same page serves both uses: `swiftlm explain --html` embeds the report `explain --json` prints,
/// and `swiftlm serve` answers `GET /explain` with a live page that builds the same report from
/// `/api/generate`'s log-probabilities, `/tokenize` and `/detokenize`, and forks a reply at any step.
/// It lives in the Server module because the server serves it; the CLI already links the server.
public enum ExplainPage {
    /// A page showing a finished report (the JSON of `swiftlm explain --json`).
    public static func staticPage(reportJSON: Data) -> String {
        // `<` only occurs inside JSON strings, where \u003c means the same: no `</script>` can end the block early.
        let data = String(decoding: reportJSON, as: UTF8.self).replacingOccurrences(of: "<", with: "\\u003c")
        return page(mode: "static", csp: contentSecurityPolicy(live: false),
                    data: "<script type=\"application/json\" id=\"report\">\(data)</script>\n")
    }

    /// The page `GET /explain` serves: it talks to the server it came from.
    public static func livePage() -> String {
        page(mode: "live", csp: contentSecurityPolicy(live: true), data: "")
    }

    /// Inline code only, and no network at all for the saved file; the live page may call its own server.
    static func contentSecurityPolicy(live: Bool) -> String {
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
            + (live ? "; connect-src 'self'" : "")
    }

    private static func page(mode: String, csp: String, data: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta http-equiv="Content-Security-Policy" content="\(csp)">
        <meta name="color-scheme" content="light dark">
        <title>SwiftLM explain</title>
        <link rel="icon" href="data:,">
        <style>
        \(style)</style>
        </head>
        <body>
        <main id="app" data-mode="\(mode)"><noscript>This page needs JavaScript to draw the explanation.</noscript></main>
        \(data)<script>
        \(script)</script>
        </body>
        </html>

        """
    }
}
