import Kernels
import Testing

/// The KV cache row kernels (CKernels/kv.c) against their scalar references, at odd lengths and counts.
struct KVRowsTests {
    static func store(_ type: KVCacheType, _ x: [Float]) -> [UInt8] {
        var out = [UInt8](repeating: 0xAA, count: type.rowBytes(count: x.count)!)
        x.withUnsafeBufferPointer { src in out.withUnsafeMutableBytes { KVRows.store(type, src.baseAddress!, into: $0.baseAddress!, count: x.count) } }
        return out
    }

    static func lengths(_ type: KVCacheType) -> [Int] { type == .q8_0 ? [32, 64, 96, 256] : [1, 7, 13, 33, 64, 100, 256] }

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
                let want = KVRowsReference.dots(type, query: q, rows: rows, scale: 0.125)
                let bound = Float(n).squareRoot() * 2e-6 * 8
                for j in 0 ..< count { #expect(abs(out[j] - want[j]) <= bound, "\(type) dot n=\(n) row \(j): \(out[j]) vs \(want[j])") }

                let o0 = rng.floats(n)
                var o = o0
                packed.withUnsafeBytes { r in
                    KVRows.accumulate(type, into: &o, weights: p, rows: r.baseAddress!, stride: stride, count: count, length: n)
                }
                let wantO = KVRowsReference.accumulate(type, o0, weights: p, rows: rows)
                for i in 0 ..< n { #expect(abs(o[i] - wantO[i]) <= Float(count) * 1e-5, "\(type) accumulate n=\(n) i=\(i)") }
            }
        }
    }

    @Test func rowBytes() {
        #expect(KVCacheType.f32.rowBytes(count: 64) == 256)
        #expect(KVCacheType.f16.rowBytes(count: 7) == 14)
        #expect(KVCacheType.q8_0.rowBytes(count: 64) == 68)
        #expect(KVCacheType.q8_0.rowBytes(count: 48) == nil)
        #expect(KVCacheType.default == .f16)
    }
}
