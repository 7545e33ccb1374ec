import GGUF
import Kernels
import Testing

/// The interleaved (packed) weight layouts: byte-exact round trips, and matmuls through them held to
/// the scalar reference and to themselves across batch sizes.
@Suite struct PackedLayoutTests {
    static let pool = ThreadPool(threads: 3)

    @Test func packedLayoutExistsOnlyWhereAKernelReadsIt() {
        #expect(SIMDKernels.packedSize(.q5_0, rows: 8, cols: 32) == 8 * GGMLType.q5_0.typeSize)
        #expect(SIMDKernels.packedSize(.q4_1, rows: 16, cols: 64) == 32 * GGMLType.q4_1.typeSize)
        #expect(SIMDKernels.packedSize(.q5_0, rows: 12, cols: 32) == 0)  // rows off the 8-row group
        #expect(SIMDKernels.packedSize(.q4_0, rows: 8, cols: 32) == 0)
    }

    /// pack then unpack gives back every byte, random bytes included (no field is re-encoded).
    static let packedTypes: [GGMLType] = [.q5_0, .q4_1]

    @Test(arguments: packedTypes, [(8, 32), (16, 96), (24, 160), (8, 896)])
    func roundTripIsExact(type: GGMLType, shape: (rows: Int, cols: Int)) {
        let (rows, cols) = shape
        let bytes = rows * cols / 32 * type.typeSize
        var rng = TestRandom(seed: UInt64(rows * cols))
        let original = (0 ..< bytes).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var packed = [UInt8](repeating: 0, count: SIMDKernels.packedSize(type, rows: rows, cols: cols))
        var back = [UInt8](repeating: 0, count: bytes)
        original.withUnsafeBytes { src in
            packed.withUnsafeMutableBytes { #expect(SIMDKernels.pack(type, src.baseAddress!, rows: rows, cols: cols, into: $0.baseAddress!)) }
        }
        packed.withUnsafeBytes { src in
            back.withUnsafeMutableBytes { #expect(SIMDKernels.unpack(type, src.baseAddress!, rows: rows, cols: cols, into: $0.baseAddress!)) }
        }
        #expect(packed != original)  // it did permute
        #expect(back == original)
    }

    /// Through the packed kernel (rows a multiple of 8) at every batch size off its 8- and 4-row
    /// activation tiles, block counts 1 to 28: the scalar reference computes the same integer dot
    /// products, so only float summation order differs (1e-5 of the row's magnitude; a wrong lane,
    /// fifth bit or scale costs far more). Then the same rows in chunks, and through the batch-1
    /// (`.fastest`) path, must be bit-identical.
    @Test(arguments: packedTypes, [(8, 32), (16, 160), (24, 96), (40, 896)])
    func packedMatmulMatchesScalarAndIsBatchInvariant(type: GGMLType, shape: (rows: Int, cols: Int)) throws {
        let (rows, cols) = shape
        var rng = TestRandom(seed: UInt64(rows + cols))
        let wq = quantized(type, rng.floats(rows * cols))
        let batch = 21
        let x = rng.floats(batch * cols, scale: 3)
        let reference = try product(type, wq, rows: rows, cols: cols, x, count: batch, path: .scalar, mode: .batchInvariant, pool: Self.pool)
        for path in simdPaths {
            let whole = try product(type, wq, rows: rows, cols: cols, x, count: batch, path: path, mode: .batchInvariant, pool: Self.pool)
            for b in 0 ..< batch {
                let row = reference[b * rows ..< (b + 1) * rows]
                let scale = max(row.map(abs).max()!, 1e-3)
                let err = zip(whole[b * rows ..< (b + 1) * rows], row).map { abs($0 - $1) }.max()!
                #expect(err <= 1e-5 * scale, "\(type) \(rows)x\(cols) \(path): row \(b) off by \(err) (scale \(scale))")
            }
            for n in [9, 4, 3, 1] {
                var y: [Float] = []
                for b0 in stride(from: 0, to: batch, by: n) {
                    y += try product(type, wq, rows: rows, cols: cols, x, from: b0, count: min(n, batch - b0), path: path,
                                     mode: .batchInvariant, pool: Self.pool)
                }
                #expect(y == whole, "\(type) \(rows)x\(cols) \(path): chunks of \(n) differ from the whole batch")
            }
            var mv: [Float] = []
            for b in 0 ..< batch {
                mv += try product(type, wq, rows: rows, cols: cols, x, from: b, count: 1, path: path, mode: .fastest, pool: Self.pool)
            }
            #expect(mv == whole, "\(type) \(rows)x\(cols) \(path): the batch-1 path differs")
        }
    }
}
