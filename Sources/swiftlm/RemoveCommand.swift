import ArgumentParser
import SwiftLM

struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove models from the local store.")

    @Argument(help: "Names of the models to remove.")
    var models: [String]

    func run() async throws {
        let store = ModelStore()
        for model in models {
            let manifest = try store.remove(model)
            print("deleted '\(manifest?.name ?? model)'")
        }
    }
}
