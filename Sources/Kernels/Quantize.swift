import Foundation
import GGUF

// Quantizers from F32 into ggml's block formats, for `swiftlm create --quantize`. Each one follows
// the rounding of ggml's scalar `quantize_row_*_ref` (ggml-quants.c) operation for operation, so the
// blocks are bit-identical to what llama-quantize writes for the same input without an imatrix.
// Float evaluation order matters for that: every expression below keeps ggml's association, and
// nothing is fused into an FMA (Swift never contracts `a * b + c` on its own).
//
// Block layouts (ggml-common.h):
//   Q8_0 {d: f16; qs: i8[32]}                                   x = d * q
//   Q5_0 {d: f16; qh: u32; qs: u8[16]}  5th bit of element j in qh bit j  x = d * (q - 16)
//   Q4_0 {d: f16; qs: u8[16]}  nibble j: element j (low), j+16 (high)   x = d * (q - 8)
//   Q4_K {d: f16; dmin: f16; scales: u8[12]; qs: u8[128]}       x = d*sc[g]*q - dmin*m[g], 8 groups of 32

/// Converts F32 rows to the types `swiftlm create` writes.
public enum Quantizer {
    /// Types ``quantize(_:to:into:)`` produces.
    public static let supportedTypes: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q5_0, .q4_0, .q4_K]

    /// Encodes `source` (a whole number of `type.blockSize` elements) into `destination`, which must
    /// hold `type.byteCount(elements: source.count)` bytes.
    public static func quantize(_ source: UnsafeBufferPointer<Float>, to type: GGMLType,
                                into destination: UnsafeMutableRawPointer) throws(KernelsError) {
        guard supportedTypes.contains(type) else { throw .unsupportedType(tensor: "quantize", type: type) }
        guard source.count % type.blockSize == 0 else {
            throw .badShape(tensor: "quantize", rows: 1, cols: source.count, type: type)
        }
        guard let x = source.baseAddress, !source.isEmpty else { return }
        let blocks = source.count / type.blockSize
        switch type {
        case .f32:
            destination.copyMemory(from: x, byteCount: source.count * 4)
        case .f16:
            for i in 0 ..< source.count { destination.setU16(2 * i, floatToHalf(x[i])) }
        case .bf16:
            for i in 0 ..< source.count { destination.setU16(2 * i, floatToBF16(x[i])) }
        case .q8_0:
            for b in 0 ..< blocks { quantizeQ8_0(x + 32 * b, destination + 34 * b) }
        case .q5_0:
            for b in 0 ..< blocks { quantizeQ5_0(x + 32 * b, destination + 22 * b) }
        case .q4_0:
            for b in 0 ..< blocks { quantizeQ4_0(x + 32 * b, destination + 18 * b) }
        case .q4_K:
            for b in 0 ..< blocks { quantizeQ4_K(x + 256 * b, destination + 144 * b) }
        default:
            preconditionFailure("unreachable: \(type) is not in supportedTypes")
        }
    }

    /// Widens F32 / F16 / BF16 source data to F32 (safetensors weights, before quantizing).
    public static func widen(_ source: UnsafeRawPointer, type: GGMLType, count: Int,
                             into destination: UnsafeMutablePointer<Float>) {
        switch type {
        case .f32: destination.update(from: source.assumingMemoryBound(to: Float.self), count: count)
        case .f16: for i in 0 ..< count { destination[i] = halfToFloat(source.u16(2 * i)) }
        case .bf16: for i in 0 ..< count { destination[i] = bf16ToFloat(source.u16(2 * i)) }
        default: preconditionFailure("widen: \(type) is not a float type")
        }
    }

    /// Convenience for tests and small tensors: the encoded bytes of `values`.
    public static func quantize(_ values: [Float], to type: GGMLType) throws(KernelsError) -> [UInt8] {
        guard let size = type.byteCount(elements: values.count) else {
            throw .badShape(tensor: "quantize", rows: 1, cols: values.count, type: type)
        }
        var out = [UInt8](repeating: 0, count: size)
        // withUnsafe* rethrow untyped errors: carry the typed one out in a Result.
        let result: Result<Void, KernelsError> = values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBytes { dst in
                guard let base = dst.baseAddress else { return .success(()) }
                do throws(KernelsError) { try quantize(src, to: type, into: base); return .success(()) } catch { return .failure(error) }
            }
        }
        try result.get()
        return out
    }
}

/// ggml's `nearest_int`: adding 1.5 * 2^23 pushes the integer part into the low mantissa bits, which
/// rounds half to even. Valid for |value| <= 4194303, as ggml asserts.
@inline(__always) func nearestInt(_ value: Float) -> Int32 {
    let shifted = value + 12_582_912
    return Int32(bitPattern: shifted.bitPattern & 0x007F_FFFF) - 0x0040_0000
}

