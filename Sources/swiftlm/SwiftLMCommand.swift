import ArgumentParser
import SwiftLM

@main
struct SwiftLMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlm",
        abstract: "Run large language models locally, on the CPU.",
        version: BuildInfo.summary,
        subcommands: [
            RunCommand.self, PullCommand.self, ListCommand.self, ShowCommand.self, CopyCommand.self, RemoveCommand.self,
            TokenizeCommand.self, TemplateCommand.self, ExplainCommand.self, PerplexityCommand.self, BenchCommand.self,
            VersionCommand.self, CreateCommand.self, EmbedCommand.self, ServeCommand.self, PsCommand.self,
        ]
    )
}
