import Foundation
import Kernels
import Testing

/// The bf16 weighted sums over f16 KV rows (kv.c's accumulate_block_f16_bf16, taken when
/// ``KVRows/bf16Arithmetic`` is on): bit for bit against ``KVRowsReference/accumulateBF16(_:weights:rows:)``,
/// the same bits however a range of rows is split into calls or grouped into blocks (attention's prefix /
/// shared run / suffix calls differ between a decode step and a prompt batch), and within bf16's error of
/// the exact sum. Where the path is off (no AVX512_BF16, or SWIFTLM_ISA=avx512vnni / avx2 / scalar) the
/// kernel tests check that the f32 kernels ran instead; the reference's own tests run everywhere.
struct KVRowsBF16SumsTests {
    static let lengths = [1, 7, 13, 16, 33, 48, 64, 100, 256]

    // Which path runs (the switch against /proc/cpuinfo and SWIFTLM_ISA): KVRowsBF16ScoresTests.switchFollowsTheCPU.

    /// f16 rows from raw half bits.
    static func rows(_ bits: [[UInt16]]) -> [[UInt8]] { bits.map { $0.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] } } }

    /// sl_kv_accumulate over `rows` (one call).
    static func accumulate(_ o: [Float], _ p: ArraySlice<Float>, _ packed: [UInt8], stride: Int, from j0: Int, count: Int) -> [Float] {
        var o = o
        guard count > 0 else { return o }
        let n = o.count, w = Array(p)
        packed.withUnsafeBytes { raw in
            KVRows.accumulate(.f16, into: &o, weights: w, rows: raw.baseAddress! + j0 * stride, stride: stride, count: count, length: n)
        }
        return o
    }

    /// sl_kv_accumulate_block: outputs from `starts`, weights[r][offset + j] for rows j0 ..< j0 + count.
    static func blocked(_ starts: [[Float]], _ weights: [[Float]], offset: Int, _ packed: [UInt8], stride: Int, from j0: Int,
                        count: Int) -> [[Float]] {
        let m = starts.count, n = starts[0].count, width = weights[0].count
        let o = UnsafeMutablePointer<Float>.allocate(capacity: m * n), w = UnsafeMutablePointer<Float>.allocate(capacity: m * width)
        defer { o.deallocate(); w.deallocate() }
        for r in 0 ..< m {
            (o + r * n).initialize(from: starts[r], count: n)
            (w + r * width).initialize(from: weights[r], count: width)
        }
        let op: [UnsafeMutablePointer<Float>?] = (0 ..< m).map { o + $0 * n }
        let wp: [UnsafePointer<Float>?] = (0 ..< m).map { UnsafePointer(w + $0 * width) }
        packed.withUnsafeBytes { raw in
            KVRows.accumulate(.f16, into: op, count: m, weights: wp, offset: offset, rows: raw.baseAddress! + j0 * stride, stride: stride,
                              rowCount: count, length: n)
        }
        return (0 ..< m).map { Array(UnsafeBufferPointer(start: o + $0 * n, count: n)) }
    }

    static func bits(_ x: [Float]) -> [UInt32] { x.map(\.bitPattern) }

    /// Which arithmetic ran: on random data bf16 rounding changes almost every lane, so the kernel's result
    /// equals the bf16 reference where the switch is on and differs from it where it is off.
    @Test func kernelsRunTheSwitchedPath() {
        var rng = TestRandom(seed: 41)
        let n = 64, count = 17
        let rows = (0 ..< count).map { _ in KVRowsTests.store(.f16, rng.floats(n, scale: 2)) }
        let p = rng.floats(count).map { abs($0) }, o0 = rng.floats(n)
        let packed = rows.flatMap { $0 }
        let one = Self.accumulate(o0, p[...], packed, stride: 2 * n, from: 0, count: count)
        let block = Self.blocked([o0, o0, o0, o0, o0], [[Float]](repeating: p, count: 5), offset: 0, packed, stride: 2 * n, from: 0,
                                 count: count)
        let want = Self.bits(KVRowsReference.accumulateBF16(o0, weights: p, rows: rows))
        let same = zip(Self.bits(one), want).filter { $0 == $1 }.count
        if KVRows.bf16Arithmetic {
            #expect(Self.bits(one) == want)
            for b in block { #expect(Self.bits(b) == want) }
        } else {
            #expect(same < n / 2, "f32 kernels gave the bf16 reference's bits in \(same) of \(n) lanes")
            let f32 = KVRowsReference.accumulate(.f16, o0, weights: p, rows: rows)
            for i in 0 ..< n { #expect(abs(one[i] - f32[i]) <= Float(count) * 1e-5) }
        }
    }

    /// Per-output and blocked calls bit for bit against the reference: every head size (dims tails at 1, 7,
    /// 13, 33, 100), row counts around a pair, a converted tile (128 rows at 64 dims, 32 at 256) and their
    /// tails, output counts around the group of 4 (24: smollm2's 8 rows x 3 heads), a nonzero offset.
    @Test(.enabled(if: KVRows.bf16Arithmetic)) func matchesReferenceBitForBit() {
        var rng = TestRandom(seed: 43)
        for n in Self.lengths {
            for count in [1, 2, 3, 17, 70, 128, 129, 300] {
                let rows = (0 ..< count).map { _ in KVRowsTests.store(.f16, rng.floats(n, scale: 2)) }
                let packed = rows.flatMap { $0 }, off = 3
                for m in [1, 2, 3, 5, 24] {
                    let weights = (0 ..< m).map { _ in rng.floats(off + count).map { abs($0) / Float(count) } }
                    let starts = (0 ..< m).map { _ in rng.floats(n) }
                    let sums = Self.blocked(starts, weights, offset: off, packed, stride: 2 * n, from: 0, count: count)
                    for r in 0 ..< m {
                        let want = Self.bits(KVRowsReference.accumulateBF16(starts[r], weights: Array(weights[r][off...]), rows: rows))
                        #expect(Self.bits(sums[r]) == want, "blocked n=\(n) count=\(count) m=\(m) r=\(r)")
                        if r == 0 {
                            let one = Self.accumulate(starts[r], weights[r][off...], packed, stride: 2 * n, from: 0, count: count)
                            #expect(Self.bits(one) == want, "per output n=\(n) count=\(count)")
                        }
                    }
                }
            }
        }
    }

    /// A range of rows split into consecutive calls at any points (odd lengths, pairs cut in two, across
    /// tile boundaries), per output or blocked or mixed as attention's prefix / shared run / suffix, gives
    /// the bits of one call: the chain per lane runs over the rows in order whatever the pairing.
    @Test(.enabled(if: KVRows.bf16Arithmetic)) func splitCallsMatchOneCall() {
        var rng = TestRandom(seed: 47)
        for n in Self.lengths {
            let count = 301, m = 7
            let rows = (0 ..< count).map { _ in KVRowsTests.store(.f16, rng.floats(n, scale: 2)) }
            let packed = rows.flatMap { $0 }
            let weights = (0 ..< m).map { _ in rng.floats(count).map { abs($0) / Float(count) } }
            let starts = (0 ..< m).map { _ in rng.floats(n) }
            let whole = Self.blocked(starts, weights, offset: 0, packed, stride: 2 * n, from: 0, count: count)
            for trial in 0 ..< 4 {
                // Random cut points: the pieces alternate between per-output and blocked calls from trial 2 on.
                var cuts = [0]
                while cuts.last! < count { cuts.append(min(count, cuts.last! + 1 + Int(rng.next() % (trial == 0 ? 3 : 97)))) }
                var split = starts
                for (k, (a, b)) in zip(cuts, cuts.dropFirst()).enumerated() {
                    if trial >= 2 && k % 2 == 0 {
                        for r in 0 ..< m { split[r] = Self.accumulate(split[r], weights[r][a ..< b], packed, stride: 2 * n, from: a, count: b - a) }
                    } else {
                        split = Self.blocked(split, weights, offset: a, packed, stride: 2 * n, from: a, count: b - a)
                    }
                }
                for r in 0 ..< m { #expect(Self.bits(split[r]) == Self.bits(whole[r]), "n=\(n) trial \(trial) cuts \(cuts.count - 1) r=\(r)") }
            }
            // Each output alone, one call, equals its row of the block.
            for r in 0 ..< m {
                #expect(Self.bits(Self.accumulate(starts[r], weights[r][...], packed, stride: 2 * n, from: 0, count: count)) == Self.bits(whole[r]))
            }
        }
    }

    /// Within bf16's error of the exact sum (f16 values, f32 weights, in Double): each product off by at most
    /// ~2^-7 of its size (two roundings to 8 significant bits, 2^-8 each), each chain step by 2^-24 of the
    /// running sum.
    /// The kernel where the path is on; the reference everywhere. The bound is tight enough to catch a
    /// missing row.
    @Test func withinBF16BoundOfExactSum() {
        var rng = TestRandom(seed: 53)
        for n in Self.lengths {
            for count in [1, 5, 64, 300] {
                let values = (0 ..< count).map { _ in rng.floats(n, scale: 2) }
                let rows = values.map { KVRowsTests.store(.f16, $0) }
                let stored = rows.map { KVRowsReference.load(.f16, $0, count: n) }
                let p = rng.floats(count).map { abs($0) / Float(count) * 2 }, o0 = rng.floats(n)
                let ref = KVRowsReference.accumulateBF16(o0, weights: p, rows: rows)
                let got = KVRows.bf16Arithmetic ? Self.accumulate(o0, p[...], rows.flatMap { $0 }, stride: 2 * n, from: 0, count: count) : ref
                let dropped = KVRowsReference.accumulateBF16(o0, weights: Array(p.dropLast()), rows: Array(rows.dropLast()))
                var missed = 0
                for i in 0 ..< n {
                    var exact = Double(o0[i]), products = 0.0
                    for j in 0 ..< count {
                        exact += Double(p[j]) * Double(stored[j][i])
                        products += Double(p[j]) * Double(stored[j][i].magnitude)
                    }
                    let bound = products * 0x1.01p-7 + Double(count + 1) * 0x1p-24 * (Double(o0[i].magnitude) + products)
                    #expect(abs(Double(ref[i]) - exact) <= bound, "reference n=\(n) count=\(count) i=\(i)")
                    #expect(abs(Double(got[i]) - exact) <= bound, "kernel n=\(n) count=\(count) i=\(i)")
                    if abs(Double(dropped[i]) - exact) > bound { missed += 1 }
                }
                if n >= 16 && count == 5 { #expect(missed > 0, "the bound passes a sum missing its last row: n=\(n) count=\(count)") }
            }
        }
    }

    /// Hand-computed edge cases of the bf16 step, through the reference and (where on) the kernels, per
    /// output, blocked, with the case's key alone (paired with the -0 pad) and after a zero-weight key:
    /// flush to zero decided after rounding, denormal accumulators read as zero, signed zeros, key order.
    @Test func edgeCases() {
        let cases: [(o: Float, keys: [(p: Float, v: UInt16)], want: UInt32, why: String)] = [
            (0x1p-126, [(0x1p-126, 0x8001)], 0x0000_0000, "2^-126 - 2^-150 is tiny: +0 (a plain fma rounds it to 2^-126)"),
            (0x1.000002p-126, [(0x1.4p-125, 0x8001)], 0x0080_0000, "2^-126 - 2^-151 rounds to 2^-126: not tiny"),
            (-0x1p-126, [(0x1p-126, 0x0001)], 0x8000_0000, "-2^-126 + 2^-150 flushes to -0"),
            (0x1p-127, [(0x1p-102, 0x0001)], 0x0080_0000, "a denormal accumulator reads as zero: 2^-126, not 1.5 * 2^-126"),
            (-0.0, [(0, 0x3C00)], 0x0000_0000, "-0 + (+0 * 1) = +0"),
            (-0.0, [(0, 0xBC00)], 0x8000_0000, "-0 + (+0 * -1) = -0"),
            (-0.0, [(0x1p-130, 0x3C00)], 0x0000_0000, "a denormal weight reads as +0"),
            (1, [(1, 0x0001), (1.5, 0x0001)], 0x3F80_0001, "keys in order: (1 + 2^-24) + 1.5 * 2^-24 = 1 + 2^-23"),
            (1, [(1.5, 0x0001), (1, 0x0001)], 0x3F80_0002, "keys in order: (1 + 1.5 * 2^-24) + 2^-24 = 1 + 2^-22"),
            (1, [(1, 0x0001), (1.5, 0x0001), (1, 0x0001)], 0x3F80_0002, "three keys, the last one paired with the pad"),
            (1, [(0x1.0101p0, 0x3C00)], 0x4000_8000, "the weight rounds to bf16: 1 + 2^-8 + 2^-16 -> 1 + 2^-7, sum 2 + 2^-7"),
        ]
        for (o, keys, want, why) in cases {
            let ref = KVRowsReference.accumulateBF16([o], weights: keys.map(\.p), rows: Self.rows(keys.map { [$0.v] }))
            #expect(ref[0].bitPattern == want, "reference: \(why)")
            guard KVRows.bf16Arithmetic else { continue }
            for n in [1, 20] {
                for lead in [false, true] { // optionally after a key of weight 0 and value 1 (+0 product)
                    let ks = (lead ? [(p: Float(0), v: UInt16(0x3C00))] : []) + keys
                    let packed = Self.rows(ks.map { [UInt16](repeating: $0.v, count: n) }).flatMap { $0 }
                    let p = ks.map(\.p), start = [Float](repeating: o, count: n)
                    // The lead key turns a -0 start into +0 (and reads a denormal one as zero, as the case's own key does).
                    let wantAll = [UInt32](repeating: lead && o.bitPattern == 0x8000_0000 ? want & 0x7FFF_FFFF : want, count: n)
                    #expect(Self.bits(Self.accumulate(start, p[...], packed, stride: 2 * n, from: 0, count: ks.count)) == wantAll, "\(why) n=\(n) lead=\(lead)")
                    for b in Self.blocked([start, start, start], [p, p, p], offset: 0, packed, stride: 2 * n, from: 0, count: ks.count) {
                        #expect(Self.bits(b) == wantAll, "blocked: \(why) n=\(n) lead=\(lead)")
                    }
                    // One key per call.
                    var one = start
                    for j in ks.indices { one = Self.accumulate(one, p[j ... j], packed, stride: 2 * n, from: j, count: 1) }
                    #expect(Self.bits(one) == wantAll, "one key per call: \(why) n=\(n) lead=\(lead)")
                }
            }
        }
        // No rows: the outputs are untouched, a denormal included.
        #expect(Self.accumulate([0x1p-130, -0.0], ArraySlice<Float>(), [], stride: 4, from: 0, count: 0).map(\.bitPattern) == [Float(0x1p-130).bitPattern, 0x8000_0000])
    }
}
