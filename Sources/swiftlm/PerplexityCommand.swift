import ArgumentParser

struct PerplexityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "perplexity", abstract: "Not implemented yet.")
    func run() async throws { throw ValidationError("'swiftlm perplexity' is not implemented yet") }
}
