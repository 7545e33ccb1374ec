import CKernels

/// How a KV cache stores its keys and values (llama.cpp's `--cache-type-k/-v`, Ollama's `OLLAMA_KV_CACHE_TYPE`).
///
/// Attention reads the stored rows directly: ``KVRows`` converts them inside its dot products and
/// weighted sums, so a smaller type saves memory and bandwidth without a widened copy.
public enum KVCacheType: String, CaseIterable, Sendable, Codable {
    /// 4 bytes per value: exactly what the projections produced.
    case f32
    /// 2 bytes per value, rounded to nearest even. llama.cpp's and Ollama's default.
    case f16
    /// 34 bytes per 32 values (ggml's Q8_0 block: an fp16 scale and 32 int8); head sizes must be
    /// multiples of 32.
    case q8_0

    /// The default of llama.cpp and Ollama.
    public static let `default`: KVCacheType = .f16

    /// The ggml type id the C kernels take.
    @usableFromInline var ggmlType: Int32 {
        switch self {
        case .f32: 0
        case .f16: 1
        case .q8_0: 8
        }
    }

    /// Bytes of one stored row of `count` values, or nil when this type cannot store such a row
    /// (q8_0 with a length not a multiple of 32).
    public func rowBytes(count: Int) -> Int? {
        let size = sl_kv_row_size(ggmlType, Int64(count))
        return size > 0 || count == 0 ? Int(size) : nil
    }
}

/// Attention's reads and writes of KV cache rows, in any ``KVCacheType``.
///
/// The bodies are C (`Sources/CKernels/kv.c`: AVX-512, with bf16 products where ``bf16Arithmetic``, or
/// AVX2 + FMA + F16C, chosen at run time; portable C otherwise); ``KVRowsReference`` holds the scalar Swift
/// definitions the tests hold them to. Each row's arithmetic depends only on that row, so results are
/// batch-invariant. Pointers are unchecked.
public enum KVRows {
    /// True when f16 rows are attended with bf16 products (AVX512_BF16's VDPBF16PS: each operand rounded
    /// to bf16, products summed in f32); false for f32 products. `SWIFTLM_ISA=avx512vnni` turns it off.
    /// Then the scores of f16 rows (both ``dots`` calls) are ``KVRowsReference/bf16Dots(query:rows:scale:)``'s
    /// and their weighted sums (both ``accumulate`` calls) ``KVRowsReference/accumulateBF16(_:weights:rows:)``'s,
    /// bit for bit.
    public static var bf16Arithmetic: Bool { sl_attention_bf16() != 0 }

    /// Stores `count` floats as one row of `type` at `destination` (``KVCacheType/rowBytes(count:)`` bytes).
    @inlinable
    public static func store(_ type: KVCacheType, _ x: UnsafePointer<Float>, into destination: UnsafeMutableRawPointer,
                             count: Int) {
        sl_kv_store(type.ggmlType, x, destination, Int64(count))
    }

    /// `out[j] = scale · (q · row j)` for `j < rows`: rows of `length` values, `stride` bytes apart.
    @inlinable
    public static func dots(_ type: KVCacheType, query q: UnsafePointer<Float>, rows: UnsafeRawPointer, stride: Int,
                            count: Int, length: Int, scale: Float, into out: UnsafeMutablePointer<Float>) {
        sl_kv_dots(type.ggmlType, q, rows, stride, Int64(count), Int64(length), scale, out)
    }

    /// `o[i] += Σ_j weights[j] · row_j[i]`, rows in order, for `i < length`. For f16 rows with ``bf16Arithmetic``
    /// on, the products are of bf16-rounded operands (``KVRowsReference/accumulateBF16(_:weights:rows:)``).
    @inlinable
    public static func accumulate(_ type: KVCacheType, into o: UnsafeMutablePointer<Float>, weights: UnsafePointer<Float>,
                                  rows: UnsafeRawPointer, stride: Int, count: Int, length: Int) {
        sl_kv_accumulate(type.ggmlType, o, weights, rows, stride, Int64(count), Int64(length))
    }

    /// ``dots(_:query:rows:stride:count:length:scale:into:)`` for `m` queries over the same rows:
    /// `out[r][offset + j] = scale · (queries[r] · row j)`. Each row is read and converted once per block
    /// rather than once per query; every value is bit-identical to the per-query call.
    @inlinable
    public static func dots(_ type: KVCacheType, queries: UnsafePointer<UnsafePointer<Float>?>, count m: Int,
                            rows: UnsafeRawPointer, stride: Int, rowCount: Int, length: Int, scale: Float,
                            into out: UnsafePointer<UnsafeMutablePointer<Float>?>, offset: Int) {
        sl_kv_dots_block(type.ggmlType, Int64(m), queries, rows, stride, Int64(rowCount), Int64(length), scale, out,
                         Int64(offset))
    }

