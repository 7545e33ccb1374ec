import Foundation
import Kernels
import Testing

/// The gated-FFN activations (vectorized exp on AVX2, libm in the scalar tail and on other CPUs)
/// against their Double references, over the whole range the FFNs see and lengths with tails.
@Suite struct ActivationTests {
    /// |fast - reference| <= 2e-6 max(1, |reference|): a few float ulps, far below the 1e-3 a wrong
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
        g = x
        g.withUnsafeMutableBufferPointer { Ops.geluMul($0.baseAddress!, u, count: n) }
        check("gelu", g, (0 ..< n).map { OpsReference.geluTanh(x[$0]) * u[$0] }, x)
    }
}
