import CKernels
import GGUF

/// Which implementation a kernel call uses. `best` picks the fastest one this CPU supports.
public enum KernelPath: Sendable, Equatable, CustomStringConvertible {
    /// The scalar Swift reference (`Reference`).
    case scalar
    /// C with AVX2 + FMA + F16C.
    case avx2
    /// C with AVX-512 VNNI on 256-bit vectors (AVX512VL), AVX2 elsewhere.
    case avx512vnni

    /// The fastest path on this CPU, capped by the `SWIFTLM_ISA` environment variable (`scalar`, `avx2`,
    /// `avx512vnni` or `avx512bf16`, read once at startup) when it is set. `avx512vnni` also keeps attention
    /// on f32 products where the CPU has AVX512_BF16 (``KVRows/bf16Arithmetic``).
    public static let best: KernelPath = {
        switch sl_best_isa() {
        case Int32(SL_ISA_AVX512VNNI): return .avx512vnni
        case Int32(SL_ISA_AVX2): return .avx2
        default: return .scalar
        }
    }()

    /// The path `Linear.matmul` and `Linear.dequantizeRow` take when the caller names none: ``best``,
    /// unless a caller scopes another one for its task with `KernelPath.$current.withValue(...)`. Tests use
    /// that to run whole models through each path in one process.
    @TaskLocal public static var current: KernelPath = best

    /// Every path this CPU can run, scalar first.
    public static var available: [KernelPath] {
        switch best {
        case .scalar: return [.scalar]
        case .avx2: return [.scalar, .avx2]
        case .avx512vnni: return [.scalar, .avx2, .avx512vnni]
        }
    }

    var isa: Int32 {
        switch self {
        case .scalar: return 0
        case .avx2: return Int32(SL_ISA_AVX2)
        case .avx512vnni: return Int32(SL_ISA_AVX512VNNI)
        }
    }

    /// True when this path has a SIMD kernel for weights of `type` (the scalar path handles all).
    public func hasKernel(for type: GGMLType) -> Bool {
        self == .scalar ? Reference.weightTypes.contains(type) : sl_isa_supports(isa, Int32(type.rawValue)) != 0
    }

    public var description: String {
        switch self {
        case .scalar: return "scalar"
        case .avx2: return "avx2"
        case .avx512vnni: return "avx512vnni"
        }
    }
}

/// Matrix x vector and matrix x matrix products with quantized weights.
/// Which kernels a matmul may use for a given number of rows.
public enum MatmulMode: Sendable {
    /// The fastest kernel for the row count: the mat-vec kernel for a single row (token generation).
    case fastest
    /// The batched (GEMM) kernels even for a single row, so that each row's result is bit-identical
    /// whatever the batch it is evaluated in. Prompt evaluation uses this: output then does not depend
    /// on the prompt batch size.
    case batchInvariant
}

