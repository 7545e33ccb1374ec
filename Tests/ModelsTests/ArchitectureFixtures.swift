import Foundation
import GGUF
import Kernels
import Models
import TestSupport

/// One architecture variant from scripts/make-arch-fixtures.py (Fixtures/arch/<variant>.json): the spec of a
/// tiny random-weight GGUF and llama.cpp's logits on it. The GGUF itself is rebuilt here from the spec.
struct ArchitectureFixture: Decodable {
    struct Metadata: Decodable {
        var key: String
        var type: String
        var value: JSONScalar
    }

    /// A metadata value as the script writes it (a number, string or bool).
    enum JSONScalar: Decodable {
        case number(Double), string(String), bool(Bool)
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) { self = .bool(b) } else if let d = try? c.decode(Double.self) { self = .number(d) } else {
                self = .string(try c.decode(String.self))
            }
        }
    }

    struct Tensor: Decodable {
        var name: String
        /// GGUF order: dims[0] innermost.
        var dims: [Int]
        /// Generated values: splitmix64 stream `seed`, `offset + scale · [-1, 1)`.
        var seed: UInt64?
        var scale: Double?
        var offset: Double?
        /// Literal values (factor tensors, hand-made routers).
        var values: [Float]?
        /// Sum of the values, so a drift between the Python and Swift generators is caught.
        var sum: Double
    }

    /// A tensor llama-quantize stored quantized in the reference file: its ggml type name (`Q8_0`, `Q5_0`,
    /// `Q4_K`) and the FNV-1a 64 hash of its bytes.
    struct Quantized: Decodable {
        var name: String
        var type: String
        var fnv: String
    }

    struct Spec: Decodable {
        var metadata: [Metadata]
        var tensors: [Tensor]
        /// Quantized variants: the tensors to quantize (with SwiftLM's quantizer) and what llama-quantize made.
        var quantized: [Quantized]?
    }

    struct Case: Decodable {
        var name: String
        /// llama.cpp's n_ctx: SwiftLM's cache capacity (LongRoPE's factors depend on it).
        var context: Int
        var prompt: [Int32]
        var continuation: [Int32]
        /// The first position `positions` describes.
        var positions_from: Int
        /// llama.cpp's own prompt-in-one-batch vs token-by-token difference (information).
        var sequential_max_delta: Double?
        /// Per position: [[token id, logit]] x top, most likely first.
        var positions: [[[Double]]]
    }

    var variant: String
    var architecture: String
    var spec: Spec
    var cases: [Case]

    enum FixtureError: Error, CustomStringConvertible {
        case missing(String), badValue(String), drift(String)
        var description: String {
            switch self {
            case let .missing(s): return "missing fixture \(s) (run scripts/make-arch-fixtures.py)"
            case let .badValue(s): return "bad fixture value: \(s)"
            case let .drift(s): return "regenerated tensor differs from the script's: \(s)"
            }
        }
    }

    static func load(_ variant: String) throws -> ArchitectureFixture {
        guard let url = Bundle.module.url(forResource: variant, withExtension: "json", subdirectory: "Fixtures/arch")
        else { throw FixtureError.missing("Fixtures/arch/\(variant).json") }
        return try JSONDecoder().decode(ArchitectureFixture.self, from: Data(contentsOf: url))
    }

    /// Every variant the fixture directory holds.
    static var allVariants: [String] {
        let dir = Bundle.module.url(forResource: "arch", withExtension: nil, subdirectory: "Fixtures")
        let files = dir.flatMap { try? FileManager.default.contentsOfDirectory(atPath: $0.path) } ?? []
        return files.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// FNV-1a, 64 bits (the script's `fnv1a64`).
    static func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return h
    }

    /// The script's generator: splitmix64 of `seed + i · golden` (i from 1), top 24 bits to `k / 2^23 - 1`,
    /// then `· scale + offset` in float32, exactly as numpy computes it.
    static func generate(seed: UInt64, count: Int, scale: Float, offset: Float) -> [Float] {
        (0 ..< count).map { i in
            var z = seed &+ UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            let unit = Float(z >> 40) / Float(1 << 23) - 1
            let scaled = unit * scale
            return scaled + offset
        }
    }

    func values(_ t: Tensor) throws -> [Float] {
        let count = t.dims.reduce(1, *)
        let v: [Float]
        if let literal = t.values {
            v = literal
        } else if let seed = t.seed, let scale = t.scale {
            v = Self.generate(seed: seed, count: count, scale: Float(scale), offset: Float(t.offset ?? 0))
        } else {
            throw FixtureError.badValue("tensor \(t.name) has neither values nor a seed")
        }
        guard v.count == count else { throw FixtureError.badValue("tensor \(t.name): \(v.count) values for dims \(t.dims)") }
        let sum = v.reduce(0.0) { $0 + Double($1) }
        guard abs(sum - t.sum) <= 1e-5 * max(1, abs(t.sum)) else { throw FixtureError.drift("\(t.name): sum \(sum), script \(t.sum)") }
        return v
    }

    /// The GGUF bytes: the spec's metadata and F32 tensors (no tokenizer: the tests feed token ids).
    /// `transform` may edit the tensor list (e.g. add a tensor the architecture must refuse); the keys in
    /// `removingKeys` are left out (to show what a quirk's key changes).
    func gguf(removingKeys: Set<String> = [],
              transform: (inout [(name: String, dims: [Int], values: [Float])]) -> Void = { _ in }) throws -> GGUFFile {
        var metadata: [(key: String, value: GGUFValue)] = []
        for m in spec.metadata where !removingKeys.contains(m.key) {
            switch (m.type, m.value) {
            case let ("u32", .number(d)): metadata.append((m.key, .uint32(UInt32(d))))
            case let ("f32", .number(d)): metadata.append((m.key, .float32(Float(d))))
            case let ("str", .string(s)): metadata.append((m.key, .string(s)))
            case let ("bool", .bool(b)): metadata.append((m.key, .bool(b)))
            default: throw FixtureError.badValue("metadata \(m.key) of type \(m.type)")
            }
        }
        var tensors: [(name: String, dims: [Int], values: [Float])] = []
        for t in spec.tensors { tensors.append((t.name, t.dims, try values(t))) }
        transform(&tensors)
        let quantized = Dictionary((spec.quantized ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let written = try tensors.map { t in
            guard let q = quantized[t.name] else {
                return GGUFWriter.Tensor(name: t.name, dimensions: t.dims, type: .f32,
                                         data: t.values.withUnsafeBufferPointer { Array(UnsafeRawBufferPointer($0)) })
            }
            guard let type = GGMLType.allCases.first(where: { $0.name == q.type }) else {
                throw FixtureError.badValue("tensor \(t.name) of unknown type \(q.type)")
            }
            let bytes = try Quantizer.quantize(t.values, to: type)
            let hash = String(format: "%016llx", Self.fnv1a64(bytes))
            guard hash == q.fnv else {
                throw FixtureError.drift("\(t.name): SwiftLM's \(q.type) bytes hash to \(hash), llama-quantize's to \(q.fnv)")
            }
            return GGUFWriter.Tensor(name: t.name, dimensions: t.dims, type: type, data: bytes)
        }
        let bytes = GGUFWriter(metadata: metadata, tensors: written).bytes()
        return try GGUFFile(mapping: MappedFile(copying: bytes, name: "\(variant).gguf"))
    }
}
