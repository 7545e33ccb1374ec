import ArgumentParser

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Not implemented yet.")
    func run() async throws { throw ValidationError("'swiftlm run' is not implemented yet") }
}