public enum Linear {
    /// y[b*rows + r] = sum_c W[r, c] * x[b*cols + c], for b in 0..<batch. x: [batch x cols] f32; y: [batch x rows] f32.
    /// Quantizes x once per call to the weight's activation format, then splits rows across the pool.
    /// With batch > 1 each weight block is decoded once per tile of up to 4 activation rows.
    public static func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch: Int, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool,
                              mode: MatmulMode = .fastest) {
        matmul(w, x, batch: batch, y, pool: pool, path: KernelPath.current, mode: mode)
    }

    /// `matmul` on a chosen implementation (tests hold every path to the scalar reference).
    /// A path without a kernel for the weight's type falls back to the scalar reference.
    public static func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch: Int, _ y: UnsafeMutablePointer<Float>,
                              pool: ThreadPool, path: KernelPath, mode: MatmulMode = .fastest) {
        precondition(batch >= 0, "matmul: negative batch")
        guard batch > 0, w.rows > 0 else { return }
        if w.cols == 0 {
            y.update(repeating: 0, count: batch * w.rows)
            return
        }
        guard path != .scalar else { return scalarMatmul(w, x, batch: batch, y, pool: pool) }
        // The packed kernel serves every batch size alike, so it keeps `.batchInvariant`'s promise in
        // both modes.
        if let packed = w.packed?.data(for: w),
           sl_matmul_packed(pool.handle, path.isa, Int32(w.type.rawValue), packed, Int64(w.rows), Int64(w.cols), x, Int64(batch),
                            y) == 0 {
            return
        }
        if sl_matmul(pool.handle, path.isa, Int32(w.type.rawValue), w.data, Int64(w.rows), Int64(w.cols), x, Int64(batch), y,
                     mode == .batchInvariant ? 1 : 0) == 0 {
            return
        }
        scalarMatmul(w, x, batch: batch, y, pool: pool)
    }

    /// Several matmuls of the same input `x` ([batch x cols]; every matrix has `cols` columns), each
    /// `ys[i] = ws[i] · x` exactly as ``matmul(_:_:batch:_:pool:mode:)`` computes it, with the activations
    /// quantized once and all the row bands in one pool run (Q/K/V, gate and up): during generation each
    /// hand-off to the workers costs microseconds, a sizable share of a small model's step. Matrices that
    /// cannot share a run (another activation format, a type without a kernel) go one by one.
    /// - Returns: whether the matrices shared one run.
    @discardableResult
    public static func matmul(_ ws: [WeightMatrix], _ x: UnsafePointer<Float>, batch: Int, _ ys: [UnsafeMutablePointer<Float>],
                              pool: ThreadPool, mode: MatmulMode = .fastest) -> Bool {
        precondition(ws.count == ys.count, "matmul: one output per matrix")
        let path = KernelPath.current
        let cols = ws.first?.cols ?? 0
        if batch > 0, path != .scalar, ws.count > 1, ws.count <= Int(SL_MATMUL_GROUP_MAX), cols > 0,
           ws.allSatisfy({ $0.cols == cols && $0.rows > 0 }) {
            let done = withUnsafeTemporaryAllocation(of: sl_matmul_item.self, capacity: ws.count) { items -> Bool in
                for (i, w) in ws.enumerated() {
                    let packed = w.packed?.data(for: w)
                    items[i] = sl_matmul_item(wtype: Int32(w.type.rawValue), packed: packed == nil ? 0 : 1,
                                              w: packed ?? w.data, rows: Int64(w.rows), y: ys[i])
                }
                return sl_matmul_group(pool.handle, path.isa, Int32(ws.count), items.baseAddress!, Int64(cols), x, Int64(batch),
                                       mode == .batchInvariant ? 1 : 0) == 0
            }
            if done { return true }
        }
        for (w, y) in zip(ws, ys) { matmul(w, x, batch: batch, y, pool: pool, path: path, mode: mode) }
        return false
    }

    /// Decodes row `row` of `w` (cols floats) into `dst`: the embedding lookup.
    public static func dequantizeRow(_ w: WeightMatrix, row: Int, into dst: UnsafeMutablePointer<Float>) {
        precondition(row >= 0 && row < w.rows, "dequantizeRow: row \(row) out of 0..<\(w.rows) in \(w.name)")
        let src = w.data + row * w.rowBytes
        if sl_dequantize(KernelPath.current.isa, Int32(w.type.rawValue), src, dst, Int64(w.cols)) != 0 {
            Reference.dequantize(w.type, src, dst, count: w.cols)
        }
    }

    /// Reference path: activations quantized by the Swift reference, one `Reference.dot` per output.
    private static func scalarMatmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch: Int, _ y: UnsafeMutablePointer<Float>,
                                     pool: ThreadPool) {
        let act = Reference.activationType(for: w.type)!
        let actRow = w.cols / act.blockSize * act.typeSize
        let quantized = UnsafeMutableRawPointer.allocate(byteCount: batch * actRow, alignment: 64)
        defer { quantized.deallocate() }
        for b in 0 ..< batch { Reference.quantizeActivations(act, x + b * w.cols, quantized + b * actRow, count: w.cols) }
        let rowsPerTask = 16
        pool.parallelFor((w.rows + rowsPerTask - 1) / rowsPerTask) { task in
            for r in task * rowsPerTask ..< min(w.rows, (task + 1) * rowsPerTask) {
                let wr = w.data + r * w.rowBytes
                for b in 0 ..< batch {
                    y[b * w.rows + r] = Reference.dot(w.type, wr, UnsafeRawPointer(quantized + b * actRow), count: w.cols)
                }
            }
        }
    }
}
