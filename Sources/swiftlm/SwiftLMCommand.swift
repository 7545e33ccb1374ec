import ArgumentParser
import SwiftLM

@main
struct SwiftLMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlm",
        abstract: "Run large language models locally, on the CPU.",
        subcommands: [
            RunCommand.self, PullCommand.self, ListCommand.self, ShowCommand.self, RemoveCommand.self,
            TokenizeCommand.self, TemplateCommand.self, ExplainCommand.self, PerplexityCommand.self, BenchCommand.self,
            ServeCommand.self, PsCommand.self,
        ]
    )
}
