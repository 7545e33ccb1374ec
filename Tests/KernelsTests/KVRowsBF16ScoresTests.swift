import Foundation
import Kernels
import Testing

/// The bf16 bodies of the f16 scores (CKernels/kv.c, VDPBF16PS) against KVRowsReference.bf16Dots, bit for bit,
/// and that reference against the exact scores within a bf16 bound. Where KVRows.bf16Arithmetic is false
/// (SWIFTLM_ISA=avx512vnni, avx2, scalar, or a CPU without AVX512_BF16) the same tests check that the f32
/// path ran instead; `switchFollowsTheCPU` makes sure the bf16 one is what runs where it can.
struct KVRowsBF16ScoresTests {
    static let lengths = [1, 2, 7, 13, 16, 31, 33, 48, 64, 100, 256]

    /// f16 rows of random values.
    static func rows(_ rng: inout TestRandom, count: Int, n: Int, scale: Float = 2) -> [[UInt8]] {
        (0 ..< count).map { _ in KVRowsTests.store(.f16, rng.floats(n, scale: scale)) }
    }

    /// sl_kv_dots over `rows` (packed).
    static func perQuery(_ q: [Float], _ rows: [[UInt8]], scale: Float = 0.125) -> [Float] {
        let packed = rows.flatMap { $0 }
        var out = [Float](repeating: .nan, count: rows.count)
        packed.withUnsafeBytes { r in
            KVRows.dots(.f16, query: q, rows: r.baseAddress!, stride: rows[0].count, count: rows.count, length: q.count,
                        scale: scale, into: &out)
        }
        return out
    }

    /// Whether this process should be on the bf16 path: the CPU has AVX512_BF16 and AVX-512 VNNI and SWIFTLM_ISA
    /// is unset or avx512bf16 (read from /proc/cpuinfo, independently of the kernels' own probe).
    static var expectBF16: Bool? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        let flags = Set(info.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
        let isa = ProcessInfo.processInfo.environment["SWIFTLM_ISA"]
        let cpu = ["avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16"].allSatisfy(flags.contains)
        return cpu && (isa == nil || isa == "avx512bf16")
    }

    @Test func switchFollowsTheCPU() {
        guard let want = Self.expectBF16 else { return } // no /proc/cpuinfo: nothing to compare with
        #expect(KVRows.bf16Arithmetic == want, "bf16Arithmetic \(KVRows.bf16Arithmetic), expected \(want) (SWIFTLM_ISA=\(ProcessInfo.processInfo.environment["SWIFTLM_ISA"] ?? "unset"))")
    }