/// `quantize_row_q8_0_ref` for one block: scale by absmax / 127, round half away from zero (`roundf`).
@inline(__always) func quantizeQ8_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
    var amax: Float = 0
    for j in 0 ..< 32 { amax = max(amax, abs(x[j])) }
    let d = amax / 127
    let id: Float = d != 0 ? 1 / d : 0
    y.setU16(0, floatToHalf(d))
    for j in 0 ..< 32 {
        let q = (x[j] * id).rounded(.toNearestOrAwayFromZero)
        y.setU8(2 + j, UInt8(bitPattern: Int8(q)))
    }
}

/// The value of largest magnitude, with its sign; the first one wins a tie, as in ggml's loop.
@inline(__always) private func signedAbsMax(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var amax: Float = 0, maxValue: Float = 0
    for j in 0 ..< count where amax < abs(x[j]) {
        amax = abs(x[j])
        maxValue = x[j]
    }
    return maxValue
}

/// `quantize_row_q4_0_ref` for one block: the signed value of largest magnitude maps to -8, so the
/// scale carries its sign; quants truncate `x/d + 8.5` toward zero (C's float-to-int8 cast).
@inline(__always) func quantizeQ4_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
    let maxValue = signedAbsMax(x, count: 32)
    let d = maxValue / -8
    let id: Float = d != 0 ? 1 / d : 0
    y.setU16(0, floatToHalf(d))
    for j in 0 ..< 16 {
        let x0 = x[j] * id, x1 = x[16 + j] * id
        let q0 = UInt8(min(15, Int((x0 + 8.5).rounded(.towardZero))))
        let q1 = UInt8(min(15, Int((x1 + 8.5).rounded(.towardZero))))
        y.setU8(2 + j, q0 | (q1 << 4))
    }
}

/// `quantize_row_q5_0_ref` for one block: Q4_0's scheme with 32 levels; the high bits go to `qh`.
/// (llama-quantize's fallback for Q4_K rows that are not a whole number of 256-element blocks.)
@inline(__always) func quantizeQ5_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
    let maxValue = signedAbsMax(x, count: 32)
    let d = maxValue / -16
    let id: Float = d != 0 ? 1 / d : 0
    y.setU16(0, floatToHalf(d))
    var qh: UInt32 = 0
    for j in 0 ..< 16 {
        let x0 = x[j] * id, x1 = x[16 + j] * id
        let q0 = UInt8(min(31, Int((x0 + 16.5).rounded(.towardZero))))
        let q1 = UInt8(min(31, Int((x1 + 16.5).rounded(.towardZero))))
        y.setU8(6 + j, (q0 & 0xF) | ((q1 & 0xF) << 4))
        qh |= UInt32(q0 >> 4) << UInt32(j) | UInt32(q1 >> 4) << UInt32(j + 16)
    }
    y.storeBytes(of: qh.littleEndian, toByteOffset: 2, as: UInt32.self)
}

/// `make_qkx2_quants`: fits `x[i] ~ scale * L[i] + min` (min <= 0) with weighted least squares,
/// trying `nstep + 1` candidate inverse scales around `nmax / (max - min)` and keeping the best.
/// Returns the scale and writes `-min` to `theMin`.
@inline(__always)
func makeQKX2Quants(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ weights: UnsafePointer<Float>,
                    _ L: UnsafeMutablePointer<UInt8>, _ theMin: inout Float, _ Laux: UnsafeMutablePointer<UInt8>,
                    rmin: Float, rdelta: Float, nstep: Int) -> Float {
    var minValue = x[0], maxValue = x[0]
    var sumW = weights[0]
    var sumX = sumW * x[0]
    for i in 1 ..< n {
        if x[i] < minValue { minValue = x[i] }
        if x[i] > maxValue { maxValue = x[i] }
        let w = weights[i]
        sumW += w
        sumX += w * x[i]
    }
    if minValue > 0 { minValue = 0 }
    if maxValue == minValue {
        for i in 0 ..< n { L[i] = 0 }
        theMin = -minValue
        return 0
    }
    let fmax = Float(nmax)
    var iscale = fmax / (maxValue - minValue)
    var scale = 1 / iscale
    var bestError: Float = 0
    for i in 0 ..< n {
        let l = nearestInt(iscale * (x[i] - minValue))
        L[i] = UInt8(max(0, min(nmax, l)))
        let diff = scale * Float(L[i]) + minValue - x[i]
        bestError += weights[i] * (diff * diff)
    }
    if nstep < 1 {
        theMin = -minValue
        return scale
    }
    for step in 0 ... nstep {
        iscale = (rmin + rdelta * Float(step) + fmax) / (maxValue - minValue)
        var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
        for i in 0 ..< n {
            let l = max(0, min(nmax, nearestInt(iscale * (x[i] - minValue))))
            Laux[i] = UInt8(l)
            let w = weights[i], fl = Float(l)
            sumL += w * fl
            sumL2 += w * fl * fl
            sumXL += w * fl * x[i]
        }
        let D = sumW * sumL2 - sumL * sumL
        if D > 0 {
            var thisScale = (sumW * sumXL - sumX * sumL) / D
            var thisMin = (sumL2 * sumX - sumL * sumXL) / D
            if thisMin > 0 {
                thisMin = 0
                thisScale = sumXL / sumL2
            }
            var curError: Float = 0
            for i in 0 ..< n {
                let diff = thisScale * Float(Laux[i]) + thisMin - x[i]
                curError += weights[i] * (diff * diff)
            }
            if curError < bestError {
                for i in 0 ..< n { L[i] = Laux[i] }
                bestError = curError
                scale = thisScale
                minValue = thisMin
            }
        }
    }
    theMin = -minValue
    return scale
}

