import CKernels
import GGUF

/// Direct access to the C kernels of one `KernelPath`, for tests and benchmarks that hold them to
/// `Reference`. Each returns false / nil when the path has no kernel for the type.
public enum SIMDKernels {
    /// `out[j] = dot(w, a + j*stride)` for j in 0..<rows: one weight row (`count` elements of `type`)
    /// against `rows` activation rows in `Reference.activationType(for: type)`.
    @discardableResult
    public static func dot(_ path: KernelPath, _ type: GGMLType, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer,
                           activationStride: Int, rows: Int, count: Int, into out: UnsafeMutablePointer<Float>) -> Bool {
        guard path != .scalar, count % type.blockSize == 0, rows >= 0 else { return false }
        return sl_vec_dot(path.isa, Int32(type.rawValue), Int64(count), w, a, activationStride, Int32(rows), out) == 0
    }

    /// Decodes `count` elements of `type` into floats.
    @discardableResult
    public static func dequantize(_ path: KernelPath, _ type: GGMLType, _ src: UnsafeRawPointer,
                                  _ dst: UnsafeMutablePointer<Float>, count: Int) -> Bool {
        guard path != .scalar, count % type.blockSize == 0 else { return false }
        return sl_dequantize(path.isa, Int32(type.rawValue), src, dst, Int64(count)) == 0
    }

    /// Quantizes `count` floats into activation blocks of `type` (Q8_0, Q8_1, Q8_K or F32).
    @discardableResult
    public static func quantizeActivations(_ path: KernelPath, _ type: GGMLType, _ x: UnsafePointer<Float>,
                                           _ dst: UnsafeMutableRawPointer, count: Int) -> Bool {
        guard path != .scalar, count % type.blockSize == 0 else { return false }
        return sl_quantize_activations(path.isa, Int32(type.rawValue), x, dst, Int64(count)) == 0
    }

    /// Bytes of the interleaved (packed) layout of a rows x cols matrix of `type`; 0 when there is none.
    public static func packedSize(_ type: GGMLType, rows: Int, cols: Int) -> Int {
        Int(sl_packed_size(Int32(type.rawValue), Int64(rows), Int64(cols)))
    }

    /// ggml's layout -> the packed layout (`packedSize` bytes at `dst`); false when there is none.
    @discardableResult
    public static func pack(_ type: GGMLType, _ src: UnsafeRawPointer, rows: Int, cols: Int, into dst: UnsafeMutableRawPointer) -> Bool {
        sl_pack(Int32(type.rawValue), src, Int64(rows), Int64(cols), dst) == 0
    }

    /// The packed layout -> ggml's layout; false when there is none.
    @discardableResult
    public static func unpack(_ type: GGMLType, _ src: UnsafeRawPointer, rows: Int, cols: Int, into dst: UnsafeMutableRawPointer) -> Bool {
        sl_unpack(Int32(type.rawValue), src, Int64(rows), Int64(cols), dst) == 0
    }
}
