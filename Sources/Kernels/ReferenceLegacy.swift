import GGUF

// Scalar reference for ggml's 32-element block formats (ggml-common.h):
//   Q4_0 {d; qs[16]}        x = d*(q-8)       Q4_1 {d; m; qs[16]}        x = d*q + m
//   Q5_0 {d; qh[4]; qs[16]} x = d*(q-16)      Q5_1 {d; m; qh[4]; qs[16]} x = d*q + m
//   Q8_0 {d; qs[32]}        x = d*q           Q8_1 {d; s = d*sum(q); qs[32]}
// Nibble j of a block holds element j (low) and element j+16 (high); Q5 high bits come from qh bit j / j+16.

/// Integer values of one legacy block into `q[0..<32]`; the element is `d*q + m`.
@inline(__always)
func decodeLegacy(_ type: GGMLType, _ b: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int32>) -> (d: Float, m: Float) {
    switch type {
    case .q4_0, .q4_1:
        let hasMin = type == .q4_1
        let qs = hasMin ? 4 : 2
        let bias: Int32 = hasMin ? 0 : 8
        for j in 0 ..< 16 {
            let byte = b.u8(qs + j)
            q[j] = Int32(byte & 0xF) - bias
            q[j + 16] = Int32(byte >> 4) - bias
        }
        return (b.f16(0), hasMin ? b.f16(2) : 0)
    case .q5_0, .q5_1:
        let hasMin = type == .q5_1
        let qhOff = hasMin ? 4 : 2
        let qh = b.loadUnaligned(fromByteOffset: qhOff, as: UInt32.self)
        let bias: Int32 = hasMin ? 0 : 16
        for j in 0 ..< 16 {
            let byte = b.u8(qhOff + 4 + j)
            q[j] = Int32(UInt32(byte & 0xF) | ((qh >> UInt32(j)) & 1) << 4) - bias
            q[j + 16] = Int32(UInt32(byte >> 4) | ((qh >> UInt32(j + 16)) & 1) << 4) - bias
        }
        return (b.f16(0), hasMin ? b.f16(2) : 0)
    case .q8_0, .q8_1:
        let qs = type == .q8_1 ? 4 : 2
        for j in 0 ..< 32 { q[j] = Int32(b.i8(qs + j)) }
        return (b.f16(0), 0)
    default:
        preconditionFailure("decodeLegacy called with \(type)")
    }
}

/// Reference encoders (round-to-nearest, no search): any valid encoding is fine for test data and
/// activations, and these mirror ggml's `quantize_row_*_ref` choices of scale.
func quantizeLegacyBlock(_ type: GGMLType, _ x: UnsafePointer<Float>, _ b: UnsafeMutableRawPointer) {
    switch type {
    case .q4_0, .q5_0:
        let levels: Float = type == .q4_0 ? -8 : -16
        var amax: Float = 0, maxv: Float = 0
        for j in 0 ..< 32 where abs(x[j]) > amax { amax = abs(x[j]); maxv = x[j] }
        let d = maxv / levels
        let id: Float = d != 0 ? 1 / d : 0
        b.setF16(0, d)
        let top = type == .q4_0 ? 15 : 31
        let offset: Float = type == .q4_0 ? 8.5 : 16.5
        var codes = [Int](repeating: 0, count: 32)
        for j in 0 ..< 32 { codes[j] = min(top, Int(x[j] * id + offset)) }
        storeLegacyCodes(type, codes, b, qsOffset: type == .q4_0 ? 2 : 6, qhOffset: 2)
    case .q4_1, .q5_1:
        var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude
        for j in 0 ..< 32 { lo = min(lo, x[j]); hi = max(hi, x[j]) }
        let top = type == .q4_1 ? 15 : 31
        let d = (hi - lo) / Float(top)
        let id: Float = d != 0 ? 1 / d : 0
        b.setF16(0, d)
        b.setF16(2, lo)
        var codes = [Int](repeating: 0, count: 32)
        for j in 0 ..< 32 { codes[j] = min(top, Int((x[j] - lo) * id + 0.5)) }
        storeLegacyCodes(type, codes, b, qsOffset: type == .q4_1 ? 4 : 8, qhOffset: 4)
    case .q8_0, .q8_1:
        var amax: Float = 0
        for j in 0 ..< 32 { amax = max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        b.setF16(0, d)
        let qs = type == .q8_1 ? 4 : 2
        var sum = 0
        for j in 0 ..< 32 {
            let v = Int((x[j] * id).rounded())
            sum += v
            b.storeBytes(of: Int8(v), toByteOffset: qs + j, as: Int8.self)
        }
        if type == .q8_1 { b.setF16(2, Float(sum) * d) }
    default:
        preconditionFailure("quantizeLegacyBlock called with \(type)")
    }
}

private func storeLegacyCodes(_ type: GGMLType, _ codes: [Int], _ b: UnsafeMutableRawPointer, qsOffset: Int, qhOffset: Int) {
    var qh: UInt32 = 0
    for j in 0 ..< 16 {
        let lo = codes[j], hi = codes[j + 16]
        b.setU8(qsOffset + j, UInt8(lo & 0xF) | UInt8(hi & 0xF) << 4)
        qh |= UInt32((lo >> 4) & 1) << UInt32(j) | UInt32((hi >> 4) & 1) << UInt32(j + 16)
    }
    if type == .q5_0 || type == .q5_1 { b.storeBytes(of: qh, toByteOffset: qhOffset, as: UInt32.self) }
}
