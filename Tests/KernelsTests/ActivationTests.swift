import Foundation
import Kernels
import Testing

/// The gated-FFN activations against their Double references, over the whole range the FFNs see and
/// lengths with tails: SiLU (vectorized exp on AVX2, libm in the scalar tail and on other CPUs) and
/// GELU (ggml's F16-rounded values, as llama.cpp computes gemma's GEGLU).
@Suite struct ActivationTests {
    /// SiLU: |fast - reference| <= 2e-6 max(1, |reference|): a few float ulps, far below the 1e-3 a wrong
    /// polynomial coefficient or a dropped range reduction would cost. Below 1 the bound is absolute:
    /// the negative tails are a difference of nearly equal terms in float (libm's 1 + tanhf(z) loses
    /// more there than the vector sigmoid form does).
    private func check(_ name: String, _ fast: [Float], _ reference: [Float], _ x: [Float]) {
        for i in fast.indices where !(abs(fast[i] - reference[i]) <= 2e-6 * max(1, abs(reference[i]))) {
            Issue.record("\(name)(\(x[i])) = \(fast[i]), expected \(reference[i])")
            return
        }
    }

    @Test(arguments: [1, 7, 8, 9, 100, 1027])
    func siluAndGeluMatchReference(n: Int) {
        // Values from -100 to 100 (past exp's clamp on both sides), denser near 0.
        let x: [Float] = (0 ..< n).map { i in
            let t = Float(i) / Float(max(1, n - 1)) * 2 - 1
            return 100 * t * t * t + (i % 3 == 0 ? 1e-4 * Float(i % 7) : 0)
        }
        let u: [Float] = (0 ..< n).map { Float(($0 * 37) % 11) / 5 - 1 }
        var g = x
        g.withUnsafeMutableBufferPointer { Ops.siluMul($0.baseAddress!, u, count: n) }
        check("silu", g, (0 ..< n).map { OpsReference.silu(x[$0]) * u[$0] }, x)
        // GELU follows ggml's F16 table (issue 16): the reference rounds the same way in Double, so
        // the two may differ by one F16 step where float's tanhf and Double's land on either side of
        // a rounding boundary, never more.
        g = x
        g.withUnsafeMutableBufferPointer { Ops.geluMul($0.baseAddress!, u, count: n) }
        for i in 0 ..< n {
            let ref = OpsReference.geluF16(x[i])
            let step = max(abs(ref).ulpOfF16, Float(Float16.leastNonzeroMagnitude))
            if !(abs(g[i] - ref * u[i]) <= step * abs(u[i]) + 1e-7 * abs(ref)) {
                Issue.record("gelu(\(x[i])) * \(u[i]) = \(g[i]), expected \(ref * u[i])")
                return
            }
        }
    }
}

private extension Float {
    /// The spacing of F16 values at this magnitude.
    var ulpOfF16: Float { Float(Float16(self).ulp) }
}

/// Softmax (vectorized exp on AVX2, libm in the tail and on other CPUs) against its Double reference:
/// score rows of every length attention gives it, with wide ranges and -inf entries (masked scores).
@Suite struct SoftmaxTests {
    @Test(arguments: [1, 2, 7, 8, 9, 31, 64, 513, 4097])
    func softmaxMatchesReference(n: Int) {
        var rng = SystemRandomNumberGenerator()
        for spread in [Float(1), 10, 60, 200] {
            var x = (0 ..< n).map { _ in Float.random(in: -spread ... spread, using: &rng) }
            if n > 3 { x[n / 3] = -.infinity }
            let reference = OpsReference.softmax(x)
            x.withUnsafeMutableBufferPointer { Ops.softmax($0.baseAddress!, count: n) }
            // A few float ulps of each probability plus 1e-7 absolute for the tiny ones: a wrong
            // polynomial coefficient or a dropped range reduction costs 1e-3 relative, far above it.
            for i in 0 ..< n where !(abs(x[i] - reference[i]) <= 4e-6 * reference[i] + 1e-9) {
                Issue.record("n \(n), spread \(spread): p[\(i)] = \(x[i]), expected \(reference[i])")
                return
            }
            #expect(abs(x.reduce(0, +) - 1) < 1e-5)
            if n > 3 { #expect(x[n / 3] == 0) }
        }
    }
}
