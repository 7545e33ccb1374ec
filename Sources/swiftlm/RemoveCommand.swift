import ArgumentParser

struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Not implemented yet.")
    func run() async throws { throw ValidationError("'swiftlm rm' is not implemented yet") }
}
