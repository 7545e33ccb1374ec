import Kernels
import Testing

/// The vectorized argmax (greedy sampling) against the scalar loop it replaces: the same index on
/// random rows, ties (the first wins), NaNs (skipped), all -infinity (0), signed zeros, and maxima in
/// the unrolled body, the 8-wide remainder and the scalar tail.
@Suite struct SelectTests {
    private func fast(_ x: [Float]) -> Int { x.withUnsafeBufferPointer { Ops.argmax($0.baseAddress!, count: $0.count) } }

    @Test(arguments: [1, 7, 8, 9, 31, 32, 33, 45, 100, 1027, 151_936])
    func matchesTheScalarLoop(n: Int) {
        var rng = TestRandom(seed: UInt64(n))
        let x = rng.floats(n, scale: 20)
        #expect(fast(x) == OpsReference.argmax(x))
        // A tie for the maximum at every pair of places (first, second) over a sample of places.
        let places = Array(Set([0, n / 3, n / 2, n - 9, n - 8, n - 2, n - 1].filter { $0 >= 0 && $0 < n })).sorted()
        for a in places {
            for b in places where b >= a {
                var y = x
                y[a] = 100; y[b] = 100
                #expect(fast(y) == OpsReference.argmax(y), "n \(n), maxima at \(a) and \(b)")
                #expect(fast(y) == a)
            }
        }
    }

    @Test func edgeValues() {
        let cases: [[Float]] = [
            [],
            [-.infinity, -.infinity, -.infinity],
            [.nan, .nan, 3, .nan, 3],
            Array(repeating: .nan, count: 40),
            Array(repeating: -.infinity, count: 40) + [.nan],
            [-1, -0.0, 0.0, -0.0] + Array(repeating: -5, count: 40),
            Array(repeating: -5, count: 40) + [0.0, -0.0],
            [.infinity, 1, .infinity] + Array(repeating: Float.nan, count: 33),
            Array(repeating: Float.nan, count: 33) + [-.greatestFiniteMagnitude],
            (0 ..< 100).map { $0 % 2 == 0 ? Float.nan : -Float($0) },
        ]
        for x in cases {
            let got = x.isEmpty ? 0 : fast(x)
            #expect(got == OpsReference.argmax(x), "\(x.prefix(8))")
        }
    }
}