/// `quantize_row_q4_K_ref` for one 256-element super-block: 8 groups of 32 each get a 4-bit fit
/// (weights |x| + rms), then the group scales and mins are themselves quantized to 6 bits against
/// the fp16 super-scales `d` and `dmin`, and the quants are recomputed with those rounded scales.
func quantizeQ4_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 32) { bytes in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32 + 8 + 8) { floats in
            let L = bytes.baseAddress!, Laux = L + 256
            let weights = floats.baseAddress!, mins = weights + 32, scales = mins + 8
            var maxScale: Float = 0, maxMin: Float = 0
            for j in 0 ..< 8 {
                let xs = x + 32 * j
                var sumX2: Float = 0
                for l in 0 ..< 32 { sumX2 += xs[l] * xs[l] }
                let avX = (sumX2 / 32).squareRoot()
                for l in 0 ..< 32 { weights[l] = avX + abs(xs[l]) }
                var groupMin: Float = 0
                scales[j] = makeQKX2Quants(32, 15, xs, weights, L + 32 * j, &groupMin, Laux,
                                           rmin: -1, rdelta: 0.1, nstep: 20)
                mins[j] = groupMin
                if scales[j] > maxScale { maxScale = scales[j] }
                if mins[j] > maxMin { maxMin = mins[j] }
            }
            let invScale: Float = maxScale > 0 ? 63 / maxScale : 0
            let invMin: Float = maxMin > 0 ? 63 / maxMin : 0
            let packed = y + 4 // scales[12]
            for k in 0 ..< 12 { packed.setU8(k, 0) }
            for j in 0 ..< 8 {
                // ggml stores nearest_int's result in a uint8_t before clamping; values here are <= 63.
                let ls = min(63, UInt8(truncatingIfNeeded: nearestInt(invScale * scales[j])))
                let lm = min(63, UInt8(truncatingIfNeeded: nearestInt(invMin * mins[j])))
                if j < 4 {
                    packed.setU8(j, ls)
                    packed.setU8(j + 4, lm)
                } else {
                    packed.setU8(j + 4, (ls & 0xF) | ((lm & 0xF) << 4))
                    packed.setU8(j - 4, UnsafeRawPointer(packed).u8(j - 4) | ((ls >> 4) << 6))
                    packed.setU8(j, UnsafeRawPointer(packed).u8(j) | ((lm >> 4) << 6))
                }
            }
            let dBits = floatToHalf(maxScale / 63), dminBits = floatToHalf(maxMin / 63)
            y.setU16(0, dBits)
            y.setU16(2, dminBits)
            let superD = halfToFloat(dBits), superMin = halfToFloat(dminBits)
            for j in 0 ..< 8 {
                let (sc, m) = scaleMinK4(j, UnsafeRawPointer(packed))
                let d = superD * Float(sc)
                if d == 0 { continue }
                let dm = superMin * Float(m)
                for i in 0 ..< 32 {
                    L[32 * j + i] = UInt8(max(0, min(15, nearestInt((x[32 * j + i] + dm) / d))))
                }
            }
            // Quants: byte l of 32-byte chunk c holds group 2c (low nibble) and group 2c+1 (high).
            let qs = y + 16
            for chunk in 0 ..< 4 {
                for l in 0 ..< 32 {
                    qs.setU8(32 * chunk + l, L[64 * chunk + l] | (L[64 * chunk + l + 32] << 4))
                }
            }
        }
    }
}