    /// Per-query and blocked scores against the bf16 reference, every bit, at odd head sizes, row counts
    /// around the 8-row groups and 16 / 32-key tiles and their tails, block sizes around the 2-query groups.
    /// Off the bf16 path, the same comparison must fail somewhere: the f32 bodies ran.
    @Test func scoresMatchBF16ReferenceBitForBit() {
        var rng = TestRandom(seed: 31)
        var mismatches = 0, total = 0
        for n in Self.lengths {
            for count in [1, 3, 8, 9, 17, 32, 33, 70] {
                let rows = Self.rows(&rng, count: count, n: n)
                for m in [1, 2, 3, 5, 24] {
                    let queries = (0 ..< m).map { _ in rng.floats(n) }
                    let off = 3, stride = rows[0].count
                    let weights = queries.map { _ in [Float](repeating: 0, count: off + count) }
                    let starts = queries.map { _ in [Float](repeating: 0, count: n) }
                    let (blocked, _) = KVRowsTests.blocked(.f16, queries, weights, starts, rows.flatMap { $0 }, stride: stride,
                                                           count: count, n: n, off: off)
                    for r in 0 ..< m {
                        let want = KVRowsReference.bf16Dots(query: queries[r], rows: rows, scale: 0.125).map(\.bitPattern)
                        let single = Self.perQuery(queries[r], rows).map(\.bitPattern)
                        total += 1
                        if KVRows.bf16Arithmetic {
                            #expect(single == want, "per-query n=\(n) count=\(count) r=\(r)")
                            #expect(blocked[r][off...].map(\.bitPattern) == want, "blocked n=\(n) count=\(count) m=\(m) r=\(r)")
                        } else if single != want {
                            mismatches += 1
                        }
                    }
                }
            }
        }
        if !KVRows.bf16Arithmetic { #expect(mismatches > total / 2, "f32 path expected: \(mismatches) of \(total) differ from bf16") }
    }

    /// Round-half-even ties (f16 values halfway between bf16 ones), negative ties, subnormal query values
    /// (read as zero by the conversion), and f16 subnormal keys (normal in f32, so kept).
    @Test func roundingEdgeCases() {
        guard KVRows.bf16Arithmetic else { return }
        let ulp: Float = 1.0 / 256 // bf16's spacing in [1, 2) is 2^-7: 1 + 2^-8 is a tie
        let ties: [Float] = [1 + ulp, 1 + 3 * ulp, -(1 + ulp), -(1 + 3 * ulp), 1 + ulp / 2, 2 - ulp, 65504, -0.0]
        #expect(ties.map(KVRowsReference.bf16) == [1, 1 + 4 * ulp, -1, -(1 + 4 * ulp), 1, 2, 65536, -0.0])
        #expect(KVRowsReference.bf16(Float(bitPattern: 0x0040_0000)) == 0)
        #expect(KVRowsReference.bf16(-Float(bitPattern: 0x0000_0001)).bitPattern == 0x8000_0000)
        for n in [7, 16, 33, 64] {
            // One dim at a time against keys of 1: the score is the rounded query value itself.
            for (i, t) in ties.enumerated() {
                var q = [Float](repeating: 0, count: n)
                q[(3 * i) % n] = t
                let key = KVRowsTests.store(.f16, [Float](repeating: 1, count: n))
                #expect(Self.perQuery(q, [key], scale: 1) == [KVRowsReference.bf16(t)], "query tie \(t) n=\(n)")
                let tkey = KVRowsTests.store(.f16, (0 ..< n).map { $0 == (3 * i) % n ? t : 0 })
                let one = (0 ..< n).map { Float($0 == (3 * i) % n ? 1 : 0) }
                #expect(Self.perQuery(one, [tkey], scale: 1) == [KVRowsReference.bf16(t)], "key tie \(t) n=\(n)")
            }
            // A subnormal query value times the largest f16 would be 7e-35 if it were kept.
            var q = [Float](repeating: 0, count: n)
            q[n - 1] = Float(bitPattern: 0x0040_0000)
            let big = KVRowsTests.store(.f16, [Float](repeating: 65504, count: n))
            #expect(Self.perQuery(q, [big], scale: 1) == [0], "subnormal query n=\(n)")
            // f16 subnormal keys (2^-24 times 1...n) are exact normal floats: 2^-24 · Σ i with q = 1.
            let tiny = (0 ..< n).map { UInt16($0 % 1023 + 1) }
            let key = tiny.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
            let got = Self.perQuery([Float](repeating: 1, count: n), [key], scale: 1)
            #expect(got == KVRowsReference.bf16Dots(query: [Float](repeating: 1, count: n), rows: [key], scale: 1), "subnormal keys n=\(n)")
            #expect(got[0] > 0)
        }
        // Mixed random data with many ties: keys drawn from values with exactly 9 significant bits.
        var rng = TestRandom(seed: 41)
        for n in [13, 64, 256] {
            let rows = (0 ..< 20).map { _ in
                KVRowsTests.store(.f16, (0 ..< n).map { _ in Float(Int(rng.next() % 1024) - 512) / 128 })
            }
            let q = (0 ..< n).map { _ in Float(Int(rng.next() % 1024) - 512) / 64 }
            #expect(Self.perQuery(q, rows).map(\.bitPattern)
                == KVRowsReference.bf16Dots(query: q, rows: rows, scale: 0.125).map(\.bitPattern), "ties n=\(n)")
        }
    }

    /// The bf16 scores (reference and kernel) against the exact ones (f64 sums of the f32 query and the f16
    /// keys): each operand off by at most 2^-8 relative (half of bf16's 2^-7 spacing), so each product by 2^-7
    /// (+ 2^-16), plus f32 summation
    /// over at most n + 2 roundings. The same data must also show the bf16 error is really there (a kernel
    /// that kept f32 products would sit far inside the bound, which the bitwise test catches).
    @Test func bf16ScoresStayWithinBF16Bound() {
        var rng = TestRandom(seed: 43)
        var worst: Double = 0
        for n in Self.lengths {
            let rows = Self.rows(&rng, count: 40, n: n, scale: 3)
            for _ in 0 ..< 4 {
                let q = rng.floats(n, scale: 2)
                let ref = KVRowsReference.bf16Dots(query: q, rows: rows, scale: 0.125)
                let got = Self.perQuery(q, rows)
                for (j, row) in rows.enumerated() {
                    let k = KVRowsReference.load(.f16, row, count: n)
                    var exact = 0.0, magnitude = 0.0
                    for i in 0 ..< n { exact += Double(q[i]) * Double(k[i]); magnitude += abs(Double(q[i]) * Double(k[i])) }
                    exact *= 0.125; magnitude *= 0.125
                    let bound = magnitude * (0x1p-7 + 0x1p-16 + Double(n + 2) * 0x1p-24) + 1e-30
                    #expect(abs(Double(ref[j]) - exact) <= bound, "reference n=\(n) row \(j): \(ref[j]) vs \(exact)")
                    if KVRows.bf16Arithmetic {
                        #expect(abs(Double(got[j]) - exact) <= bound, "kernel n=\(n) row \(j): \(got[j]) vs \(exact)")
                    }
                    worst = max(worst, abs(Double(ref[j]) - exact) / max(magnitude, 1e-30))
                }
            }
        }
        // Random operands lose ~2^-9 relative per product on average: the error must be of that order, not f32's.
        #expect(worst > 0x1p-14, "bf16 reference error \(worst) relative to Σ|qk|: is it rounding?")
    }
}
