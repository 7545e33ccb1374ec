import Foundation
import GGUF
import Kernels
import TestSupport
import Testing

/// Rows of the real models' tensors against the gguf Python package's dequantization
/// (fixtures from scripts/make-kernel-fixtures.py).
@Suite struct RealModelTests {
    struct Entry: Decodable {
        let model: String
        let tensor: String
        let type: String
        let rows: Int
        let cols: Int
        let pickedRows: [Int]
        let file: String
    }

    static let entries: [Entry] = {
        guard let url = Bundle.module.url(forResource: "Fixtures/manifest", withExtension: "json"),
              let data = try? Data(contentsOf: url) else { return [] }
        return (try? JSONDecoder().decode([Entry].self, from: data)) ?? []
    }()

    static func fixtureRows(_ e: Entry) throws -> [Float] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/" + e.file, withExtension: nil))
        let data = try Data(contentsOf: url)
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    @Test func manifestCoversEveryRealQuantType() {
        let types = Set(Self.entries.map(\.type))
        #expect(types.isSuperset(of: ["Q4_1", "Q5_0", "Q8_0", "Q4_K", "Q6_K"]))
        #expect(Self.entries.contains { $0.model == "qwen2.5-coder:0.5b" && $0.tensor == "blk.0.ffn_down.weight" && $0.type == "Q6_K" })
    }

    @Test(arguments: ["smollm2:135m", "qwen2.5-coder:0.5b", "gemma3:270m"])
    func dequantizedRowsMatchGGUFPackage(_ model: String) throws {
        guard let path = try RealModels.pathOrSkip(model) else { return }
        let file = try GGUFFile(path: path)
        let pool = ThreadPool(threads: 2)
        for e in Self.entries where e.model == model {
            let info = try file.requireTensor(e.tensor)
            #expect(info.type.name == e.type)
            let w = try WeightMatrix(name: e.tensor, type: info.type, data: file.data(for: info),
                                     rows: info.rowCount, cols: info.dimensions[0])
            #expect(w.rows == e.rows && w.cols == e.cols)
            let expected = try Self.fixtureRows(e)
            var row = [Float](repeating: .nan, count: e.cols)
            var ref = [Float](repeating: .nan, count: e.cols)
            for (k, r) in e.pickedRows.enumerated() {
                row.withUnsafeMutableBufferPointer { Linear.dequantizeRow(w, row: r, into: $0.baseAddress!) }
                ref.withUnsafeMutableBufferPointer {
                    Reference.dequantize(w.type, w.data + r * w.rowBytes, $0.baseAddress!, count: w.cols)
                }
                var worstFast: Float = 0, worstRef: Float = 0, scale: Float = 1e-30
                for c in 0 ..< e.cols {
                    let want = expected[k * e.cols + c]
                    worstFast = max(worstFast, abs(row[c] - want))
                    worstRef = max(worstRef, abs(ref[c] - want))
                    scale = max(scale, abs(want))
                }
                #expect(worstFast <= 1e-6 * scale, "\(model) \(e.tensor) row \(r): fast dequant off by \(worstFast)")
                #expect(worstRef <= 1e-6 * scale, "\(model) \(e.tensor) row \(r): reference dequant off by \(worstRef)")
            }

            // The matmul over the whole real tensor, checked on the fixture rows against a float product.
            let batch = 3
            var rng = TestRandom(seed: 42)
            let x = rng.floats(batch * w.cols)
            var y = [Float](repeating: .nan, count: batch * w.rows)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { Linear.matmul(w, xp.baseAddress!, batch: batch, $0.baseAddress!, pool: pool) }
            }
            for (k, r) in e.pickedRows.enumerated() {
                for b in 0 ..< batch {
                    var exact: Double = 0, magnitude: Double = 0
                    for c in 0 ..< w.cols {
                        let p = Double(expected[k * e.cols + c]) * Double(x[b * w.cols + c])
                        exact += p
                        magnitude += p * p
                    }
                    let err = abs(Double(y[b * w.rows + r]) - exact) / max(1e-6, magnitude.squareRoot())
                    #expect(err < 0.05, "\(model) \(e.tensor) row \(r) batch \(b): \(y[b * w.rows + r]) vs \(exact)")
                }
            }
        }
    }
}
