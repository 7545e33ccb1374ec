import GGUF
import CKernels

/// A row-major weight in its ggml type, used in place (typically straight from the GGUF mapping).
///
/// Shape follows GGUF: `cols` is `dims[0]` (input features, contiguous) and `rows` is `dims[1]`
/// (output features). The memory behind `data` must outlive every use of the matrix.
///
/// Types with an interleaved layout (Q5_0, Q4_1, Q8_0, Q4_K, Q6_K with a multiple of 8 rows) are repacked on their first SIMD
/// matmul into a copy of the same size (``PackedWeights``), and the SIMD kernels read that copy from then
/// on; a matrix that is only looked up (an embedding table) is never packed.
public struct WeightMatrix: @unchecked Sendable {
    public let name: String
    public let type: GGMLType
    public let data: UnsafeRawPointer
    /// Output features (GGUF dims[1]).
    public let rows: Int
    /// Input features (GGUF dims[0], contiguous).
    public let cols: Int

    /// Types a `WeightMatrix` accepts.
    public static var supportedTypes: [GGMLType] { Reference.weightTypes }

    /// Throws `KernelsError.unsupportedType` for types without kernels (IQ*, TQ*, MXFP4, integers)
    /// and `.badShape` when a row is not a whole number of blocks.
    public init(name: String, type: GGMLType, data: UnsafeRawPointer, rows: Int, cols: Int) throws(KernelsError) {
        guard Reference.weightTypes.contains(type) else { throw .unsupportedType(tensor: name, type: type) }
        guard rows >= 0, cols >= 0, cols % type.blockSize == 0 else {
            throw .badShape(tensor: name, rows: rows, cols: cols, type: type)
        }
        self.name = name
        self.type = type
        self.data = data
        self.rows = rows
        self.cols = cols
        packed = PackedWeights(type: type, rows: rows, cols: cols)
    }

    /// The interleaved copy, made on first use, when the type has such a layout.
    let packed: PackedWeights?

    /// Bytes per row in the weight's own format.
    public var rowBytes: Int { cols / type.blockSize * type.typeSize }
}

/// A weight's interleaved (repacked) copy: 8 rows per block group, so one activation load feeds 8 rows
/// (see Sources/CKernels/repack.c). Made by the first caller of ``data(for:)`` (the C side serializes it)
/// and immutable from then on, which is what makes sharing it between threads safe.
final class PackedWeights: @unchecked Sendable {
    private let cache: OpaquePointer

    /// nil when `type` has no packed layout for this shape.
    init?(type: GGMLType, rows: Int, cols: Int) {
        guard sl_packed_size(Int32(type.rawValue), Int64(rows), Int64(cols)) > 0, let cache = sl_packed_cache_create() else {
            return nil
        }
        self.cache = cache
    }

    deinit { sl_packed_cache_destroy(cache) }

    /// The packed copy of `w` (packing it now if nobody has), or nil when memory ran out.
    func data(for w: WeightMatrix) -> UnsafeRawPointer? {
        sl_packed_cache_get(cache, Int32(w.type.rawValue), w.data, Int64(w.rows), Int64(w.cols))
    }
}

/// Byte layout of ggml's blocks as the C kernels see them (`sl_block_*` in CKernels.h), for checking
/// against `GGMLType.typeSize`.
public enum BlockLayout {
    /// `MemoryLayout` size of the C struct for `type`, or nil when there is none.
    public static func size(of type: GGMLType) -> Int? {
        switch type {
        case .f32: return MemoryLayout<Float>.size
        case .f16, .bf16: return MemoryLayout<UInt16>.size
        case .q4_0: return MemoryLayout<sl_block_q4_0>.size
        case .q4_1: return MemoryLayout<sl_block_q4_1>.size
        case .q5_0: return MemoryLayout<sl_block_q5_0>.size
        case .q5_1: return MemoryLayout<sl_block_q5_1>.size
        case .q8_0: return MemoryLayout<sl_block_q8_0>.size
        case .q8_1: return MemoryLayout<sl_block_q8_1>.size
        case .q2_K: return MemoryLayout<sl_block_q2_K>.size
        case .q3_K: return MemoryLayout<sl_block_q3_K>.size
        case .q4_K: return MemoryLayout<sl_block_q4_K>.size
        case .q5_K: return MemoryLayout<sl_block_q5_K>.size
        case .q6_K: return MemoryLayout<sl_block_q6_K>.size
        case .q8_K: return MemoryLayout<sl_block_q8_K>.size
        default: return nil
        }
    }
}
