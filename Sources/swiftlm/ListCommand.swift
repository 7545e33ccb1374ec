import ArgumentParser
import Foundation
import SwiftLM

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the models in the local store.", aliases: ["ls"])

    func run() async throws {
        let now = Date()
        let rows = [["NAME", "SIZE", "QUANTIZATION", "MODIFIED"]] + ModelStore().list().map {
            [$0.name, HumanFormat.bytes($0.size), $0.quantization, HumanFormat.age(of: $0.pulledAt, now: now)]
        }
        let widths = (0..<4).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            let cells = row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }
            print(cells.joined(separator: "    "))
        }
    }
}
