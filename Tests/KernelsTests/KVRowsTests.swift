import Kernels
import Testing

/// The KV cache row kernels (CKernels/kv.c) against their scalar references, at odd lengths and counts.
struct KVRowsTests {
    static func store(_ type: KVCacheType, _ x: [Float]) -> [UInt8] {
        var out = [UInt8](repeating: 0xAA, count: type.rowBytes(count: x.count)!)
        x.withUnsafeBufferPointer { src in out.withUnsafeMutableBytes { KVRows.store(type, src.baseAddress!, into: $0.baseAddress!, count: x.count) } }
        return out
    }

    static func lengths(_ type: KVCacheType) -> [Int] { type == .q8_0 ? [32, 64, 96, 256] : [1, 7, 13, 16, 33, 48, 64, 100, 256] }

    @Test(arguments: KVCacheType.allCases)
    func storeMatchesReference(type: KVCacheType) {
        var rng = TestRandom(seed: 7)
        for n in Self.lengths(type) {
            let x = rng.floats(n, scale: 3)
            #expect(Self.store(type, x) == KVRowsReference.store(type, x), "\(type) n=\(n)")
        }
    }

    /// Ties round half to even, as ggml's x86 quantize_row_q8_0 does: 127 / amax = 1 makes x exactly q + 0.5.
    @Test func q8_0RoundsTiesToEvenLikeGGML() {
        var x = [Float](repeating: 0, count: 32)
        x[0] = 127
        x[1] = 2.5; x[2] = 3.5; x[3] = -2.5; x[4] = 0.5
        let row = Self.store(.q8_0, x)
        #expect(row == KVRowsReference.store(.q8_0, x))
        #expect(Array(row[2 ..< 7].map { Int8(bitPattern: $0) }) == [127, 2, 4, -2, 0])
        // The fp16 scale is amax / 127 = 1.
        #expect(row[0] == 0x00 && row[1] == 0x3C)
        #expect(Self.store(.q8_0, [Float](repeating: 0, count: 32)).allSatisfy { $0 == 0 })
    }

