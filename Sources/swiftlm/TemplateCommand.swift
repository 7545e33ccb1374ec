import ArgumentParser

struct TemplateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "template", abstract: "Not implemented yet.")
    func run() async throws { throw ValidationError("'swiftlm template' is not implemented yet") }
}
