/// The Walsh-Hadamard rotation attention applies around a quantized KV cache, as llama.cpp does
/// (`attn_rot_k` / `attn_rot_v` in its llama-kv-cache.cpp; on by default, `LLAMA_ATTN_ROT_DISABLE=1` turns it off).
///
/// Why: q8_0 gives each block of 32 values one scale, set by the block's largest magnitude. A model whose K
/// projection has a few huge channels (qwen2.5-coder's K biases reach 145-211 on some, up to 290x the median of
/// their layer) spends a block's whole int8 range on its outlier, and the small channels round to a handful of
/// levels or to zero. An
/// orthonormal rotation H spreads each outlier over every value of the block before quantizing, so the
/// block's scale follows its overall size, not its largest channel. It changes nothing in exact arithmetic:
/// with Q and K both rotated, (HQ)·(HK) = Q·K; V rotated before it is stored makes the attention output
/// H·o, and rotating that output again gives o back (H is symmetric and H·H = I).
///
/// llama.cpp's blocks: Q and K in blocks of the largest power of two (from 64) that divides the head size,
/// V and the output in blocks of 64, both only when the head size is a multiple of 64 and the type is
/// quantized. f32 and f16 caches are not rotated. On qwen2.5-coder:0.5b (head size 64) with a q8_0 cache this
/// is the difference between +8.0% and +3.6% perplexity over its f32 cache on a 3.5K-token text (llama.cpp: +3.6%
/// with it, docs/PERFORMANCE.md).
public enum KVRotation {
    /// Block size of the rotation of Q and K rows for a cache of `type` and keys of `headDim` values,
    /// or nil when they are not rotated.
    public static func keyBlock(for type: KVCacheType, headDim: Int) -> Int? {
        guard type.isQuantized, headDim > 0, headDim % 64 == 0 else { return nil }
        var n = 64
        while headDim % (2 * n) == 0 { n *= 2 }
        return n
    }

    /// Block size of the rotation of V rows and of the attention output for a cache of `type` and values
    /// of `headDim` values, or nil when they are not rotated. 64 whatever the head size (llama.cpp measured
    /// the smallest block to do best for V).
    public static func valueBlock(for type: KVCacheType, headDim: Int) -> Int? {
        guard type.isQuantized, headDim > 0, headDim % 64 == 0 else { return nil }
        return 64
    }

    /// `x[b ..< b + n] = H_n · x[b ..< b + n]` for every block `b` of `count` values, where H_n is the
    /// orthonormal Walsh-Hadamard matrix in Sylvester order, `H[i][j] = (-1)^popcount(i & j) / √n`
    /// (``KVRowsReference/hadamard(_:)``).
    ///
    /// The fast transform: scale by 1/√n, then log2(n) passes of sums and differences of pairs `h` apart,
    /// O(n log n) instead of the O(n²) product. Each value's operations depend only on its own block, so a
    /// row rotates the same whatever else is in the batch.
    /// - Precondition: `n` is a power of two and `count` a multiple of it.
    public static func rotate(_ x: UnsafeMutablePointer<Float>, count: Int, block n: Int) {
        precondition(n > 0 && n & (n - 1) == 0 && count % n == 0, "Walsh-Hadamard blocks are powers of two that tile the row")
        let scale = 1 / Float(n).squareRoot()
        for i in 0 ..< count { x[i] *= scale }
        var base = 0
        while base < count {
            let v = x + base
            var h = 1
            if n >= 8 {
                // Passes h = 1, 2, 4 on each group of 8 values in registers, then h >= 8 on 8 lanes at a time:
                // the same sum or difference for every value as the plain passes below, so the same bits.
                var g = 0
                while g < n {
                    let p = v + g
                    let a0 = p[0] + p[1], a1 = p[0] - p[1], a2 = p[2] + p[3], a3 = p[2] - p[3]
                    let a4 = p[4] + p[5], a5 = p[4] - p[5], a6 = p[6] + p[7], a7 = p[6] - p[7]
                    let b0 = a0 + a2, b1 = a1 + a3, b2 = a0 - a2, b3 = a1 - a3
                    let b4 = a4 + a6, b5 = a5 + a7, b6 = a4 - a6, b7 = a5 - a7
                    p[0] = b0 + b4; p[1] = b1 + b5; p[2] = b2 + b6; p[3] = b3 + b7
                    p[4] = b0 - b4; p[5] = b1 - b5; p[6] = b2 - b6; p[7] = b3 - b7
                    g += 8
                }
                let raw = UnsafeMutableRawPointer(v)
                h = 8
                while h < n {
                    var i = 0
                    while i < n {
                        var j = i
                        while j < i + h {
                            let a = raw.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
                            let b = raw.loadUnaligned(fromByteOffset: 4 * (j + h), as: SIMD8<Float>.self)
                            raw.storeBytes(of: a + b, toByteOffset: 4 * j, as: SIMD8<Float>.self)
                            raw.storeBytes(of: a - b, toByteOffset: 4 * (j + h), as: SIMD8<Float>.self)
                            j += 8
                        }
                        i += 2 * h
                    }
                    h *= 2
                }
            }
            while h < n {
                var i = 0
                while i < n {
                    for j in i ..< i + h {
                        let a = v[j], b = v[j + h]
                        v[j] = a + b
                        v[j + h] = a - b
                    }
                    i += 2 * h
                }
                h *= 2
            }
            base += n
        }
    }
}

extension KVCacheType {
    /// Whether rows are stored as blocks of integer codes with a shared scale (q8_0), which is when
    /// attention rotates them (``KVRotation``).
    public var isQuantized: Bool { self == .q8_0 }
}

extension KVRowsReference {
    /// The orthonormal Walsh-Hadamard matrix of size `n` (a power of two), row-major, by its definition
    /// `H[i][j] = (-1)^popcount(i & j) / √n`.
    public static func hadamard(_ n: Int) -> [Float] {
        let s = 1 / Double(n).squareRoot()
        return (0 ..< n * n).map { e in Float((e / n & e % n).nonzeroBitCount % 2 == 0 ? s : -s) }
    }

    /// ``KVRotation/rotate(_:count:block:)`` as the matrix product, each block in Double.
    public static func rotate(_ x: [Float], block n: Int) -> [Float] {
        let h = hadamard(n)
        var out = x
        for b in stride(from: 0, to: x.count, by: n) {
            for i in 0 ..< n {
                var s = 0.0
                for j in 0 ..< n { s += Double(h[i * n + j]) * Double(x[b + j]) }
                out[b + i] = Float(s)
            }
        }
        return out
    }
}
