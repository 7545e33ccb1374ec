import Foundation
import GGUF

/// An Ollama-style Modelfile: `FROM` a Hugging Face folder, plus `PARAMETER`, `SYSTEM` and `TEMPLATE`.
///
/// Instructions are case-insensitive; `#` starts a comment line; values may be bare, `"quoted"` or
/// `"""triple-quoted"""` across lines. `FROM` paths are relative to the Modelfile. `TEMPLATE` is a
/// Jinja chat template (SwiftLM renders Jinja, as llama.cpp does; Ollama's Go templates are not
/// accepted). SYSTEM and PARAMETER are stored in the GGUF as `swiftlm.system` and
/// `swiftlm.parameter.<name>`; `swiftlm run` applies them (Runtime's `ModelDefaults`).
public struct Modelfile: Sendable, Equatable {
    public var from: String
    public var template: String?
    public var system: String?
    /// In file order; a name may repeat (Ollama's `stop`).
    public var parameters: [Parameter] = []

    public struct Parameter: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Parameters Ollama defines, so a typo is an error rather than silently ignored.
    public static let knownParameters: Set<String> = [
        "num_ctx", "repeat_last_n", "repeat_penalty", "temperature", "seed", "stop", "num_predict", "top_k", "top_p",
        "min_p", "num_keep", "typical_p", "presence_penalty", "frequency_penalty", "mirostat", "mirostat_eta",
        "mirostat_tau", "num_gpu", "num_thread", "num_batch",
    ]

    /// Parameters that take a number, and which kind.
    static let numericParameters: [String: String] = [
        "num_ctx": "an integer", "repeat_last_n": "an integer", "seed": "an integer", "num_predict": "an integer",
        "top_k": "an integer", "num_keep": "an integer", "mirostat": "an integer", "num_gpu": "an integer",
        "num_thread": "an integer", "num_batch": "an integer",
        "repeat_penalty": "a number", "temperature": "a number", "top_p": "a number", "min_p": "a number",
        "typical_p": "a number", "presence_penalty": "a number", "frequency_penalty": "a number",
        "mirostat_eta": "a number", "mirostat_tau": "a number",
    ]

    static func parses(_ value: String, as kind: String) -> Bool {
        kind == "an integer" ? Int(value) != nil : Float(value) != nil
    }

    public init(path: String) throws(ImportError) {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw .missingFile(path: path, hint: "cannot read the Modelfile")
        }
        try self.init(parsing: text, path: path)
        if !from.hasPrefix("/") {
            from = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(from).standardizedFileURL.path
        }
    }

    public init(parsing text: String, path: String = "Modelfile") throws(ImportError) {
        var from: String?
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
        var i = 0
        while i < lines.count {
            let lineNumber = i + 1
            let line = lines[i].trimmingCharacters(in: .whitespaces)
            i += 1
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" })
            let instruction = parts[0].uppercased()
            var rest = parts.count > 1 ? String(parts[1]).trimmingCharacters(in: .whitespaces) : ""
            if rest.hasPrefix("\"\"\"") {
                // Triple-quoted: runs to the next """, possibly lines later.
                var body = String(rest.dropFirst(3))
                while !body.contains("\"\"\"") {
                    guard i < lines.count else {
                        throw .badModelfile(path: path, line: lineNumber, reason: "unterminated \"\"\" string")
                    }
                    body += "\n" + lines[i]
                    i += 1
                }
                let end = body.range(of: "\"\"\"")!
                guard body[end.upperBound...].trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw .badModelfile(path: path, line: lineNumber, reason: "text after the closing \"\"\"")
                }
                rest = String(body[..<end.lowerBound])
            } else if rest.count >= 2, rest.hasPrefix("\""), rest.hasSuffix("\"") {
                rest = String(rest.dropFirst().dropLast())
            }
            switch instruction {
            case "FROM":
                guard !rest.isEmpty else { throw .badModelfile(path: path, line: lineNumber, reason: "FROM needs a folder") }
                from = rest
            case "TEMPLATE": template = rest
            case "SYSTEM": system = rest
            case "PARAMETER":
                let kv = rest.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" })
                guard kv.count == 2 else { throw .badModelfile(path: path, line: lineNumber, reason: "PARAMETER needs a name and a value") }
                let name = String(kv[0]).lowercased()
                guard Self.knownParameters.contains(name) else {
                    throw .badModelfile(path: path, line: lineNumber, reason: "unknown parameter '\(name)'")
                }
                var value = String(kv[1]).trimmingCharacters(in: .whitespaces)
                if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
                if let expected = Self.numericParameters[name], !Self.parses(value, as: expected) {
                    throw .badModelfile(path: path, line: lineNumber, reason: "PARAMETER \(name) must be \(expected), not '\(value)'")
                }
                parameters.append(Parameter(name: name, value: value))
            case "ADAPTER", "LICENSE", "MESSAGE", "REQUIRES":
                throw .badModelfile(path: path, line: lineNumber, reason: "\(instruction) is not supported by swiftlm create")
            default:
                throw .badModelfile(path: path, line: lineNumber, reason: "unknown instruction '\(parts[0])'")
            }
        }
        guard let from else { throw .badModelfile(path: path, line: 1, reason: "no FROM line") }
        self.from = from
    }

    /// SYSTEM and PARAMETER as GGUF metadata (`swiftlm.system`, `swiftlm.parameter.<name>`; repeated
    /// names such as `stop` become string arrays).
    public var metadata: [(key: String, value: GGUFValue)] {
        var out: [(key: String, value: GGUFValue)] = []
        if let system { out.append((GGUFKey.modelfileSystem, .string(system))) }
        var order: [String] = [], values: [String: [String]] = [:]
        for p in parameters {
            if values[p.name] == nil { order.append(p.name) }
            values[p.name, default: []].append(p.value)
        }
        for name in order {
            let v = values[name]!
            out.append((GGUFKey.modelfileParameter(name), v.count == 1 && name != "stop" ? .string(v[0]) : .array(.strings(v))))
        }
        return out
    }
}
