import Foundation
import Template
import Testing

/// Golden fixtures from scripts/make-template-fixtures.py: each reference template rendered by Python
/// jinja2 configured as transformers configures it, for every conversation in Fixtures/contexts.
enum Fixtures {
    static let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static let pinnedTime = 1_768_480_496.0 // PINNED_TIME in the script

    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    static func names(_ dir: String, _ ext: String) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(dir).path)) ?? []
        return files.filter { $0.hasSuffix("." + ext) }.map { String($0.dropLast(ext.count + 1)) }.sorted()
    }

    static let templateNames = names("templates", "jinja")

    static let contexts: [(String, [String: TemplateValue])] = names("contexts", "json").map { name in
        guard case let .object(o)? = try? TemplateValue(json: text("contexts/\(name).json")) else { return (name, [:]) }
        var d: [String: TemplateValue] = [:]
        for (k, v) in o { d[k] = v }
        return (name, d)
    }
}

@Test func fixturesArePresent() {
    #expect(Fixtures.templateNames.count == 72)
    #expect(Fixtures.contexts.count == 11)
    #expect(Fixtures.contexts.allSatisfy { !$0.1.isEmpty })
}

@Test(arguments: Fixtures.templateNames)
func rendersLikeJinja2(_ name: String) throws {
    let source = try Fixtures.text("templates/\(name).jinja")
    guard case let .object(expected) = try TemplateValue(json: Fixtures.text("expected/\(name).json")) else {
        Issue.record("bad expected file for \(name)")
        return
    }
    var template: ChatTemplate?
    var parseError: TemplateError?
    do { template = try ChatTemplate(source: source) } catch { parseError = error }
    template?.pinnedTime = Fixtures.pinnedTime
    for (context, variables) in Fixtures.contexts {
        guard let want = expected[context] else {
            Issue.record("\(name): no expectation for \(context)")
            continue
        }
        if let message = want["error"]?.stringValue {
            guard let template else { continue } // both failed to compile
            do {
                let got = try template.render(variables)
                Issue.record("\(name)/\(context): jinja2 raised \(message), we rendered \(got.prefix(200))")
            } catch {
                // raise_exception(...) must surface the template's own message.
                if message.hasPrefix("TemplateError: ") {
                    guard case let .raised(text, _, _) = error else {
                        Issue.record("\(name)/\(context): expected raise_exception, got \(error)")
                        continue
                    }
                    #expect(text == String(message.dropFirst("TemplateError: ".count)), "\(name)/\(context)")
                }
            }
        } else if let output = want["output"]?.stringValue {
            guard let template else {
                Issue.record("\(name): parse failed: \(parseError.map { "\($0)" } ?? "?")")
                return
            }
            do {
                let got = try template.render(variables)
                #expect(got == output, "\(name)/\(context)")
            } catch {
                Issue.record("\(name)/\(context): \(error)")
            }
        }
    }
}