    /// ``accumulate(_:into:weights:rows:stride:count:length:)`` for `m` outputs over the same rows:
    /// `outputs[r][i] += Σ_j weights[r][offset + j] · row_j[i]`, rows in order; bit-identical to the per-output call.
    @inlinable
    public static func accumulate(_ type: KVCacheType, into outputs: UnsafePointer<UnsafeMutablePointer<Float>?>, count m: Int,
                                  weights: UnsafePointer<UnsafePointer<Float>?>, offset: Int, rows: UnsafeRawPointer,
                                  stride: Int, rowCount: Int, length: Int) {
        sl_kv_accumulate_block(type.ggmlType, Int64(m), outputs, weights, Int64(offset), rows, stride, Int64(rowCount),
                               Int64(length))
    }
}

/// Scalar definitions of ``KVRows``: what the fast kernels must compute (to rounding, for the sums).
public enum KVRowsReference {
    /// One row of `type` from `x`. q8_0 rounds as ggml's x86 `quantize_row_q8_0`, which llama.cpp's
    /// set_rows uses for a q8_0 K/V cache on AVX2 machines: d = amax / 127 (stored as fp16), codes
    /// round-half-even(x · 127 / amax). (ggml's scalar `quantize_row_q8_0_ref`, used for weights, rounds
    /// half away from zero with 1 / d instead; the two differ only on exact ties.)
    public static func store(_ type: KVCacheType, _ x: [Float]) -> [UInt8] {
        var out = [UInt8]()
        switch type {
        case .f32:
            for v in x { withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 } }
        case .f16:
            for v in x { withUnsafeBytes(of: floatToHalf(v).littleEndian) { out += $0 } }
        case .q8_0:
            precondition(x.count % 32 == 0, "q8_0 rows are whole 32-value blocks")
            for b in stride(from: 0, to: x.count, by: 32) {
                let block = x[b ..< b + 32]
                let amax = block.reduce(Float(0)) { max($0, abs($1)) }
                withUnsafeBytes(of: floatToHalf(amax / 127).littleEndian) { out += $0 }
                let id: Float = amax != 0 ? 127 / amax : 0
                for v in block { out.append(UInt8(bitPattern: Int8((v * id).rounded(.toNearestOrEven)))) }
            }
        }
        return out
    }

    /// The values of a stored row of `count` values.
    public static func load(_ type: KVCacheType, _ row: [UInt8], count: Int) -> [Float] {
        row.withUnsafeBytes { raw in
            (0 ..< count).map { i in
                switch type {
                case .f32: Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                case .f16: halfToFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                case .q8_0:
                    halfToFloat(raw.loadUnaligned(fromByteOffset: 34 * (i / 32), as: UInt16.self))
                        * Float(raw.load(fromByteOffset: 34 * (i / 32) + 2 + i % 32, as: Int8.self))
                }
            }
        }
    }

    /// `scale · (q · row)` for each row. q8_0 sums each block's products before applying its scale, as the kernel does.
    public static func dots(_ type: KVCacheType, query q: [Float], rows: [[UInt8]], scale: Float) -> [Float] {
        rows.map { row in
            var s: Float = 0
            if type == .q8_0 {
                for b in stride(from: 0, to: q.count, by: 32) {
                    let d = halfToFloat(UInt16(row[34 * (b / 32)]) | UInt16(row[34 * (b / 32) + 1]) << 8)
                    var bs: Float = 0
                    for i in 0 ..< 32 { bs += q[b + i] * Float(Int8(bitPattern: row[34 * (b / 32) + 2 + i])) }
                    s += d * bs
                }
            } else {
                let k = load(type, row, count: q.count)
                for i in q.indices { s += q[i] * k[i] }
            }
            return s * scale
        }
    }

    /// ``dots(_:query:rows:scale:)`` for f16 rows as the kernels compute them with bf16 products
    /// (``KVRows/bf16Arithmetic``), every bit: each q and k value rounded by ``bf16(_:)`` (k through its exact
    /// f32 value); dims in pairs p = (2p, 2p + 1); 8 chains, chain l adding, for p = l, l + 8, l + 16, ...,
    /// the product of dim 2p + 1 and then that of dim 2p (VDPBF16PS takes a dword's high half first; a
    /// product of two bf16 values is exact in f32, so each step is one rounding, as in the instruction);
    /// then ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)), times `scale`. Each step is ``bf16FMA(_:_:_:)``,
    /// the instruction's subnormal handling included.
    public static func bf16Dots(query q: [Float], rows: [[UInt8]], scale: Float) -> [Float] {
        let n = q.count, bq = q.map(bf16)
        return rows.map { row in
            let k = load(.f16, row, count: n).map(bf16)
            var c = [Float](repeating: 0, count: 8)
            for p in 0 ..< (n + 1) / 2 {
                if 2 * p + 1 < n { c[p % 8] = bf16FMA(c[p % 8], bq[2 * p + 1], k[2 * p + 1]) }
                c[p % 8] = bf16FMA(c[p % 8], bq[2 * p], k[2 * p])
            }
            return (((c[0] + c[1]) + (c[2] + c[3])) + ((c[4] + c[5]) + (c[6] + c[7]))) * scale
        }
    }

    /// `o + Σ_j weights[j] · row_j`, rows in order.
    public static func accumulate(_ type: KVCacheType, _ o: [Float], weights: [Float], rows: [[UInt8]]) -> [Float] {
        var o = o
        for (w, row) in zip(weights, rows) {
            let v = load(type, row, count: o.count)
            for i in o.indices { o[i] += w * v[i] }
        }
        return o
    }

    /// ``accumulate(_:_:weights:rows:)`` for f16 rows as the kernels compute it when ``KVRows/bf16Arithmetic``
    /// is on, bit for bit (NaN payloads aside): each weight and each value rounded to bf16 (``bf16(_:)``; f16 to
    /// f32 is exact first), then per output lane one chain over the rows in order, `o = bf16FMA(o, p, v)`.
    /// VDPBF16PS computes two such steps per lane (the kernels pair keys so that the earlier one goes first),
    /// so the chain, and with it every result, is the same however a range of rows is split into calls.
    public static func accumulateBF16(_ o: [Float], weights: [Float], rows: [[UInt8]]) -> [Float] {
        var o = o
        for (w, row) in zip(weights, rows) {
            let p = bf16(w), v = load(.f16, row, count: o.count)
            for i in o.indices { o[i] = bf16FMA(o[i], p, bf16(v[i])) }
        }
        return o
    }

    /// `x` rounded to bf16 (the top 16 bits of an f32), as VCVTNEPS2BF16 does it: to nearest even, a denormal
    /// input read as zero (sign kept), NaN made quiet.
    public static func bf16(_ x: Float) -> Float {
        if x.isSubnormal { return Float(signOf: x, magnitudeOf: 0) }
        if x.isNaN { return Float(bitPattern: (x.bitPattern | 0x40_0000) & 0xFFFF_0000) }
        let b = x.bitPattern
        return Float(bitPattern: (b &+ 0x7FFF &+ (b >> 16 & 1)) & 0xFFFF_0000)
    }

    /// `acc + a · b` as one slot of VDPBF16PS (measured on Zen 5, and as Intel documents it): `a` and `b` are
    /// bf16 values, their product exact; one rounding to nearest even; denormal inputs (the accumulator
    /// included) read as zero; a result that is tiny after rounding (below 2^-126 when rounded to 24 bits
    /// at unbounded exponent) flushed to zero of the exact result's sign.
    public static func bf16FMA(_ acc: Float, _ a: Float, _ b: Float) -> Float {
        func daz(_ x: Float) -> Float { x.isSubnormal ? Float(signOf: x, magnitudeOf: 0) : x }
        let acc = daz(acc), a = daz(a), b = daz(b)
        let r = acc.addingProduct(a, b) // correctly rounded, with gradual underflow
        guard r.isFinite, r.magnitude <= Float.leastNormalMagnitude else { return r }
        // Near or below 2^-126: decide tininess on the exact sum. It is exact in Double here: the product of
        // two bf16 values has 16 significant bits, and a normal accumulator this close to the result is a
        // multiple of 2^-149 (a far smaller product does not move the decision, which is at 2^-126 - 2^-151).
        let s = Double(acc) + Double(a) * Double(b)
        guard s != 0 else { return r }
        return Float(s * 0x1p100).magnitude < 0x1p-26 ? (s < 0 ? -0.0 : 0.0) : r
    }
}
