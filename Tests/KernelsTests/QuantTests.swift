import GGUF
import Kernels
import Testing

/// Per-type checks in the spirit of ggml's tests/test-quantize-fns.cpp: data 0.1 + 2cos(i + offset),
/// errors normalized by the element count.
@Suite struct QuantTests {
    static let n = 32 * 128

    /// Bound on sqrt(sum((x - dequant(quant(x)))^2)) / n, ggml's MAX_QUANTIZATION_TOTAL_ERROR family
    /// (our reference encoders round without ggml's search, so the low-bit ones get ggml's 2/3-bit bounds).
    static func roundTripBound(_ type: GGMLType) -> Float {
        switch type {
        case .q2_K: return 0.0075
        case .q3_K: return 0.0040
        default: return 0.002
        }
    }

    @Test(arguments: Reference.blockTypes)
    func referenceRoundTrip(_ type: GGMLType) {
        let x = ggmlTestData(Self.n, offset: 0)
        let y = dequantized(type, quantized(type, x), count: x.count)
        var sum: Double = 0
        for i in x.indices { sum += Double((x[i] - y[i]) * (x[i] - y[i])) }
        let err = Float(sum.squareRoot()) / Float(x.count)
        #expect(err <= Self.roundTripBound(type), "\(type): round-trip error \(err)")
    }

    @Test(arguments: Reference.weightTypes)
    func fastDequantizeMatchesReference(_ type: GGMLType) throws {
        var rng = TestRandom(seed: UInt64(type.rawValue) + 1)
        let x = rng.floats(Self.n, scale: 3)
        let q = quantized(type, x)
        let ref = dequantized(type, q, count: x.count)
        for path in simdPaths {
            var fast = [Float](repeating: .nan, count: x.count)
            let ok = q.withUnsafeBytes { src in
                fast.withUnsafeMutableBufferPointer { SIMDKernels.dequantize(path, type, src.baseAddress!, $0.baseAddress!, count: x.count) }
            }
            try #require(ok, "\(path) has no dequantizer for \(type)")
            var worst: Float = 0
            for i in x.indices { worst = max(worst, abs(fast[i] - ref[i])) }
            #expect(worst <= 1e-5, "\(type) on \(path): max |fast - reference| = \(worst)")
        }
    }

    @Test(arguments: [GGMLType.q8_0, .q8_1, .q8_K])
    func fastActivationQuantizationMatchesReference(_ type: GGMLType) throws {
        var rng = TestRandom(seed: 77)
        let x = rng.floats(Self.n, scale: 5)
        let ref = dequantized(type, quantized(type, x), count: x.count)
        for path in simdPaths {
            var q = [UInt8](repeating: 0, count: type.byteCount(elements: x.count)!)
            let ok = x.withUnsafeBufferPointer { src in
                q.withUnsafeMutableBytes { SIMDKernels.quantizeActivations(path, type, src.baseAddress!, $0.baseAddress!, count: x.count) }
            }
            try #require(ok)
            let fast = dequantized(type, q, count: x.count)
            // Same scales; codes may differ by one on exact rounding ties (ties-to-even in C).
            let step: Float = 5.0 / 127 * 1.01
            for i in x.indices { #expect(abs(fast[i] - ref[i]) <= step, "\(type) on \(path) at \(i)") }
            if type == .q8_K {
                // bsums must be the sums of the codes the kernel wrote.
                q.withUnsafeBytes { raw in
                    for blk in 0 ..< Self.n / 256 {
                        let b = raw.baseAddress! + blk * type.typeSize
                        for g in 0 ..< 16 {
                            var sum = 0
                            for i in 0 ..< 16 { sum += Int(b.load(fromByteOffset: 4 + g * 16 + i, as: Int8.self)) }
                            #expect(Int(b.loadUnaligned(fromByteOffset: 260 + 2 * g, as: Int16.self)) == sum)
                        }
                    }
                }
            }
        }
    }

    /// Each SIMD dot equals the scalar reference on the same quantized activations, for 1...7 activation
    /// rows at once (the kernels tile 4 rows per pass over a weight row).
    @Test(arguments: Reference.weightTypes)
    func fastDotMatchesReference(_ type: GGMLType) throws {
        let act = Reference.activationType(for: type)!
        let rows = 7
        var rng = TestRandom(seed: 1000 + UInt64(type.rawValue))
        let wf = rng.floats(Self.n, scale: 2)
        let w = quantized(type, wf)
        let xs = (0 ..< rows).map { _ in rng.floats(Self.n, scale: 1.5) }
        let acts = xs.map { quantized(act, $0) }
        let stride = acts[0].count
        let flatActs = acts.flatMap { $0 }
        let wDequant = dequantized(type, w, count: Self.n)
        for path in simdPaths {
            var out = [Float](repeating: .nan, count: rows)
            let ok = w.withUnsafeBytes { wp in
                flatActs.withUnsafeBytes { ap in
                    out.withUnsafeMutableBufferPointer {
                        SIMDKernels.dot(path, type, wp.baseAddress!, ap.baseAddress!, activationStride: stride, rows: rows,
                                        count: Self.n, into: $0.baseAddress!)
                    }
                }
            }
            try #require(ok, "\(path) has no dot kernel for \(type)")
            for j in 0 ..< rows {
                let ref = referenceDot(type, w, acts[j], count: Self.n)
                var magnitude: Float = 0
                for i in 0 ..< Self.n { magnitude += abs(wDequant[i] * xs[j][i]) }
                #expect(abs(out[j] - ref) <= 1e-5 * magnitude + 1e-6, "\(type) on \(path), row \(j): \(out[j]) vs \(ref)")
            }
        }
    }

    /// ggml's vec_dot_error: |dot(quant(w), q8(x)) - dot(w, x)| / n <= MAX_DOT_PRODUCT_ERROR (0.02; 0.04 for low-bit).
    @Test(arguments: Reference.weightTypes)
    func dotAgainstFloatReference(_ type: GGMLType) {
        let act = Reference.activationType(for: type)!
        let w = ggmlTestData(Self.n, offset: 0)
        let x = ggmlTestData(Self.n, offset: 1)
        let exact = floatDot(w, x)
        // Q2_K gets twice ggml's low-bit bound: our encoder rounds to nearest where ggml searches scales,
        // and with 4 levels that alone costs ~0.06 on this smooth data.
        let bound: Float = type == .q2_K ? 0.08 : (type == .q3_K ? 0.04 : 0.02)
        let ref = referenceDot(type, quantized(type, w), quantized(act, x), count: Self.n)
        #expect(abs(ref - exact) / Float(Self.n) <= bound, "\(type) reference: \(ref) vs \(exact)")
    }
}
