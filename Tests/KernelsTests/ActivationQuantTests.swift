import GGUF
import Kernels
import Testing

/// The activation quantizers must be bit-exact with the ones llama.cpp runs on x86 (issue 16): codes
/// that sit on a rounding tie, common after a Q8_0 embedding, otherwise flip, and a flipped code in
/// layer 0 spreads to every later position.
@Suite struct ActivationQuantTests {
    static let simdPaths = KernelPath.available.filter { $0 != .scalar }

    /// Blocks of 32 whose values land exactly on a half step under ggml's multiplier 127/amax but not
    /// under the `_ref` multiplier 1/(amax/127), plus exact ties of both, plus random values.
    static func tieData(blocks: Int) -> (x: [Float], refDiffers: Int) {
        var rng = TestRandom(seed: 16)
        var x: [Float] = []
        var differs = 0
        while x.count < blocks * 32 {
            let amax = 0.5 + abs(rng.float()) * 3
            let idGGML = 127 / amax, idRef = 1 / (amax / 127)
            var block: [Float] = [amax]
            for m in 0 ..< 31 {
                let half = Float(m % 60) + 0.5
                let v = half / idGGML
                // Keep values that are an exact tie under ggml's multiplier; random values otherwise.
                if v * idGGML == half, v <= amax {
                    block.append(m % 2 == 0 ? v : -v)
                    if (v * idRef).rounded() != (v * idGGML).rounded(.toNearestOrEven) { differs += 1 }
                } else {
                    block.append(rng.float() * amax)
                }
            }
            x += block
        }
        return (x, differs)
    }

    @Test(arguments: [GGMLType.q8_0, .q8_1, .q8_K])
    func fastQuantizersEqualReferenceByteForByte(_ type: GGMLType) throws {
        let (ties, differs) = Self.tieData(blocks: 64)
        // The data must tell the two arithmetics apart, or this test could not catch a regression.
        #expect(differs > 10, "only \(differs) values separate ggml's x86 quantizer from the _ref one")
        var rng = TestRandom(seed: 5)
        let x = ties + rng.floats(256 * 8, scale: 3) + [Float](repeating: 0, count: 256)  // an all-zero block too
        var want = [UInt8](repeating: 0, count: type.byteCount(elements: x.count)!)
        x.withUnsafeBufferPointer { src in
            want.withUnsafeMutableBytes { Reference.quantizeActivations(type, src.baseAddress!, $0.baseAddress!, count: x.count) }
        }
        for path in Self.simdPaths {
            var got = [UInt8](repeating: 0xAA, count: want.count)
            let ok = x.withUnsafeBufferPointer { src in
                got.withUnsafeMutableBytes { SIMDKernels.quantizeActivations(path, type, src.baseAddress!, $0.baseAddress!, count: x.count) }
            }
            try #require(ok)
            let firstDiff = zip(got, want).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(firstDiff == nil, "\(type) on \(path): first differing byte \(firstDiff ?? -1) of \(want.count)")
        }
    }

    /// Q8_K keeps the sign of the extreme value (iscale = -127/max): the codes of a block whose largest
    /// value is positive are negated and d is negative, as in ggml.
    @Test func q8KScaleCarriesTheSignOfTheExtreme() {
        var x = [Float](repeating: 0.25, count: 256)
        x[7] = 2
        var q = [UInt8](repeating: 0, count: GGMLType.q8_K.typeSize)
        x.withUnsafeBufferPointer { src in q.withUnsafeMutableBytes { Reference.quantizeActivations(.q8_K, src.baseAddress!, $0.baseAddress!, count: 256) } }
        q.withUnsafeBytes { b in
            #expect(b.loadUnaligned(fromByteOffset: 0, as: Float.self) == 1 / (-127 / Float(2)))
            #expect(b.load(fromByteOffset: 4 + 7, as: Int8.self) == -127)
            #expect(b.load(fromByteOffset: 4, as: Int8.self) == -16)  // 0.25 * -63.5 = -15.875
        }
    }
}
