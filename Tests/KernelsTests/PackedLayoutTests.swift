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
        #expect(SIMDKernels.packedSize(.q8_0, rows: 8, cols: 64) == 16 * GGMLType.q8_0.typeSize)
        #expect(SIMDKernels.packedSize(.q8_0, rows: 4, cols: 64) == 0)
        #expect(SIMDKernels.packedSize(.q4_0, rows: 8, cols: 32) == 0)
        #expect(SIMDKernels.packedSize(.q4_K, rows: 8, cols: 256) == 8 * GGMLType.q4_K.typeSize)
        #expect(SIMDKernels.packedSize(.q6_K, rows: 16, cols: 512) == 32 * GGMLType.q6_K.typeSize)
        #expect(SIMDKernels.packedSize(.q6_K, rows: 20, cols: 256) == 0)
        #expect(SIMDKernels.packedSize(.q5_K, rows: 8, cols: 256) == 0)
    }

    /// pack then unpack gives back every byte, random bytes included (no field is re-encoded).
    static let packedTypes: [GGMLType] = [.q5_0, .q4_1, .q8_0]

    /// The k-quants, whose superblocks are 256 elements.
    static let packedKTypes: [GGMLType] = [.q4_K, .q6_K]

    @Test(arguments: packedTypes, [(8, 32), (16, 96), (24, 160), (8, 896)])
    func roundTripIsExact(type: GGMLType, shape: (rows: Int, cols: Int)) {
        roundTrip(type: type, rows: shape.rows, cols: shape.cols)
    }

    @Test(arguments: packedKTypes, [(8, 256), (16, 768), (24, 512), (8, 4864)])
    func kQuantRoundTripIsExact(type: GGMLType, shape: (rows: Int, cols: Int)) {
        roundTrip(type: type, rows: shape.rows, cols: shape.cols)
    }

    func roundTrip(type: GGMLType, rows: Int, cols: Int) {
        let bytes = rows * cols / type.blockSize * type.typeSize
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
    /// (`.fastest`) path, must be bit-identical (see `checkPacked`).
    @Test(arguments: packedTypes, [(8, 32), (16, 160), (24, 96), (40, 896)])
    func packedMatmulMatchesScalarAndIsBatchInvariant(type: GGMLType, shape: (rows: Int, cols: Int)) throws {
        var rng = TestRandom(seed: UInt64(shape.rows + shape.cols))
        try checkPacked(type, quantized(type, rng.floats(shape.rows * shape.cols)), rows: shape.rows, cols: shape.cols, rng: &rng)
    }

    /// Matrices over 4 MiB are packed in chunks, each chunk's plain pages released once packed (repack.c's
    /// `pack_releasing`, which keeps peak RSS at one copy): a chunk boundary inside the matrix, and a last chunk
    /// shorter than the others, must give the same products as the scalar reference on the plain layout.
    @Test(arguments: [(GGMLType.q8_0, 4104, 1024), (.q4_K, 7304, 1024), (.q4_1, 8200, 1024)])
    func chunkedPackingOfLargeMatricesMatchesScalar(type: GGMLType, rows: Int, cols: Int) throws {
        #expect(rows * cols / type.blockSize * type.typeSize > 4 << 20)  // at least two chunks
        var rng = TestRandom(seed: UInt64(rows))
        let wq = quantized(type, rng.floats(rows * cols))
        let batch = 2
        let x = rng.floats(batch * cols, scale: 3)
        let reference = try product(type, wq, rows: rows, cols: cols, x, count: batch, path: .scalar, mode: .batchInvariant, pool: Self.pool)
        for path in simdPaths {
            for mode in [MatmulMode.batchInvariant, .fastest] {
                let y = try product(type, wq, rows: rows, cols: cols, x, count: batch, path: path, mode: mode, pool: Self.pool)
                for b in 0 ..< batch {
                    let row = reference[b * rows ..< (b + 1) * rows]
                    let scale = max(row.map(abs).max()!, 1e-3)
                    let err = zip(y[b * rows ..< (b + 1) * rows], row).map { abs($0 - $1) }.max()!
                    #expect(err <= 1e-5 * scale, "\(type) \(rows)x\(cols) \(path) \(mode): row \(b) off by \(err)")
                }
            }
        }
    }

    /// Q4_K and Q6_K at 1 to 19 superblocks (4864: qwen's ffn_down), from quantized floats.
    @Test(arguments: packedKTypes, [(8, 256), (16, 768), (24, 512), (40, 4864)])
    func packedKQuantMatmulMatchesScalarAndIsBatchInvariant(type: GGMLType, shape: (rows: Int, cols: Int)) throws {
        var rng = TestRandom(seed: UInt64(shape.rows * 7 + shape.cols))
        try checkPacked(type, quantized(type, rng.floats(shape.rows * shape.cols)), rows: shape.rows, cols: shape.cols, rng: &rng)
    }

    /// The same from random bytes: every scale, min and code value occurs, the extremes included (Q6_K
    /// scale -128, codes 63 and 15), against activations scaled to hit +-127, which is where an int16
    /// sum in the AVX2 kernels would saturate if its bound were wrong. Only the F16 factors are set to a
    /// finite value.
    @Test(arguments: packedKTypes)
    func packedKQuantMatmulHoldsOnEveryCode(type: GGMLType) throws {
        let (rows, cols) = (16, 1024)
        var rng = TestRandom(seed: 0xC0DE + UInt64(type.rawValue))
        var wq = (0 ..< rows * cols / 256 * type.typeSize).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let f16Fields = type == .q4_K ? [0, 2] : [208]  // d, dmin (Q4_K); d (Q6_K)
        for block in 0 ..< rows * cols / 256 {
            for offset in f16Fields {
                let at = block * type.typeSize + offset
                wq[at] = UInt8(truncatingIfNeeded: rng.next())
                wq[at + 1] = 0x20 + UInt8(truncatingIfNeeded: rng.next() % 8)  // 2^-7 .. 2^-5: finite, positive
            }
        }
        try checkPacked(type, wq, rows: rows, cols: cols, rng: &rng, extremes: true)
    }

    /// Q8_0 from random bytes: every code, -128 (which no quantizer writes) and 127 included, against
    /// activations of +-3 (every Q8_0 activation code +-127). The VNNI tile flips the codes' top bit and
    /// takes 128 · Σa back; the AVX2 tile moves the sign to the activation, whose int16 pair sums
    /// (128 · 127 · 2) sit just inside the range: a wrong bias or a saturating sum shows here.
    @Test func packedQ8_0MatmulHoldsOnEveryCode() throws {
        let (rows, cols) = (24, 640)
        var rng = TestRandom(seed: 0x0808)
        var wq = (0 ..< rows * cols / 32 * 34).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for block in 0 ..< rows * cols / 32 {
            wq[block * 34] = UInt8(truncatingIfNeeded: rng.next())
            wq[block * 34 + 1] = 0x20 + UInt8(truncatingIfNeeded: rng.next() % 8)  // 2^-7 .. 2^-5: finite, positive
        }
        wq[2] = 0x80  // code -128
        wq[3] = 0x7F  // code 127
        try checkPacked(.q8_0, wq, rows: rows, cols: cols, rng: &rng, extremes: true)
    }

    /// Rows off the 8-row group keep the plain kernels (no packed layout): still held to the reference.
    @Test(arguments: packedKTypes)
    func kQuantRowsOffTheGroupStillMatchScalar(type: GGMLType) throws {
        let (rows, cols) = (13, 512)
        var rng = TestRandom(seed: 99)
        #expect(SIMDKernels.packedSize(type, rows: rows, cols: cols) == 0)
        let wq = quantized(type, rng.floats(rows * cols))
        let x = rng.floats(5 * cols, scale: 3)
        let reference = try product(type, wq, rows: rows, cols: cols, x, count: 5, path: .scalar, mode: .batchInvariant, pool: Self.pool)
        for path in simdPaths {
            let y = try product(type, wq, rows: rows, cols: cols, x, count: 5, path: path, mode: .batchInvariant, pool: Self.pool)
            let scale = max(reference.map(abs).max()!, 1e-3)
            let err = zip(y, reference).map { abs($0 - $1) }.max()!
            #expect(err <= 1e-5 * scale, "\(type) \(rows)x\(cols) \(path): off by \(err)")
        }
    }

    /// Longer batches: with 16 or more activation rows the AVX-512 tiles decode two 8-row groups once into
    /// a buffer and take 8 activation rows at a time from it (the rest of the batch, and every batch under
    /// 16 rows, decode as they go). 37 rows: four such tiles, then a 4-row and a 1-row one; 56 rows: 16-row
    /// tiles then an 8-row group. Against the scalar reference, in chunks, and at batch 1, as above.
    @Test(arguments: packedTypes + packedKTypes)
    func packedMatmulOverLongBatchesMatchesScalar(type: GGMLType) throws {
        let (rows, cols) = (56, 768)
        var rng = TestRandom(seed: UInt64(type.rawValue) + 37)
        try checkPacked(type, quantized(type, rng.floats(rows * cols)), rows: rows, cols: cols, rng: &rng, batch: 37)
    }

    /// Through the packed kernel against the scalar reference (same integer products: 1e-5 of the row's
    /// magnitude), then in chunks and through the batch-1 path: bit-identical to the whole batch.
    /// `extremes`: every activation is +-3, so every Q8_K (Q8_0) code is +-127.
    func checkPacked(_ type: GGMLType, _ wq: [UInt8], rows: Int, cols: Int, rng: inout TestRandom, extremes: Bool = false,
                     batch: Int = 21) throws {
        let x = rng.floats(batch * cols, scale: 3).map { extremes ? ($0 < 0 ? -3 : 3) : $0 }
        let reference = try product(type, wq, rows: rows, cols: cols, x, count: batch, path: .scalar, mode: .batchInvariant, pool: Self.pool)
        for path in simdPaths {
            let whole = try product(type, wq, rows: rows, cols: cols, x, count: batch, path: path, mode: .batchInvariant, pool: Self.pool)
            for b in 0 ..< batch {
                let row = reference[b * rows ..< (b + 1) * rows]
                let scale = max(row.map(abs).max()!, 1e-3)
                let err = zip(whole[b * rows ..< (b + 1) * rows], row).map { abs($0 - $1) }.max()!
                #expect(err <= 1e-5 * scale, "\(type) \(rows)x\(cols) \(path): row \(b) off by \(err) (scale \(scale))")
            }
            for n in [17, 9, 4, 3, 1] {
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
