import Kernels
import Testing

/// The Walsh-Hadamard rotation around quantized KV caches (Kernels/KVRotation.swift): the fast transform
/// against the matrix product, llama.cpp's block sizes, and what it is for (q8_0 scores of keys with an
/// outlier channel).
struct KVRotationTests {
    static func rotated(_ x: [Float], block n: Int) -> [Float] {
        var y = x
        y.withUnsafeMutableBufferPointer { KVRotation.rotate($0.baseAddress!, count: x.count, block: n) }
        return y
    }

    @Test(arguments: [1, 2, 8, 64, 128, 256])
    func rotateMatchesTheMatrixProduct(block n: Int) {
        var rng = TestRandom(seed: 3)
        for blocks in [1, 3] {
            let x = rng.floats(n * blocks, scale: 4)
            let fast = Self.rotated(x, block: n), want = KVRowsReference.rotate(x, block: n)
            let bound = 4 * Float(n).squareRoot() * 1e-6 * Float(max(1, n.trailingZeroBitCount))
            for i in x.indices { #expect(abs(fast[i] - want[i]) <= bound, "n=\(n) i=\(i): \(fast[i]) vs \(want[i])") }
        }
    }

    /// The register and 8-lane passes give the bits of the plain passes (scale, then sums and differences of
    /// pairs h = 1, 2, 4, ... apart), the order ggml's CPU transform uses.
    @Test func rotateIsBitIdenticalToThePlainPasses() {
        var rng = TestRandom(seed: 9)
        for n in [8, 16, 64, 256] {
            let x = rng.floats(n * 2, scale: 50)
            var want = x.map { $0 * (1 / Float(n).squareRoot()) }
            for b in stride(from: 0, to: x.count, by: n) {
                var h = 1
                while h < n {
                    for i in stride(from: b, to: b + n, by: 2 * h) {
                        for j in i ..< i + h { (want[j], want[j + h]) = (want[j] + want[j + h], want[j] - want[j + h]) }
                    }
                    h *= 2
                }
            }
            #expect(Self.rotated(x, block: n) == want, "n=\(n)")
        }
    }

    /// H is orthonormal and symmetric: rotating twice gives the row back and dot products are kept, which is
    /// why rotated Q · rotated K are Q · K and the rotated output rotates back to the output.
    @Test func rotationIsItsOwnInverseAndKeepsDots() {
        var rng = TestRandom(seed: 5)
        let q = rng.floats(256, scale: 2), k = rng.floats(256, scale: 3)
        for n in [64, 256] {
            let back = Self.rotated(Self.rotated(q, block: n), block: n)
            for i in q.indices { #expect(abs(back[i] - q[i]) <= 1e-5, "n=\(n) i=\(i)") }
            let before = zip(q, k).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            let after = zip(Self.rotated(q, block: n), Self.rotated(k, block: n)).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            #expect(abs(after - before) <= 1e-3, "n=\(n): \(after) vs \(before)")
        }
        let h = KVRowsReference.hadamard(8)
        #expect(h[0] == h[7] && h[9] == -h[0] && abs(h[0] * h[0] * 8 - 1) < 1e-6)
    }

    /// llama.cpp's blocks: K by the largest power of two from 64 dividing the head size, V by 64, only for a
    /// quantized type and head sizes that are multiples of 64.
    @Test func blockSizesFollowLlamaCpp() {
        #expect(KVRotation.keyBlock(for: .q8_0, headDim: 64) == 64)
        #expect(KVRotation.keyBlock(for: .q8_0, headDim: 128) == 128)
        #expect(KVRotation.keyBlock(for: .q8_0, headDim: 256) == 256)
        #expect(KVRotation.keyBlock(for: .q8_0, headDim: 192) == 64)
        #expect(KVRotation.keyBlock(for: .q8_0, headDim: 96) == nil)
        #expect(KVRotation.keyBlock(for: .q8_0, headDim: 32) == nil)
        #expect(KVRotation.valueBlock(for: .q8_0, headDim: 256) == 64)
        #expect(KVRotation.valueBlock(for: .q8_0, headDim: 96) == nil)
        for type in [KVCacheType.f32, .f16] {
            #expect(KVRotation.keyBlock(for: type, headDim: 64) == nil && KVRotation.valueBlock(for: type, headDim: 64) == nil)
        }
    }

    /// The point of the rotation: a key with one outlier channel spends its q8_0 block's range on it, and the
    /// other channels' rounding error dominates the score; rotated with the query, the same keys score several
    /// times closer to the f32 scores.
    @Test func rotationShrinksQ8_0ScoreErrorOfOutlierKeys() {
        var rng = TestRandom(seed: 17)
        let n = 64, count = 64
        let q = rng.floats(n)
        let keys = (0 ..< count).map { _ -> [Float] in
            var k = rng.floats(n, scale: 1.5)
            k[5] += 60
            k[40] -= 35
            return k
        }
        let exact = keys.map { k in zip(q, k).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
        func rmsError(rotate: Bool) -> Float {
            let qr = rotate ? Self.rotated(q, block: n) : q
            let rows = keys.map { KVRowsReference.store(.q8_0, rotate ? Self.rotated($0, block: n) : $0) }
            var out = [Float](repeating: .nan, count: count)
            let packed = rows.flatMap { $0 }
            packed.withUnsafeBytes { r in
                KVRows.dots(.q8_0, query: qr, rows: r.baseAddress!, stride: rows[0].count, count: count, length: n,
                            scale: 1, into: &out)
            }
            return (zip(out, exact).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Float(count)).squareRoot()
        }
        let plain = rmsError(rotate: false), turned = rmsError(rotate: true)
        #expect(turned * 3 < plain, "rms score error: rotated \(turned), not rotated \(plain)")
    }
}
