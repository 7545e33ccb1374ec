import ArgumentParser
import Foundation
import SwiftLM

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the models in the local store, most recently pulled first.", aliases: ["ls"])

    func run() async throws {
        let store = ModelStore()
        try store.checkRoot()
        let now = Date()
        var damaged: [String] = []
        let rows = [["NAME", "ID", "SIZE", "QUANTIZATION", "MODIFIED"]] + store.list().map { m in
            // The ID is the start of the content digest, as Ollama shows it: two names on one blob share it.
            var modified = HumanFormat.age(of: m.pulledAt, now: now)
            if !store.isIntact(m) {
                modified += "  (damaged)"
                damaged.append(m.name)
            }
            return [m.name, String(m.sha256.prefix(12)), HumanFormat.bytes(m.size), m.quantization, modified]
        }
        let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            let cells = row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }
            print(cells.joined(separator: "    "))
        }
        for name in damaged {
            writeStandardError("warning: \(name) is damaged (its file is missing or incomplete): "
                + "'swiftlm pull --force \(name)' downloads it again, 'swiftlm rm \(name)' removes it\n")
        }
    }
}
