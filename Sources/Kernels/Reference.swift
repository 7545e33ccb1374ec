import GGUF

/// Scalar Swift references for every supported block format: the ground truth the SIMD kernels in
/// CKernels are tested against, and the fallback on CPUs without them.
///
/// Dot products follow ggml's `vec_dot` convention: the weight row stays in its own format and the
/// activations are first quantized to 8 bits (`activationType(for:)`), so the inner loop is an
/// integer multiply-add with the block scales applied per block.
public enum Reference {
    /// Weight types the kernels compute with.
    public static let weightTypes: [GGMLType] = [
        .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K,
    ]

    /// Every type `quantize` / `dequantize` handle (weights plus the activation formats).
    public static let blockTypes: [GGMLType] = weightTypes + [.q8_1, .q8_K]

    /// The activation format paired with a weight type, as in ggml-cpu's type traits: Q8_0 for
    /// Q4_0/Q5_0/Q8_0, Q8_1 (which carries d*sum for the min term) for Q4_1/Q5_1, Q8_K for the
    /// k-quants, and plain F32 for the float types.
    public static func activationType(for weight: GGMLType) -> GGMLType? {
        switch weight {
        case .f32, .f16, .bf16: return .f32
        case .q4_0, .q5_0, .q8_0: return .q8_0
        case .q4_1, .q5_1: return .q8_1
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: return .q8_K
        default: return nil
        }
    }

    /// Decodes `count` elements (a whole number of blocks) of `type` into floats.
    public static func dequantize(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        precondition(blockTypes.contains(type) && count % type.blockSize == 0, "dequantize: \(type) x \(count)")
        let blocks = count / type.blockSize
        switch type {
        case .f32:
            for i in 0 ..< count { dst[i] = src.loadUnaligned(fromByteOffset: i * 4, as: Float.self) }
        case .f16:
            for i in 0 ..< count { dst[i] = halfToFloat(src.u16(i * 2)) }
        case .bf16:
            for i in 0 ..< count { dst[i] = bf16ToFloat(src.u16(i * 2)) }
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1:
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: 32) { q in
                for blk in 0 ..< blocks {
                    let (d, m) = decodeLegacy(type, src + blk * type.typeSize, q.baseAddress!)
                    for j in 0 ..< 32 { dst[blk * 32 + j] = d * Float(q[j]) + m }
                }
            }
        case .q8_K:
            for blk in 0 ..< blocks {
                let b = src + blk * type.typeSize
                let d = b.loadUnaligned(as: Float.self)
                for j in 0 ..< 256 { dst[blk * 256 + j] = d * Float(b.i8(4 + j)) }
            }
        default:
            withKScratch { q, sc, m in
                for blk in 0 ..< blocks {
                    let k = decodeK(type, src + blk * type.typeSize, q, sc, m)
                    for e in 0 ..< 256 {
                        let g = e / k.groupSize
                        dst[blk * 256 + e] = k.d * Float(sc[g]) * Float(q[e]) - k.dmin * Float(m[g])
                    }
                }
            }
        }
    }

    /// Encodes `count` floats (a whole number of blocks) as `type`: round-to-nearest, not ggml's
    /// error-minimizing search, which is all tests and activations need.
    public static func quantize(_ type: GGMLType, _ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, count: Int) {
        precondition(blockTypes.contains(type) && count % type.blockSize == 0, "quantize: \(type) x \(count)")
        let blocks = count / type.blockSize
        switch type {
        case .f32:
            for i in 0 ..< count { dst.storeBytes(of: src[i], toByteOffset: i * 4, as: Float.self) }
        case .f16:
            for i in 0 ..< count { dst.setU16(i * 2, floatToHalf(src[i])) }
        case .bf16:
            for i in 0 ..< count { dst.setU16(i * 2, floatToBF16(src[i])) }
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1:
            for blk in 0 ..< blocks { quantizeLegacyBlock(type, src + blk * 32, dst + blk * type.typeSize) }
        case .q8_K:
            for blk in 0 ..< blocks { quantizeQ8KBlock(src + blk * 256, dst + blk * type.typeSize) }
        default:
            for blk in 0 ..< blocks { quantizeKBlock(type, src + blk * 256, dst + blk * type.typeSize) }
        }
    }

    /// Dot product of one weight row of `type` with one activation row already in
    /// `activationType(for: type)`, over `count` elements.
    public static func dot(_ type: GGMLType, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer, count: Int) -> Float {
        precondition(weightTypes.contains(type) && count % type.blockSize == 0, "dot: \(type) x \(count)")
        let blocks = count / type.blockSize
        switch type {
        case .f32, .f16, .bf16:
            var sum: Float = 0
            for i in 0 ..< count {
                let wv: Float = switch type {
                case .f32: w.loadUnaligned(fromByteOffset: i * 4, as: Float.self)
                case .f16: halfToFloat(w.u16(i * 2))
                default: bf16ToFloat(w.u16(i * 2))
                }
                sum += wv * a.loadUnaligned(fromByteOffset: i * 4, as: Float.self)
            }
            return sum
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0:
            let act = activationType(for: type)!
            return withUnsafeTemporaryAllocation(of: Int32.self, capacity: 64) { buf in
                let q = buf.baseAddress!, y = q + 32
                var sum: Float = 0
                for blk in 0 ..< blocks {
                    let (dw, m) = decodeLegacy(type, w + blk * type.typeSize, q)
                    let ab = a + blk * act.typeSize
                    _ = decodeLegacy(act, ab, y)
                    var sumi: Int32 = 0
                    for j in 0 ..< 32 { sumi += q[j] * y[j] }
                    sum += dw * ab.f16(0) * Float(sumi)
                    if act == .q8_1 { sum += m * ab.f16(2) }
                }
                return sum
            }
        default:
            return withKScratch { q, sc, m in
                var sum: Float = 0
                for blk in 0 ..< blocks {
                    let k = decodeK(type, w + blk * type.typeSize, q, sc, m)
                    let ab = a + blk * GGMLType.q8_K.typeSize
                    var sumi = 0, summ = 0
                    for g in 0 ..< 256 / k.groupSize {
                        var gs: Int32 = 0
                        for e in g * k.groupSize ..< (g + 1) * k.groupSize { gs += q[e] * Int32(ab.i8(4 + e)) }
                        sumi += Int(sc[g]) * Int(gs)
                        var bsum = 0
                        for s in 0 ..< k.groupSize / 16 {
                            bsum += Int(ab.loadUnaligned(fromByteOffset: 260 + 2 * (g * k.groupSize / 16 + s), as: Int16.self))
                        }
                        summ += Int(m[g]) * bsum
                    }
                    let da = ab.loadUnaligned(as: Float.self)
                    sum += da * (k.d * Float(sumi) - k.dmin * Float(summ))
                }
                return sum
            }
        }
    }

    private static func withKScratch<R>(_ body: (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>) -> R) -> R {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: 256 + 32) { buf in
            let base = buf.baseAddress!
            return body(base, base + 256, base + 272)
        }
    }
}
