import GGUF

// Scalar reference for ggml's 256-element k-quant super-blocks (ggml-common.h). Every one decodes to
// integers q[e], an integer scale sc[g] and min m[g] per group g (16 elements for Q2_K/Q3_K/Q6_K,
// 32 for Q4_K/Q5_K), and two fp16 super-scales: x[e] = d*sc[g]*q[e] - dmin*m[g].
// Element e of the 128-element half h = e/128 sits at position l = e%32 of quarter j = (e%128)/32.

struct KDecoded {
    var d: Float
    var dmin: Float
    var groupSize: Int
}

/// The 6-bit scale and min of sub-block `j` (0..<8) in Q4_K / Q5_K's 12 packed scale bytes.
@inline(__always) func scaleMinK4(_ j: Int, _ s: UnsafeRawPointer) -> (Int32, Int32) {
    if j < 4 { return (Int32(s.u8(j) & 63), Int32(s.u8(j + 4) & 63)) }
    let sc = (s.u8(j + 4) & 0xF) | ((s.u8(j - 4) >> 6) << 4)
    let m = (s.u8(j + 4) >> 4) | ((s.u8(j) >> 6) << 4)
    return (Int32(sc), Int32(m))
}

@inline(__always)
func decodeK(_ type: GGMLType, _ b: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int32>,
             _ sc: UnsafeMutablePointer<Int32>, _ m: UnsafeMutablePointer<Int32>) -> KDecoded {
    switch type {
    case .q2_K:
        // {scales[16]: sc | m<<4; qs[64]; d; dmin}
        for e in 0 ..< 256 {
            let h = e / 128, j = (e % 128) / 32, l = e % 32
            q[e] = Int32((b.u8(16 + h * 32 + l) >> UInt8(2 * j)) & 3)
        }
        for g in 0 ..< 16 { let s = b.u8(g); sc[g] = Int32(s & 0xF); m[g] = Int32(s >> 4) }
        return KDecoded(d: b.f16(80), dmin: b.f16(82), groupSize: 16)
    case .q3_K:
        // {hmask[32]; qs[64]; scales[12]: 16 x 6 bits, biased by 32; d}
        for e in 0 ..< 256 {
            let h = e / 128, j = (e % 128) / 32, l = e % 32
            let low = Int32((b.u8(32 + h * 32 + l) >> UInt8(2 * j)) & 3)
            let high = (b.u8(l) >> UInt8(h * 4 + j)) & 1
            q[e] = low - (high != 0 ? 0 : 4)
        }
        for g in 0 ..< 16 {
            let low = (b.u8(96 + g % 8) >> UInt8(4 * (g / 8))) & 0xF
            let high = (b.u8(96 + 8 + g % 4) >> UInt8(2 * (g / 4))) & 3
            sc[g] = Int32(low | high << 4) - 32
            m[g] = 0
        }
        return KDecoded(d: b.f16(108), dmin: 0, groupSize: 16)
    case .q4_K, .q5_K:
        // {d; dmin; scales[12]; (Q5_K: qh[32];) qs[128]}: byte c*32+l holds elements c*64+l (low) and c*64+32+l (high).
        let five = type == .q5_K
        let qs = five ? 48 : 16
        for e in 0 ..< 256 {
            let c = e / 64, hiNibble = (e % 64) >= 32, l = e % 32
            let byte = b.u8(qs + c * 32 + l)
            var v = Int32(hiNibble ? byte >> 4 : byte & 0xF)
            if five { v |= Int32((b.u8(16 + l) >> UInt8(2 * c + (hiNibble ? 1 : 0))) & 1) << 4 }
            q[e] = v
        }
        for g in 0 ..< 8 { (sc[g], m[g]) = scaleMinK4(g, b + 4) }
        return KDecoded(d: b.f16(0), dmin: b.f16(2), groupSize: 32)
    case .q6_K:
        // {ql[128]; qh[64]; scales[16] int8; d}
        for e in 0 ..< 256 {
            let h = e / 128, k = (e % 128) / 32, l = e % 32
            let lowByte = b.u8(h * 64 + l + (k & 1) * 32)
            let low = k < 2 ? lowByte & 0xF : lowByte >> 4
            let high = (b.u8(128 + h * 32 + l) >> UInt8(2 * k)) & 3
            q[e] = Int32(low | high << 4) - 32
        }
        for g in 0 ..< 16 { sc[g] = Int32(b.i8(192 + g)); m[g] = 0 }
        return KDecoded(d: b.f16(208), dmin: 0, groupSize: 16)
    default:
        preconditionFailure("decodeK called with \(type)")
    }
}

