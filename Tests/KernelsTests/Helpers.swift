import Foundation
import GGUF
import Kernels

/// Deterministic pseudo-random floats (xorshift), so failures reproduce.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt64 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return state
    }
    /// Uniform in [-1, 1).
    mutating func float() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
    mutating func floats(_ n: Int, scale: Float = 1) -> [Float] { (0 ..< n).map { _ in float() * scale } }
}

/// ggml's test-quantize-fns data: 0.1 + 2*cos(i + offset).
func ggmlTestData(_ n: Int, offset: Float) -> [Float] {
    (0 ..< n).map { 0.1 + 2 * cos(Float($0) + offset) }
}

func quantized(_ type: GGMLType, _ x: [Float]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: type.byteCount(elements: x.count)!)
    x.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBytes { Reference.quantize(type, src.baseAddress!, $0.baseAddress!, count: x.count) }
    }
    return out
}

func dequantized(_ type: GGMLType, _ bytes: [UInt8], count: Int) -> [Float] {
    var out = [Float](repeating: 0, count: count)
    bytes.withUnsafeBytes { src in
        out.withUnsafeMutableBufferPointer { Reference.dequantize(type, src.baseAddress!, $0.baseAddress!, count: count) }
    }
    return out
}

func referenceDot(_ type: GGMLType, _ w: [UInt8], _ a: [UInt8], count: Int) -> Float {
    w.withUnsafeBytes { wp in a.withUnsafeBytes { ap in Reference.dot(type, wp.baseAddress!, ap.baseAddress!, count: count) } }
}

func floatDot(_ a: [Float], _ b: [Float]) -> Float {
    var s: Double = 0
    for i in a.indices { s += Double(a[i]) * Double(b[i]) }
    return Float(s)
}

/// The SIMD paths this CPU runs (the scalar path is the reference itself).
var simdPaths: [KernelPath] { KernelPath.available.filter { $0 != .scalar } }

let weightTypes = Reference.weightTypes

/// y = W x for activation rows [b0, b0 + n) of `x`, W being `wq` (rows x cols of `type`).
func product(_ type: GGMLType, _ wq: [UInt8], rows: Int, cols: Int, _ x: [Float], from b0: Int = 0, count n: Int,
             path: KernelPath, mode: MatmulMode, pool: ThreadPool) throws -> [Float] {
    var y = [Float](repeating: .nan, count: n * rows)
    try wq.withUnsafeBytes { raw in
        let w = try WeightMatrix(name: "w", type: type, data: raw.baseAddress!, rows: rows, cols: cols)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer {
                Linear.matmul(w, xp.baseAddress! + b0 * cols, batch: n, $0.baseAddress!, pool: pool, path: path, mode: mode)
            }
        }
    }
    return y
}
