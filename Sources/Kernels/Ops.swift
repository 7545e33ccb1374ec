import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Float vector ops of the transformer forward pass (everything but the matmuls).
///
/// The bodies are C (`Sources/CKernels/ops.c`, AVX2+FMA chosen at run time) because Swift built
/// without `-march` only emits SSE for `SIMD8<Float>`; ``OpsReference`` holds the plain Swift
/// definitions the tests hold these to. Pointers are unchecked: callers own the sizes.
public enum Ops {
    /// Σ a[i]·b[i]
    @inlinable
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) -> Float {
        sl_ops_dot(a, b, Int64(n))
    }

    /// y[i] += alpha·x[i]
    @inlinable
    public static func axpy(_ y: UnsafeMutablePointer<Float>, _ alpha: Float, _ x: UnsafePointer<Float>, count n: Int) {
        sl_ops_axpy(y, alpha, x, Int64(n))
    }

    /// y[i] = x[i]·scale (y may alias x)
    @inlinable
    public static func scale(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, by scale: Float, count n: Int) {
        sl_ops_scale(y, x, scale, Int64(n))
    }

    /// y = x / sqrt(mean(x²) + eps) ⊙ weight (y may alias x)
    @inlinable
    public static func rmsNorm(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                               epsilon: Float, count n: Int) {
        sl_ops_rmsnorm(y, x, weight, epsilon, Int64(n))
    }

    /// ``rmsNorm(_:_:weight:epsilon:count:)`` of `rows` consecutive rows of `count` values, bit for bit
    /// the same per row, several rows at a time (y may alias x).
    @inlinable
    public static func rmsNorm(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                               epsilon: Float, count n: Int, rows: Int) {
        sl_ops_rmsnorm_rows(y, x, weight, epsilon, Int64(n), Int64(rows))
    }

    /// In-place softmax over `n >= 1` values.
    @inlinable
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count n: Int) {
        sl_ops_softmax(x, Int64(n))
    }

    /// g = silu(g) ⊙ u (the gated FFN of llama / qwen2)
    @inlinable
    public static func siluMul(_ g: UnsafeMutablePointer<Float>, _ u: UnsafePointer<Float>, count n: Int) {
        sl_ops_silu_mul(g, u, Int64(n))
    }

    /// g = gelu_tanh(g) ⊙ u (the gated FFN of gemma; tanh approximation as in ggml_gelu)
    @inlinable
    public static func geluMul(_ g: UnsafeMutablePointer<Float>, _ u: UnsafePointer<Float>, count n: Int) {
        sl_ops_gelu_mul(g, u, Int64(n))
    }

    /// Rotary embedding of `heads` vectors of `headDim` at `x`, rotating the first `rotaryDims`
    /// with tables of `rotaryDims / 2` cosines and sines.
    /// - Parameter neox: pairs `(i, i + rotaryDims/2)` (GPT-NeoX style, qwen2 / gemma3) instead of
    ///   interleaved `(2i, 2i+1)` (llama, whose converter permutes Q/K to match).
    @inlinable
    public static func rope(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, rotaryDims: Int,
                            cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, neox: Bool) {
        sl_ops_rope(x, Int64(heads), Int64(headDim), Int64(rotaryDims), cos, sin, neox ? 1 : 0)
    }
}

/// Plain Swift definitions of ``Ops``, the reference the fast versions are tested against.
public enum OpsReference {
    public static func dot(_ a: [Float], _ b: [Float]) -> Float {
        var s: Double = 0
        for i in a.indices { s += Double(a[i]) * Double(b[i]) }
        return Float(s)
    }

    public static func rmsNorm(_ x: [Float], weight: [Float], epsilon: Float) -> [Float] {
        var ss: Double = 0
        for v in x { ss += Double(v) * Double(v) }
        let r = Float(1 / (ss / Double(x.count) + Double(epsilon)).squareRoot())
        return x.indices.map { x[$0] * r * weight[$0] }
    }

    public static func softmax(_ x: [Float]) -> [Float] {
        let m = x.max() ?? 0
        let e = x.map { exp(Double($0 - m)) }
        let s = e.reduce(0, +)
        return e.map { Float($0 / s) }
    }

    public static func silu(_ v: Float) -> Float { Float(Double(v) / (1 + exp(-Double(v)))) }

    public static func geluTanh(_ v: Float) -> Float {
        let x = Double(v)
        let inner = 0.7978845608028654 * x * (1 + 0.044715 * x * x)
        return Float(0.5 * x * (1 + tanh(inner)))
    }

    /// ggml's GEGLU gate on CPU, which ``Ops/geluMul(_:_:count:)`` follows: the input rounded to F16,
    /// its tanh GELU rounded to F16 (ggml's table), 0 at or below -10 and the identity at or above 10.
    public static func geluF16(_ v: Float) -> Float {
        if v <= -10 { return 0 }
        if v >= 10 { return v }
        return Float(Float16(geluTanh(Float(Float16(v)))))
    }

    /// Rotation of one head vector at `position` with frequency base `base` over `rotaryDims`.
    public static func rope(_ x: [Float], position: Int, base: Float, rotaryDims: Int, neox: Bool) -> [Float] {
        var y = x
        let half = rotaryDims / 2
        for i in 0..<half {
            let theta = Double(position) * pow(Double(base), -2 * Double(i) / Double(rotaryDims))
            let (c, s) = (cos(theta), sin(theta))
            let (ia, ib) = neox ? (i, i + half) : (2 * i, 2 * i + 1)
            let (a, b) = (Double(x[ia]), Double(x[ib]))
            y[ia] = Float(a * c - b * s)
            y[ib] = Float(a * s + b * c)
        }
        return y
    }
}
