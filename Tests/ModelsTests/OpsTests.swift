import Foundation
import Kernels
import Testing

/// The forward pass's vector ops (C, AVX2 when present) against their plain Swift references.
struct OpsTests {
    private func values(_ n: Int, seed: Int) -> [Float] {
        (0 ..< n).map { Float(((($0 + seed) * 2_654_435_761) % 1000)) / 250 - 2 }
    }

    private func close(_ a: [Float], _ b: [Float], _ tol: Float) -> Bool {
        zip(a, b).allSatisfy { abs($0 - $1) <= tol * max(1, abs($1)) }
    }

    @Test(arguments: [1, 7, 8, 31, 64, 100, 256])
    func dotAndAxpy(n: Int) {
        let a = values(n, seed: 1), b = values(n, seed: 2)
        #expect(abs(Ops.dot(a, b, count: n) - OpsReference.dot(a, b)) <= 1e-4 * max(1, abs(OpsReference.dot(a, b))))
        var y = b
        y.withUnsafeMutableBufferPointer { Ops.axpy($0.baseAddress!, 0.5, a, count: n) }
        #expect(close(y, (0 ..< n).map { b[$0] + 0.5 * a[$0] }, 1e-6))
    }

    @Test func rmsNormSoftmaxAndActivations() {
        let n = 96
        let x = values(n, seed: 3), w = values(n, seed: 4)
        var y = [Float](repeating: 0, count: n)
        y.withUnsafeMutableBufferPointer { Ops.rmsNorm($0.baseAddress!, x, weight: w, epsilon: 1e-6, count: n) }
        #expect(close(y, OpsReference.rmsNorm(x, weight: w, epsilon: 1e-6), 1e-5))

        var s = x
        s.withUnsafeMutableBufferPointer { Ops.softmax($0.baseAddress!, count: n) }
        #expect(close(s, OpsReference.softmax(x), 1e-5))

        var g = x
        g.withUnsafeMutableBufferPointer { Ops.siluMul($0.baseAddress!, w, count: n) }
        #expect(close(g, (0 ..< n).map { OpsReference.silu(x[$0]) * w[$0] }, 1e-5))
        g = x
        g.withUnsafeMutableBufferPointer { Ops.geluMul($0.baseAddress!, w, count: n) }
        // ggml's GEGLU: F16 gate in, F16 GELU out (its lookup table); within 1e-3 of the exact GELU.
        let ggmlGelu = (0 ..< n).map { i -> Float in
            let v = Float(Float16(x[i]))
            return Float(Float16(OpsReference.geluTanh(v))) * w[i]
        }
        #expect(close(g, ggmlGelu, 1e-6))
        #expect(close(g, (0 ..< n).map { OpsReference.geluTanh(x[$0]) * w[$0] }, 1e-3))
    }

    /// RMSNorm is bit-exact with ggml's RMS_NORM + MUL: float squares summed in double, the mean
    /// rounded to float, scale = 1/sqrtf(mean + eps), then (x · scale) · w. The next matmul quantizes its
    /// output to 8 bits, where a last-bit difference flips codes that sit on a tie (issue 16).
    @Test func rmsNormIsBitExactWithGGML() {
        var differsFromDouble = 0
        for seed in 1 ... 24 {
            let n = [576, 640, 896, 256, 64, 1024][seed % 6]
            let x = (0 ..< n).map { Float(((($0 + seed) &* 2_654_435_761) % 100_003)) / 9_000 - 5.5 }
            let w = (0 ..< n).map { 0.5 + Float(((($0 + 7 * seed) &* 40_503) % 1000)) / 700 }
            let eps: Float = seed % 2 == 0 ? 1e-6 : 1e-5
            var y = [Float](repeating: 0, count: n)
            y.withUnsafeMutableBufferPointer { Ops.rmsNorm($0.baseAddress!, x, weight: w, epsilon: eps, count: n) }
            var sum: Double = 0
            for v in x { sum += Double(v * v) }
            let mean = Float(sum / Double(n))
            let scale = 1 / (mean + eps).squareRoot()
            let ggml = (0 ..< n).map { (x[$0] * scale) * w[$0] }
            #expect(y == ggml, "n=\(n): Ops.rmsNorm is not bit-exact with ggml's arithmetic")
            // The all-double scale (SwiftLM before issue 16) rounds differently on these rows.
            let r = Float(1 / (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(n) + Double(eps)).squareRoot())
            if r != scale { differsFromDouble += 1 }
        }
        #expect(differsFromDouble > 0, "the rows do not tell ggml's scale from the all-double one")
    }

    /// The several-rows RMSNorm (4 rows' sums side by side in one register) gives each row the one-row
    /// result bit for bit, in place or not, for row counts around the 4-row groups and widths with tails.
    @Test func rmsNormRowsIsBitExactPerRow() {
        for (n, rows) in [(640, 9), (13, 5), (64, 4), (100, 7), (256, 1), (7, 3), (1, 6)] {
            let x = (0 ..< n * rows).map { Float((($0 &* 2_654_435_761) % 100_003)) / 9_000 - 5.5 }
            let w = (0 ..< n).map { 0.5 + Float((($0 &* 40_503) % 1000)) / 700 }
            var want = [Float](repeating: 0, count: n * rows)
            want.withUnsafeMutableBufferPointer { y in
                for r in 0 ..< rows { x.withUnsafeBufferPointer { Ops.rmsNorm(y.baseAddress! + r * n, $0.baseAddress! + r * n, weight: w, epsilon: 1e-6, count: n) } }
            }
            var y = [Float](repeating: 0, count: n * rows)
            y.withUnsafeMutableBufferPointer { Ops.rmsNorm($0.baseAddress!, x, weight: w, epsilon: 1e-6, count: n, rows: rows) }
            #expect(y.map(\.bitPattern) == want.map(\.bitPattern), "n=\(n) rows=\(rows)")
            var inPlace = x
            inPlace.withUnsafeMutableBufferPointer { Ops.rmsNorm($0.baseAddress!, $0.baseAddress!, weight: w, epsilon: 1e-6, count: n, rows: rows) }
            #expect(inPlace.map(\.bitPattern) == want.map(\.bitPattern), "in place, n=\(n) rows=\(rows)")
        }
    }

    @Test(arguments: [false, true])
    func rope(neox: Bool) {
        let headDim = 16, rot = 12, heads = 2, position = 37, base: Float = 10000
        let x = values(heads * headDim, seed: 5)
        let half = rot / 2
        let cosT = (0 ..< half).map { Float(cos(Double(position) * pow(Double(base), -2 * Double($0) / Double(rot)))) }
        let sinT = (0 ..< half).map { Float(sin(Double(position) * pow(Double(base), -2 * Double($0) / Double(rot)))) }
        var y = x
        y.withUnsafeMutableBufferPointer {
            Ops.rope($0.baseAddress!, heads: heads, headDim: headDim, rotaryDims: rot, cos: cosT, sin: sinT, neox: neox)
        }
        for h in 0 ..< heads {
            let head = Array(x[h * headDim ..< (h + 1) * headDim])
            let ref = OpsReference.rope(head, position: position, base: base, rotaryDims: rot, neox: neox)
            #expect(close(Array(y[h * headDim ..< (h + 1) * headDim]), ref, 1e-5))
            // Dims past rotaryDims pass through untouched.
            #expect(Array(y[h * headDim + rot ..< (h + 1) * headDim]) == Array(head[rot...]))
        }
    }
}