/// Reference encoder for one k-quant super-block: per-group min/max, scales rounded to their bit
/// width, then codes rounded against the rounded scales. Valid, not optimal (ggml searches).
func quantizeKBlock(_ type: GGMLType, _ x: UnsafePointer<Float>, _ b: UnsafeMutableRawPointer) {
    let group = (type == .q4_K || type == .q5_K) ? 32 : 16
    let groups = 256 / group
    var scale = [Float](repeating: 0, count: groups), minv = [Float](repeating: 0, count: groups)
    var sc = [Int](repeating: 0, count: groups), mq = [Int](repeating: 0, count: groups)
    var q = [Int](repeating: 0, count: 256)
    var d: Float = 0, dmin: Float = 0
    switch type {
    case .q2_K, .q4_K, .q5_K:
        // Asymmetric: x = d*sc*q - dmin*m with q in 0...top.
        let top: Float = type == .q2_K ? 3 : (type == .q4_K ? 15 : 31)
        let scaleTop: Float = type == .q2_K ? 15 : 63
        // Mins first, rounded up so the lowest value stays reachable; then scales, rounded up so the
        // highest does: rounding either down would clamp codes and bias every group the same way.
        var hiv = [Float](repeating: 0, count: groups)
        for g in 0 ..< groups {
            var lo: Float = 0, hi: Float = 0
            for i in 0 ..< group { lo = min(lo, x[g * group + i]); hi = max(hi, x[g * group + i]) }
            minv[g] = -lo
            hiv[g] = hi
        }
        dmin = halfToFloat(floatToHalf((minv.max() ?? 0) / scaleTop))
        for g in 0 ..< groups {
            mq[g] = dmin > 0 ? min(Int(scaleTop), Int((minv[g] / dmin).rounded(.up))) : 0
            scale[g] = (hiv[g] + dmin * Float(mq[g])) / top
        }
        d = halfToFloat(floatToHalf((scale.max() ?? 0) / scaleTop))
        for g in 0 ..< groups {
            sc[g] = d > 0 ? min(Int(scaleTop), Int((scale[g] / d).rounded(.up))) : 0
            let step = d * Float(sc[g]), off = dmin * Float(mq[g])
            for i in 0 ..< group {
                let v = step > 0 ? ((x[g * group + i] + off) / step).rounded() : 0
                q[g * group + i] = Int(max(0, min(top, v)))
            }
        }
    case .q3_K, .q6_K:
        // Symmetric: x = d*sc*q, q in -half ..< half, sc signed.
        let half: Float = type == .q3_K ? 4 : 32
        let scaleTop: Float = type == .q3_K ? 31 : 127
        for g in 0 ..< groups {
            var amax: Float = 0
            for i in 0 ..< group { amax = max(amax, abs(x[g * group + i])) }
            scale[g] = amax / (half - 1)
        }
        d = halfToFloat(floatToHalf((scale.max() ?? 0) / scaleTop))
        for g in 0 ..< groups {
            sc[g] = d > 0 ? min(Int(scaleTop), Int((scale[g] / d).rounded())) : 0
            let step = d * Float(sc[g])
            for i in 0 ..< group {
                let v = step > 0 ? (x[g * group + i] / step).rounded() : 0
                q[g * group + i] = Int(max(-half, min(half - 1, v)))
            }
        }
    default:
        preconditionFailure("quantizeKBlock called with \(type)")
    }
    b.initializeMemory(as: UInt8.self, repeating: 0, count: type.typeSize)
    switch type {
    case .q2_K:
        for g in 0 ..< 16 { b.setU8(g, UInt8(sc[g]) | UInt8(mq[g]) << 4) }
        for e in 0 ..< 256 {
            let h = e / 128, j = (e % 128) / 32, l = e % 32
            let o = 16 + h * 32 + l
            b.setU8(o, b.load(fromByteOffset: o, as: UInt8.self) | UInt8(q[e]) << UInt8(2 * j))
        }
        b.setF16(80, d); b.setF16(82, dmin)
    case .q3_K:
        for e in 0 ..< 256 {
            let h = e / 128, j = (e % 128) / 32, l = e % 32
            let v = q[e] + 4
            let o = 32 + h * 32 + l
            b.setU8(o, b.load(fromByteOffset: o, as: UInt8.self) | UInt8(v & 3) << UInt8(2 * j))
            if v >= 4 { b.setU8(l, b.load(fromByteOffset: l, as: UInt8.self) | UInt8(1) << UInt8(h * 4 + j)) }
        }
        for g in 0 ..< 16 {
            let v = UInt8(sc[g] + 32)
            let lo = 96 + g % 8, hi = 104 + g % 4
            b.setU8(lo, b.load(fromByteOffset: lo, as: UInt8.self) | (v & 0xF) << UInt8(4 * (g / 8)))
            b.setU8(hi, b.load(fromByteOffset: hi, as: UInt8.self) | (v >> 4) << UInt8(2 * (g / 4)))
        }
        b.setF16(108, d)
    case .q4_K, .q5_K:
        b.setF16(0, d); b.setF16(2, dmin)
        for j in 0 ..< 8 {
            let s = UInt8(sc[j]), mm = UInt8(mq[j])
            if j < 4 {
                b.setU8(4 + j, b.load(fromByteOffset: 4 + j, as: UInt8.self) | s)
                b.setU8(4 + j + 4, b.load(fromByteOffset: 4 + j + 4, as: UInt8.self) | mm)
            } else {
                b.setU8(4 + j + 4, (s & 0xF) | (mm & 0xF) << 4)
                b.setU8(4 + j - 4, b.load(fromByteOffset: 4 + j - 4, as: UInt8.self) | (s >> 4) << 6)
                b.setU8(4 + j, b.load(fromByteOffset: 4 + j, as: UInt8.self) | (mm >> 4) << 6)
            }
        }
        let five = type == .q5_K
        let qs = five ? 48 : 16
        for e in 0 ..< 256 {
            let c = e / 64, hiNibble = (e % 64) >= 32, l = e % 32
            let o = qs + c * 32 + l
            let v = UInt8(q[e])
            b.setU8(o, b.load(fromByteOffset: o, as: UInt8.self) | (hiNibble ? (v & 0xF) << 4 : v & 0xF))
            if five, v >= 16 {
                b.setU8(16 + l, b.load(fromByteOffset: 16 + l, as: UInt8.self) | UInt8(1) << UInt8(2 * c + (hiNibble ? 1 : 0)))
            }
        }
    case .q6_K:
        for e in 0 ..< 256 {
            let h = e / 128, k = (e % 128) / 32, l = e % 32
            let v = UInt8(q[e] + 32)
            let lo = h * 64 + l + (k & 1) * 32
            b.setU8(lo, b.load(fromByteOffset: lo, as: UInt8.self) | (k < 2 ? v & 0xF : (v & 0xF) << 4))
            let hi = 128 + h * 32 + l
            b.setU8(hi, b.load(fromByteOffset: hi, as: UInt8.self) | (v >> 4) << UInt8(2 * k))
        }
        for g in 0 ..< 16 { b.storeBytes(of: Int8(sc[g]), toByteOffset: 192 + g, as: Int8.self) }
        b.setF16(208, d)
    default:
        break
    }
}

/// Q8_K activation block {float d; int8 qs[256]; int16 bsums[16]}: symmetric, |q| <= 127 like ggml's
/// quantize_row_q8_K_ref (so the AVX2 sign trick never meets -128), with per-16 sums for the min terms.
func quantizeQ8KBlock(_ x: UnsafePointer<Float>, _ b: UnsafeMutableRawPointer) {
    var amax: Float = 0
    for j in 0 ..< 256 { amax = max(amax, abs(x[j])) }
    let d = amax / 127
    let id: Float = d != 0 ? 1 / d : 0
    b.storeBytes(of: d, toByteOffset: 0, as: Float.self)
    for g in 0 ..< 16 {
        var sum: Int16 = 0
        for i in 0 ..< 16 {
            let v = Int8(max(-127, min(127, (x[g * 16 + i] * id).rounded())))
            b.storeBytes(of: v, toByteOffset: 4 + g * 16 + i, as: Int8.self)
            sum += Int16(v)
        }
        b.storeBytes(of: sum, toByteOffset: 260 + g * 2, as: Int16.self)
    }
}
