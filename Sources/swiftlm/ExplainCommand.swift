import ArgumentParser

struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "explain", abstract: "Not implemented yet.")
    func run() async throws { throw ValidationError("'swiftlm explain' is not implemented yet") }
}
