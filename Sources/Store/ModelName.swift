/// Ollama-style model names: `model:tag`, where a missing tag means `latest` unless the catalog
/// has exactly one entry for that model (so `qwen2.5-coder` means `qwen2.5-coder:0.5b`).
public enum ModelName {
    static let defaultTag = "latest"

    /// Whether `string` is to be treated as a file path rather than a model name: it contains "/"
    /// or ends in ".gguf" (the rule ``ModelStore/resolve(_:)`` applies).
    public static func isPath(_ string: String) -> Bool {
        string.contains("/") || string.lowercased().hasSuffix(".gguf")
    }

    /// Rejects names that could escape the store directory or confuse the `model:tag` split.
    static func validate(_ name: String) throws(StoreError) {
        let parts = name.split(separator: ":", omittingEmptySubsequences: false)
        guard !name.isEmpty, name.utf8.count <= 200 else {
            throw .invalidName(name: name, reason: "a name has 1 to 200 characters")
        }
        guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty }) else {
            throw .invalidName(name: name, reason: "expected 'model' or 'model:tag'")
        }
        for part in parts {
            guard part.first != ".", part.first != "-" else {
                throw .invalidName(name: name, reason: "'\(part)' may not start with '.' or '-'")
            }
            guard part.unicodeScalars.allSatisfy({ isAllowed($0) }) else {
                throw .invalidName(name: name, reason: "use only letters, digits, '.', '_' and '-' (plus one ':' before the tag)")
            }
        }
    }

    private static func isAllowed(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": return true
        default: return false
        }
    }

    static func hasTag(_ name: String) -> Bool { name.contains(":") }

    /// The catalog name a tag-less name stands for, when exactly one entry has that model part.
    static func catalogDefault(for base: String) -> String? {
        let matches = Catalog.allNames.filter { $0.split(separator: ":").first.map(String.init) == base }
        return matches.count == 1 ? matches[0] : nil
    }
}
