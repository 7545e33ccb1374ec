import Foundation
import GGUF
import Kernels
import Testing

/// SwiftLM's file quantizers against ggml's scalar reference, byte for byte (fixtures made by calling
/// `quantize_row_*_ref` in llama.cpp's libggml-base through ctypes: scripts/make-import-fixtures.py).
@Suite struct QuantizeTests {
    struct Manifest: Decodable {
        struct Entry: Decodable { let file: String; let bytes: Int; let source: String }
        let rows: Int
        let columns: Int
        let types: [String: Entry]
    }

    static func fixture(_ name: String) throws -> Data {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/quantize/" + name, withExtension: nil))
        return try Data(contentsOf: url)
    }

    static func manifest() throws -> Manifest {
        try JSONDecoder().decode(Manifest.self, from: fixture("manifest.json"))
    }

    @Test(arguments: [("f16", GGMLType.f16), ("q8_0", .q8_0), ("q5_0", .q5_0), ("q4_0", .q4_0), ("q4_K", .q4_K)])
    func bitIdenticalToGGMLReference(_ name: String, _ type: GGMLType) throws {
        let manifest = try Self.manifest()
        let entry = try #require(manifest.types[name])
        let input = try Self.fixture("input.f32").withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let expected = try [UInt8](Self.fixture(entry.file))
        #expect(input.count == manifest.rows * manifest.columns)
        let rowBytes = try #require(type.byteCount(elements: manifest.columns))
        #expect(expected.count == rowBytes * manifest.rows)
        for row in 0 ..< manifest.rows {
            let x = Array(input[row * manifest.columns ..< (row + 1) * manifest.columns])
            let got = try Quantizer.quantize(x, to: type)
            let want = Array(expected[row * rowBytes ..< (row + 1) * rowBytes])
            if got != want {
                let first = zip(got, want).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1
                Issue.record("\(name) row \(row): first differing byte \(first) (block \(first / type.typeSize))")
            }
        }
    }

    /// Quantizing whole rows at once equals quantizing block by block, and round-trips within the
    /// type's error: guards the buffer arithmetic of the multi-block path.
    @Test(arguments: [GGMLType.q8_0, .q5_0, .q4_0, .q4_K])
    func wholeRowEqualsBlocksAndDequantizesClose(_ type: GGMLType) throws {
        var rng = TestRandom(seed: 7)
        let x = rng.floats(4 * 256)
        let whole = try Quantizer.quantize(x, to: type)
        var pieces: [UInt8] = []
        for b in stride(from: 0, to: x.count, by: type.blockSize) {
            pieces += try Quantizer.quantize(Array(x[b ..< b + type.blockSize]), to: type)
        }
        #expect(whole == pieces)
        let back = dequantized(type, whole, count: x.count)
        let tolerance: Float = type == .q8_0 ? 0.01 : 0.15
        #expect(zip(x, back).allSatisfy { abs($0 - $1) <= tolerance })
    }

    @Test func rejectsPartialBlocksAndUnsupportedTypes() {
        #expect(throws: KernelsError.self) { try Quantizer.quantize([Float](repeating: 1, count: 33), to: .q8_0) }
        #expect(throws: KernelsError.self) { try Quantizer.quantize([Float](repeating: 1, count: 256), to: .q6_K) }
    }
}