    @Test(arguments: KVCacheType.allCases)
    func dotsAndAccumulateMatchReference(type: KVCacheType) {
        var rng = TestRandom(seed: 11)
        for n in Self.lengths(type) {
            for count in [1, 3, 17] {
                let q = rng.floats(n), p = rng.floats(count).map { abs($0) }
                let rows = (0 ..< count).map { _ in Self.store(type, rng.floats(n, scale: 2)) }
                let stride = rows[0].count
                let packed = rows.flatMap { $0 }
                var out = [Float](repeating: .nan, count: count)
                packed.withUnsafeBytes { r in
                    KVRows.dots(type, query: q, rows: r.baseAddress!, stride: stride, count: count, length: n, scale: 0.125, into: &out)
                }
                // On the bf16 path f16 scores are KVRowsReference.bf16Dots's, bit for bit (KVRowsBF16ScoresTests).
                let want = type == .f16 && KVRows.bf16Arithmetic ? KVRowsReference.bf16Dots(query: q, rows: rows, scale: 0.125)
                    : KVRowsReference.dots(type, query: q, rows: rows, scale: 0.125)
                let bound = Float(n).squareRoot() * 2e-6 * 8
                for j in 0 ..< count { #expect(abs(out[j] - want[j]) <= bound, "\(type) dot n=\(n) row \(j): \(out[j]) vs \(want[j])") }

                let o0 = rng.floats(n)
                var o = o0
                packed.withUnsafeBytes { r in
                    KVRows.accumulate(type, into: &o, weights: p, rows: r.baseAddress!, stride: stride, count: count, length: n)
                }
                if type == .f16 && KVRows.bf16Arithmetic { // bf16 products: their own reference, bit for bit (KVRowsBF16SumsTests)
                    let wantO = KVRowsReference.accumulateBF16(o0, weights: p, rows: rows)
                    #expect(o.map(\.bitPattern) == wantO.map(\.bitPattern), "f16 bf16 accumulate n=\(n) count=\(count)")
                } else {
                    let wantO = KVRowsReference.accumulate(type, o0, weights: p, rows: rows)
                    for i in 0 ..< n { #expect(abs(o[i] - wantO[i]) <= Float(count) * 1e-5, "\(type) accumulate n=\(n) i=\(i)") }
                }
            }
        }
    }

    /// The blocked kernels against the per-query ones, bit for bit: every query of a block must get exactly
    /// the score and the weighted sum it gets alone (attention's batch invariance and every logit test rest
    /// on it). Odd lengths, row counts around the converted tile's size (4096 / length rows, 4...32) and its
    /// tails, odd block sizes, a nonzero offset. The kernels pick AVX2 or portable C once per process: run
    /// this suite again with SWIFTLM_ISA=scalar for the portable path.
    @Test(arguments: KVCacheType.allCases)
    func blockedKernelsMatchPerQueryBitForBit(type: KVCacheType) {
        var rng = TestRandom(seed: 23)
        for n in Self.lengths(type) {
            for count in [1, 3, 4, 17, 33, 70] {
                for m in [1, 2, 7, 28] {
                    let off = 5, width = off + count
                    let queries = (0 ..< m).map { _ in rng.floats(n) }
                    let rows = (0 ..< count).map { _ in Self.store(type, rng.floats(n, scale: 2)) }
                    let stride = rows[0].count, packed = rows.flatMap { $0 }
                    // Softmax-like weights, [m x width]; the first `off` of each are not read.
                    let weights = (0 ..< m).map { _ in rng.floats(width).map { abs($0) / Float(count) } }
                    let starts = (0 ..< m).map { _ in rng.floats(n) }
                    let (scores, sums) = Self.blocked(type, queries, weights, starts, packed, stride: stride, count: count,
                                                      n: n, off: off)
                    for r in 0 ..< m {
                        var want = [Float](repeating: .nan, count: count)
                        var o = starts[r]
                        packed.withUnsafeBytes { raw in
                            KVRows.dots(type, query: queries[r], rows: raw.baseAddress!, stride: stride, count: count, length: n,
                                        scale: 0.125, into: &want)
                            Array(weights[r][off...]).withUnsafeBufferPointer { w in
                                KVRows.accumulate(type, into: &o, weights: w.baseAddress!, rows: raw.baseAddress!, stride: stride,
                                                  count: count, length: n)
                            }
                        }
                        #expect(scores[r][off...].map(\.bitPattern) == want.map(\.bitPattern), "\(type) dots n=\(n) count=\(count) m=\(m) r=\(r)")
                        #expect(scores[r][..<off].allSatisfy { $0.isNaN }, "\(type) dots wrote before the offset")
                        #expect(sums[r].map(\.bitPattern) == o.map(\.bitPattern), "\(type) accumulate n=\(n) count=\(count) m=\(m) r=\(r)")
                    }
                }
            }
        }
    }

    /// Runs both blocked kernels: scores `[m][off + count]` (NaN before `off`) and sums `[m][n]` from `starts`.
    static func blocked(_ type: KVCacheType, _ queries: [[Float]], _ weights: [[Float]], _ starts: [[Float]], _ packed: [UInt8],
                        stride: Int, count: Int, n: Int, off: Int) -> ([[Float]], [[Float]]) {
        let m = queries.count
        let q = UnsafeMutablePointer<Float>.allocate(capacity: m * n), w = UnsafeMutablePointer<Float>.allocate(capacity: m * (off + count))
        let sc = UnsafeMutablePointer<Float>.allocate(capacity: m * (off + count)), o = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        defer { q.deallocate(); w.deallocate(); sc.deallocate(); o.deallocate() }
        sc.initialize(repeating: .nan, count: m * (off + count))
        for r in 0 ..< m {
            (q + r * n).initialize(from: queries[r], count: n)
            (w + r * (off + count)).initialize(from: weights[r], count: off + count)
            (o + r * n).initialize(from: starts[r], count: n)
        }
        let qp: [UnsafePointer<Float>?] = (0 ..< m).map { UnsafePointer(q + $0 * n) }
        let wp: [UnsafePointer<Float>?] = (0 ..< m).map { UnsafePointer(w + $0 * (off + count)) }
        let sp: [UnsafeMutablePointer<Float>?] = (0 ..< m).map { sc + $0 * (off + count) }
        let op: [UnsafeMutablePointer<Float>?] = (0 ..< m).map { o + $0 * n }
        packed.withUnsafeBytes { raw in
            KVRows.dots(type, queries: qp, count: m, rows: raw.baseAddress!, stride: stride, rowCount: count, length: n,
                        scale: 0.125, into: sp, offset: off)
            KVRows.accumulate(type, into: op, count: m, weights: wp, offset: off, rows: raw.baseAddress!, stride: stride,
                              rowCount: count, length: n)
        }
        return ((0 ..< m).map { Array(UnsafeBufferPointer(start: sc + $0 * (off + count), count: off + count)) },
                (0 ..< m).map { Array(UnsafeBufferPointer(start: o + $0 * n, count: n)) })
    }

    @Test func rowBytes() {
        #expect(KVCacheType.f32.rowBytes(count: 64) == 256)
        #expect(KVCacheType.f16.rowBytes(count: 7) == 14)
        #expect(KVCacheType.q8_0.rowBytes(count: 64) == 68)
        #expect(KVCacheType.q8_0.rowBytes(count: 48) == nil)
        #expect(KVCacheType.default == .f16)
    }
}
