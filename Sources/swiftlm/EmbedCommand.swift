import ArgumentParser
import Foundation
import SwiftLM

struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Turn text into embedding vectors (for search and retrieval).",
        discussion: """
        Each TEXT (or each line of --file) becomes one L2-normalised vector, in order. An embedding model \
        such as all-minilm:22m (BERT) uses its trained pooling; a decoder model (llama, qwen2, gemma3) gets \
        a fallback: the mean of its final hidden states, usable but not trained for retrieval. Inputs longer \
        than the model's context are truncated. Without --json, prints one line per input: the vector's \
        values separated by spaces. With --json: {"model": ..., "embeddings": [[...], ...]}.
        """
    )

    @Argument(help: "A model name (e.g. all-minilm:22m) or a path to a .gguf file.")
    var model: String

    @Argument(help: "Texts to embed, one vector each (or use --file).")
    var texts: [String] = []

    @Option(name: .long, help: "Embed each non-empty line of this file ('-' reads standard input).")
    var file: String?

    @Flag(help: "Print {\"model\": ..., \"embeddings\": [[floats], ...]}.")
    var json = false

    @Option(help: "Kernel threads (default: physical cores, or SWIFTLM_THREADS).")
    var threads: Int?

    func validate() throws {
        if texts.isEmpty == (file == nil) { throw ValidationError("give either TEXT... or --file PATH (exactly one)") }
    }

    func run() async throws {
        let inputs = try readInputs()
        let loaded = try await loadModel(model, threads: threads)
        let vectors = try await loaded.embed(inputs)
        var out = ""
        if json {
            out = "{\"model\":" + jsonString(model) + ",\"embeddings\":["
            out += vectors.map { "[" + $0.map { Self.format($0) }.joined(separator: ",") + "]" }.joined(separator: ",")
            out += "]}\n"
        } else {
            for v in vectors { out += v.map { Self.format($0) }.joined(separator: " ") + "\n" }
        }
        writeStandardOutput(out)
    }

    private func readInputs() throws -> [String] {
        guard let file else { return texts }
        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let d = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read --file \(file)") }
            data = d
        }
        let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
        let inputs = lines.filter { !$0.allSatisfy(\.isWhitespace) }
        if inputs.isEmpty { throw ValidationError("--file \(file) has no non-empty line to embed") }
        return inputs
    }

    /// Shortest text that reads back as the same Float (JSON has no NaN / infinity; vectors never hold them).
    static func format(_ v: Float) -> String { v.isFinite ? "\(v)" : "0" }

    private func jsonString(_ s: String) -> String {
        let data = try? JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])
        let array = data.map { String(decoding: $0, as: UTF8.self) } ?? "[\"\"]"
        return String(array.dropFirst().dropLast())
    }
}
