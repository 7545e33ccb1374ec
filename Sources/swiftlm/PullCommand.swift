import ArgumentParser

struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pull", abstract: "Not implemented yet.")
    func run() async throws { throw ValidationError("'swiftlm pull' is not implemented yet") }
}
