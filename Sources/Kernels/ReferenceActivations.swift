import GGUF

extension Reference {
    /// Quantizes `count` activations (a whole number of blocks) to `type` (`.q8_0`, `.q8_1`, `.q8_K`
    /// or `.f32`) with exactly the arithmetic llama.cpp's CPU backend uses on x86, which is not that of
    /// ggml's `quantize_row_*_ref`:
    /// - Q8_0 / Q8_1 (`quantize_row_q8_0/q8_1` in ggml-cpu/arch/x86/quants.c): d = amax/127 stored as
    ///   F16, codes = x · (127/amax) rounded half to even; Q8_1's s = F16(d · Σcodes) with the float d.
    /// - Q8_K (`quantize_row_q8_K_ref`, which x86 calls): the element of largest magnitude `max` keeps
    ///   its sign, iscale = -127/max, codes = x · iscale rounded half to even, d = 1/iscale (negative
    ///   when max > 0: the codes are negated, so products are unchanged).
    ///
    /// The `_ref` variants (multiply by 1/d, round half away from zero) give the same codes except on
    /// values within an ulp of a half step. Those are common where activations sit on a lattice (a
    /// Q8_0 embedding row after RMSNorm), and each flipped code spreads through the layers, so the
    /// activations must be quantized exactly like this to agree with llama.cpp (issue 16).
    public static func quantizeActivations(_ type: GGMLType, _ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer,
                                           count: Int) {
        precondition([.f32, .q8_0, .q8_1, .q8_K].contains(type) && count % type.blockSize == 0,
                     "quantizeActivations: \(type) x \(count)")
        switch type {
        case .q8_0, .q8_1:
            for blk in 0 ..< count / 32 { quantizeQ8ActivationBlock(type, src + blk * 32, dst + blk * type.typeSize) }
        case .q8_K:
            for blk in 0 ..< count / 256 { quantizeQ8KActivationBlock(src + blk * 256, dst + blk * type.typeSize) }
        default:
            quantize(.f32, src, dst, count: count)
        }
    }
}

/// One Q8_0 ({f16 d; int8 qs[32]}) or Q8_1 ({f16 d; f16 s; int8 qs[32]}) activation block.
private func quantizeQ8ActivationBlock(_ type: GGMLType, _ x: UnsafePointer<Float>, _ b: UnsafeMutableRawPointer) {
    var amax: Float = 0
    for j in 0 ..< 32 { amax = max(amax, abs(x[j])) }
    let d = amax / 127
    let id: Float = amax != 0 ? 127 / amax : 0
    b.setF16(0, d)
    let qs = type == .q8_1 ? 4 : 2
    var sum = 0
    for j in 0 ..< 32 {
        let v = Int((x[j] * id).rounded(.toNearestOrEven))
        sum += v
        b.storeBytes(of: Int8(v), toByteOffset: qs + j, as: Int8.self)
    }
    if type == .q8_1 { b.setF16(2, d * Float(sum)) }
}

/// One Q8_K activation block {float d; int8 qs[256]; int16 bsums[16]}.
private func quantizeQ8KActivationBlock(_ x: UnsafePointer<Float>, _ b: UnsafeMutableRawPointer) {
    var amax: Float = 0, extreme: Float = 0
    for j in 0 ..< 256 where abs(x[j]) > amax { amax = abs(x[j]); extreme = x[j] }
    let iscale: Float = amax != 0 ? -127 / extreme : 0
    b.storeBytes(of: amax != 0 ? 1 / iscale : 0, toByteOffset: 0, as: Float.self)
    for g in 0 ..< 16 {
        var sum: Int16 = 0
        for i in 0 ..< 16 {
            let v = Int8(min(127, (x[g * 16 + i] * iscale).rounded(.toNearestOrEven)))
            b.storeBytes(of: v, toByteOffset: 4 + g * 16 + i, as: Int8.self)
            sum += Int16(v)
        }
        b.storeBytes(of: sum, toByteOffset: 260 + g * 2, as: Int16.self)
    }
}
