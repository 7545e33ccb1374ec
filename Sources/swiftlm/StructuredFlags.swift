import ArgumentParser
import Foundation
import SwiftLM

/// `--format json`, `--schema FILE`, `--grammar FILE`: constrain the output (at most one of them).
struct StructuredFlags: ParsableArguments {
    @Option(help: "Constrain the output: 'json' (any JSON object).")
    var format: String?
    @Option(help: "Constrain the output to JSON that validates against this JSON Schema file.")
    var schema: String?
    @Option(help: "Constrain the output to this GBNF grammar file (llama.cpp's grammar format).")
    var grammar: String?

    func validate() throws {
        if [format, schema, grammar].compactMap({ $0 }).count > 1 {
            throw ValidationError("give only one of --format, --schema and --grammar")
        }
        if let format, format != "json" { throw ValidationError("invalid value '\(format)' for --format: expected 'json' (use --schema FILE for a JSON Schema)") }
    }

    /// The requested format, read and compiled now so a bad schema or grammar fails before any model loads.
    func outputFormat() throws -> OutputFormat? {
        guard let requested = try requestedFormat() else { return nil }
        do {
            _ = try requested.compiledGrammar()
        } catch {
            throw ValidationError("\(schema ?? grammar ?? "--format"): \(error)")
        }
        return requested
    }

    private func requestedFormat() throws -> OutputFormat? {
        if format != nil { return .json }
        if let schema { return .jsonSchema(decodeText(try readFile(schema, what: "JSON Schema file"), from: schema)) }
        if let grammar { return .grammar(decodeText(try readFile(grammar, what: "grammar file"), from: grammar)) }
        return nil
    }
}
