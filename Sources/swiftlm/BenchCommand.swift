import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Not implemented yet.")
    func run() async throws { throw ValidationError("'swiftlm bench' is not implemented yet") }
}
