// KV cache rows in f32, f16 or q8_0; see include/kv.h. Each entry point picks the AVX2 body once
// (CPU features read at first call) or the portable one; both are deterministic per row, so an
// attention row's result never depends on what else is in the batch.
#include "kv.h"
#include "CKernels.h"
#include <math.h>
#include <string.h>

// ---------------------------------------------------------------------------------------------
// Portable bodies (and the scalar tails of the vector ones).
// ---------------------------------------------------------------------------------------------

static float kv_h2f(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
    if (exp == 0) {
        float v = (float)mant * (1.0f / 16777216.0f); // subnormal: mant * 2^-24
        return sign ? -v : v;
    }
    uint32_t bits = exp == 31 ? (sign | 0x7F800000u | (mant << 13)) : (sign | ((exp + 112) << 23) | (mant << 13));
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/// Round-to-nearest-even float -> fp16, as F16C's vcvtps2ph with rounding mode 0.
static uint16_t kv_f2h(float value) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    int exp = (int)((bits >> 23) & 0xFF);
    uint32_t mant = bits & 0x7FFFFF;
    if (exp == 0xFF) return sign | 0x7C00 | (mant ? 0x200 : 0);
    int e = exp - 127 + 15;
    if (e >= 31) return sign | 0x7C00;
    if (e <= 0) {
        if (e < -10) return sign;
        mant |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e), half = mant >> shift, rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return sign | (uint16_t)half;
    }
    uint32_t half = mant >> 13, rem = mant & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) {
        half++;
        if (half == 0x400) { half = 0; e++; if (e >= 31) return sign | 0x7C00; }
    }
    return sign | (uint16_t)(e << 10) | (uint16_t)half;
}

static float kv_load(int type, const uint8_t *row, int64_t i) {
    switch (type) {
    case SL_F16: return kv_h2f(((const uint16_t *)row)[i]);
    case SL_Q8_0: {
        const sl_block_q8_0 *b = (const sl_block_q8_0 *)row + i / SL_QK;
        return kv_h2f(b->d) * (float)b->qs[i % SL_QK];
    }
    default: return ((const float *)row)[i];
    }
}

static void store_q8_0_portable(const float *x, sl_block_q8_0 *y, int64_t n) {
    for (int64_t b = 0; b < n / SL_QK; b++, x += SL_QK) {
        float amax = 0;
        for (int i = 0; i < SL_QK; i++) amax = fmaxf(amax, fabsf(x[i]));
        y[b].d = kv_f2h(amax / 127.f);
        const float id = amax != 0.0f ? 127.f / amax : 0.0f;
        for (int i = 0; i < SL_QK; i++) y[b].qs[i] = (int8_t)nearbyintf(x[i] * id); // default mode: half to even
    }
}

static void dots_portable(int type, const float *q, const uint8_t *rows, size_t stride, int64_t count, int64_t n,
                          float scale, float *out) {
    for (int64_t j = 0; j < count; j++) {
        const uint8_t *row = rows + j * stride;
        float s = 0;
        if (type == SL_Q8_0) {
            for (int64_t b = 0; b < n / SL_QK; b++) {
                const sl_block_q8_0 *blk = (const sl_block_q8_0 *)row + b;
                float bs = 0;
                for (int i = 0; i < SL_QK; i++) bs += q[b * SL_QK + i] * (float)blk->qs[i];
                s += kv_h2f(blk->d) * bs;
            }
        } else {
            for (int64_t i = 0; i < n; i++) s += q[i] * kv_load(type, row, i);
        }
        out[j] = s * scale;
    }
}

static void accumulate_portable(int type, float *o, const float *p, const uint8_t *rows, size_t stride,
                                int64_t count, int64_t n) {
    for (int64_t j = 0; j < count; j++) {
        const uint8_t *row = rows + j * stride;
        if (type == SL_Q8_0) {
            for (int64_t b = 0; b < n / SL_QK; b++) {
                const sl_block_q8_0 *blk = (const sl_block_q8_0 *)row + b;
                const float w = p[j] * kv_h2f(blk->d);
                for (int i = 0; i < SL_QK; i++) o[b * SL_QK + i] += w * (float)blk->qs[i];
            }
        } else {
            for (int64_t i = 0; i < n; i++) o[i] += p[j] * kv_load(type, row, i);
        }
    }
}

/// Floats of one converted tile (16 KB on the stack: it stays in L1 while every query of a block reads it).
#define KV_TILE_FLOATS 4096

/// Rows per converted tile of rows of `n` values: up to 32, as many as fit KV_TILE_FLOATS (n <= KV_TILE_FLOATS).
static int64_t kv_tile_rows(int64_t n) {
    int64_t t = KV_TILE_FLOATS / (n > 0 ? n : 1);
    return t < 1 ? 1 : t > 32 ? 32 : t;
}

// ---------------------------------------------------------------------------------------------
// AVX2 + FMA + F16C bodies.
// ---------------------------------------------------------------------------------------------
#if defined(__x86_64__)
#include <immintrin.h>
#define KV_AVX2 __attribute__((target("avx2,fma,f16c")))

KV_AVX2 static inline float kv_hsum(__m256 v) {
    __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

KV_AVX2 static inline __m256 kv_ld_f16(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
KV_AVX2 static inline __m256 kv_ld_i8(const int8_t *p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}

KV_AVX2 static void store_avx2(int type, const float *x, void *dst, int64_t n) {
    if (type == SL_F16) {
        uint16_t *h = dst;
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) _mm_storeu_si128((__m128i *)(h + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), 0));
        for (; i < n; i++) h[i] = kv_f2h(x[i]);
        return;
    }
    // q8_0 as ggml's AVX2 quantize_row_q8_0: the same formula as the portable body, which _mm256_round_ps
    // (nearest, half to even) and _mm256_cvtps_ph reproduce lane for lane.
    store_q8_0_portable(x, dst, n);
}

/// A row of K or V as the AVX2 bodies read it: f16 from the cache (`half`), or f32 from a converted tile.
/// `half` is a constant at every call, so each caller compiles to its own loop; converting f16 to f32 is
/// exact, which is why the per-pair and blocked bodies give bit-identical results through one definition.
KV_AVX2 static inline __m256 kv_ld_row(const void *row, int64_t i, int half) {
    return half ? kv_ld_f16((const uint16_t *)row + i) : _mm256_loadu_ps((const float *)row + i);
}
KV_AVX2 static inline float kv_ld1_row(const void *row, int64_t i, int half) {
    return half ? _cvtsh_ss(((const uint16_t *)row)[i]) : ((const float *)row)[i];
}

/// The f16 dots' one summation order, shared by every AVX2 body so that a (query, key) score is the same
/// bits whichever body computes it: one 8-lane accumulator over the dims in chunks of 8, in order, then
/// the tree ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)), then the scalar tail dims in order.
/// One accumulator per pair (not four) is what lets the bodies below keep 8 pairs in registers and
/// reduce them together (kv_reduce8): per pair that is one tree, where a horizontal sum each cost more
/// than the pair's 8 fmas at head size 64.
KV_AVX2 static inline float kv_tree_sum(__m256 a) {
    const __m256 h = _mm256_hadd_ps(a, a);        // [01, 23, 01, 23 | 45, 67, 45, 67]
    const __m256 g = _mm256_hadd_ps(h, h);        // [0123 x4 | 4567 x4]
    return _mm_cvtss_f32(_mm_add_ss(_mm256_castps256_ps128(g), _mm256_extractf128_ps(g, 1)));
}

/// kv_tree_sum of 8 accumulators at once: lane j of the result is kv_tree_sum(a[j]), bit for bit
/// (the same additions of the same operands; hadd adds neighbouring lanes, in either order exactly).
KV_AVX2 static inline __m256 kv_reduce8(const __m256 *a) {
    const __m256 g0 = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3])); // [j0123 | j4567], j = 0..3
    const __m256 g1 = _mm256_hadd_ps(_mm256_hadd_ps(a[4], a[5]), _mm256_hadd_ps(a[6], a[7])); // j = 4..7
    return _mm256_add_ps(_mm256_permute2f128_ps(g0, g1, 0x20), _mm256_permute2f128_ps(g0, g1, 0x31));
}

/// q · k over n dims in the shared order (kv_tree_sum).
KV_AVX2 static inline __attribute__((always_inline)) float kv_dot_row(const float *q, const void *k, int64_t n, int half) {
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), kv_ld_row(k, i, half), acc);
    float s = kv_tree_sum(acc);
    for (; i < n; i++) s += q[i] * kv_ld1_row(k, i, half);
    return s;
}

/// One query against 8 rows (f16 cache rows or f32 tile rows, `stride` bytes apart): 8 accumulators,
/// one load of q per chunk for all 8, reduced together; each result is kv_dot_row's, times `scale`.
KV_AVX2 static inline __attribute__((always_inline)) void kv_dot8_rows(const float *q, const uint8_t *rows, size_t stride,
                                                                       int64_t n, int half, float scale, float *out) {
    __m256 a[8];
    for (int t = 0; t < 8; t++) a[t] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 qv = _mm256_loadu_ps(q + i);
        for (int t = 0; t < 8; t++) a[t] = _mm256_fmadd_ps(qv, kv_ld_row(rows + t * stride, i, half), a[t]);
    }
    float s[8];
    _mm256_storeu_ps(s, kv_reduce8(a));
    for (int t = 0; t < 8; t++) {
        for (int64_t d = i; d < n; d++) s[t] += q[d] * kv_ld1_row(rows + t * stride, d, half);
        out[t] = s[t] * scale;
    }
}

KV_AVX2 static void dots_f16_avx2(const float *q, const uint8_t *rows, size_t stride, int64_t count, int64_t n,
                                  float scale, float *out) {
    int64_t j = 0;
    for (; j + 8 <= count; j += 8) kv_dot8_rows(q, rows + j * stride, stride, n, 1, scale, out + j);
    for (; j < count; j++) out[j] = kv_dot_row(q, rows + j * stride, n, 1) * scale;
}

KV_AVX2 static void dots_q8_0_avx2(const float *q, const uint8_t *rows, size_t stride, int64_t count, int64_t n,
                                   float scale, float *out) {
    const int64_t nb = n / SL_QK;
    for (int64_t j = 0; j < count; j++) {
        const sl_block_q8_0 *blk = (const sl_block_q8_0 *)(rows + j * stride);
        __m256 acc = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const float *qb = q + b * SL_QK;
            __m256 p = _mm256_mul_ps(_mm256_loadu_ps(qb), kv_ld_i8(blk[b].qs));
            p = _mm256_fmadd_ps(_mm256_loadu_ps(qb + 8), kv_ld_i8(blk[b].qs + 8), p);
            p = _mm256_fmadd_ps(_mm256_loadu_ps(qb + 16), kv_ld_i8(blk[b].qs + 16), p);
            p = _mm256_fmadd_ps(_mm256_loadu_ps(qb + 24), kv_ld_i8(blk[b].qs + 24), p);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(blk[b].d)), p, acc);
        }
        out[j] = kv_hsum(acc) * scale;
    }
}

/// o += Σ_j p[j] · row j over dims i0..<n: dims in blocks of 32 held in four registers across all rows
/// (each row's contribution is one fma per lane, in row order), then the 8-wide and scalar tails the same
/// way. Rows are f16 cache rows (`half`) or f32 tile rows, `stride` bytes apart.
KV_AVX2 static inline __attribute__((always_inline)) void kv_accumulate_rows(float *o, const float *p, const uint8_t *rows,
                                                                             size_t stride, int64_t count, int64_t i0,
                                                                             int64_t n, int half) {
    int64_t i = i0;
    for (; i + 32 <= n; i += 32) {
        __m256 a0 = _mm256_loadu_ps(o + i), a1 = _mm256_loadu_ps(o + i + 8);
        __m256 a2 = _mm256_loadu_ps(o + i + 16), a3 = _mm256_loadu_ps(o + i + 24);
        for (int64_t j = 0; j < count; j++) {
            const uint8_t *v = rows + j * stride;
            const __m256 w = _mm256_set1_ps(p[j]);
            a0 = _mm256_fmadd_ps(w, kv_ld_row(v, i, half), a0);
            a1 = _mm256_fmadd_ps(w, kv_ld_row(v, i + 8, half), a1);
            a2 = _mm256_fmadd_ps(w, kv_ld_row(v, i + 16, half), a2);
            a3 = _mm256_fmadd_ps(w, kv_ld_row(v, i + 24, half), a3);
        }
        _mm256_storeu_ps(o + i, a0); _mm256_storeu_ps(o + i + 8, a1);
        _mm256_storeu_ps(o + i + 16, a2); _mm256_storeu_ps(o + i + 24, a3);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_loadu_ps(o + i);
        for (int64_t j = 0; j < count; j++) a = _mm256_fmadd_ps(_mm256_set1_ps(p[j]), kv_ld_row(rows + j * stride, i, half), a);
        _mm256_storeu_ps(o + i, a);
    }
    for (; i < n; i++) {
        float a = o[i];
        for (int64_t j = 0; j < count; j++) a = fmaf(p[j], kv_ld1_row(rows + j * stride, i, half), a);
        o[i] = a;
    }
}

KV_AVX2 static void accumulate_f16_avx2(float *o, const float *p, const uint8_t *rows, size_t stride, int64_t count,
                                        int64_t n) {
    kv_accumulate_rows(o, p, rows, stride, count, 0, n, 1);
}

KV_AVX2 static void accumulate_q8_0_avx2(float *o, const float *p, const uint8_t *rows, size_t stride, int64_t count,
                                         int64_t n) {
    for (int64_t b = 0; b < n / SL_QK; b++) {
        float *ob = o + b * SL_QK;
        __m256 a0 = _mm256_loadu_ps(ob), a1 = _mm256_loadu_ps(ob + 8);
        __m256 a2 = _mm256_loadu_ps(ob + 16), a3 = _mm256_loadu_ps(ob + 24);
        for (int64_t j = 0; j < count; j++) {
            const sl_block_q8_0 *blk = (const sl_block_q8_0 *)(rows + j * stride) + b;
            const __m256 w = _mm256_set1_ps(p[j] * _cvtsh_ss(blk->d));
            a0 = _mm256_fmadd_ps(w, kv_ld_i8(blk->qs), a0);
            a1 = _mm256_fmadd_ps(w, kv_ld_i8(blk->qs + 8), a1);
            a2 = _mm256_fmadd_ps(w, kv_ld_i8(blk->qs + 16), a2);
            a3 = _mm256_fmadd_ps(w, kv_ld_i8(blk->qs + 24), a3);
        }
        _mm256_storeu_ps(ob, a0); _mm256_storeu_ps(ob + 8, a1);
        _mm256_storeu_ps(ob + 16, a2); _mm256_storeu_ps(ob + 24, a3);
    }
}

// ---------------------------------------------------------------------------------------------
// Blocked bodies (sl_kv_dots_block / sl_kv_accumulate_block): a tile of K or V rows is converted to
// f32 once and then used by every query of the block. Converting f16 (or q8_0 codes) to f32 is exact,
// and each (query, row) pair below runs the same operations in the same lanes and order as the
// per-pair bodies above, so every result is bit-identical to sl_kv_dots / sl_kv_accumulate.
// ---------------------------------------------------------------------------------------------

/// tile [rows x n] f32 from f16 rows; vcvtph2ps and _cvtsh_ss give the same values.
KV_AVX2 static void kv_tile_f16(float *tile, const uint8_t *rows, size_t stride, int64_t count, int64_t n) {
    for (int64_t j = 0; j < count; j++) {
        const uint16_t *k = (const uint16_t *)(rows + j * stride);
        float *t = tile + j * n;
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(t + i, kv_ld_f16(k + i));
        for (; i < n; i++) t[i] = _cvtsh_ss(k[i]);
    }
}

/// codes [rows x n] as f32 and scales [rows x n/32] from q8_0 rows.
KV_AVX2 static void kv_tile_q8_0(float *codes, float *scales, const uint8_t *rows, size_t stride, int64_t count,
                                 int64_t n) {
    const int64_t nb = n / SL_QK;
    for (int64_t j = 0; j < count; j++) {
        const sl_block_q8_0 *blk = (const sl_block_q8_0 *)(rows + j * stride);
        for (int64_t b = 0; b < nb; b++) {
            float *c = codes + j * n + b * SL_QK;
            _mm256_storeu_ps(c, kv_ld_i8(blk[b].qs));
            _mm256_storeu_ps(c + 8, kv_ld_i8(blk[b].qs + 8));
            _mm256_storeu_ps(c + 16, kv_ld_i8(blk[b].qs + 16));
            _mm256_storeu_ps(c + 24, kv_ld_i8(blk[b].qs + 24));
            scales[j * nb + b] = _cvtsh_ss(blk[b].d);
        }
    }
}

/// Two queries against 4 converted rows ([4 x n] f32 at `k`): 8 accumulators (q or u by k0..k3), each
/// row chunk loaded once for both queries; results are kv_dot_row's, times `scale`.
KV_AVX2 static inline void kv_dot2x4_tiled(const float *q, const float *u, const float *k, int64_t n, float scale,
                                           float *oq, float *ou) {
    __m256 a[8];
    for (int t = 0; t < 8; t++) a[t] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 qv = _mm256_loadu_ps(q + i), uv = _mm256_loadu_ps(u + i);
        for (int t = 0; t < 4; t++) {
            const __m256 kv = _mm256_loadu_ps(k + t * n + i);
            a[t] = _mm256_fmadd_ps(qv, kv, a[t]);
            a[t + 4] = _mm256_fmadd_ps(uv, kv, a[t + 4]);
        }
    }
    float s[8];
    _mm256_storeu_ps(s, kv_reduce8(a));
    for (int t = 0; t < 4; t++) {
        for (int64_t d = i; d < n; d++) {
            s[t] += q[d] * k[t * n + d];
            s[t + 4] += u[d] * k[t * n + d];
        }
        oq[t] = s[t] * scale;
        ou[t] = s[t + 4] * scale;
    }
}

KV_AVX2 static void dots_block_f16_avx2(int64_t m, const float *const *q, const uint8_t *rows, size_t stride,
                                        int64_t count, int64_t n, float scale, float *const *out, int64_t off) {
    const int64_t tr = kv_tile_rows(n);
    const size_t tstride = (size_t)n * sizeof(float);
    float tile[KV_TILE_FLOATS]; // [tr x n]
    for (int64_t j0 = 0; j0 < count; j0 += tr) {
        const int64_t jn = count - j0 < tr ? count - j0 : tr;
        kv_tile_f16(tile, rows + j0 * stride, stride, jn, n);
        const uint8_t *t8 = (const uint8_t *)tile;
        int64_t r = 0;
        for (; r + 2 <= m; r += 2) {
            float *o = out[r] + off + j0, *p = out[r + 1] + off + j0;
            int64_t j = 0;
            for (; j + 4 <= jn; j += 4) kv_dot2x4_tiled(q[r], q[r + 1], tile + j * n, n, scale, o + j, p + j);
            for (; j < jn; j++) {
                o[j] = kv_dot_row(q[r], t8 + j * tstride, n, 0) * scale;
                p[j] = kv_dot_row(q[r + 1], t8 + j * tstride, n, 0) * scale;
            }
        }
        for (; r < m; r++) {
            float *o = out[r] + off + j0;
            int64_t j = 0;
            for (; j + 8 <= jn; j += 8) kv_dot8_rows(q[r], t8 + j * tstride, tstride, n, 0, scale, o + j);
            for (; j < jn; j++) o[j] = kv_dot_row(q[r], t8 + j * tstride, n, 0) * scale;
        }
    }
}

KV_AVX2 static void dots_block_q8_0_avx2(int64_t m, const float *const *q, const uint8_t *rows, size_t stride,
                                         int64_t count, int64_t n, float scale, float *const *out, int64_t off) {
    const int64_t tr = kv_tile_rows(n), nb = n / SL_QK;
    float codes[KV_TILE_FLOATS], scales[KV_TILE_FLOATS / SL_QK]; // [tr x n], [tr x nb]
    for (int64_t j0 = 0; j0 < count; j0 += tr) {
        const int64_t jn = count - j0 < tr ? count - j0 : tr;
        kv_tile_q8_0(codes, scales, rows + j0 * stride, stride, jn, n);
        for (int64_t r = 0; r < m; r++) {
            float *o = out[r] + off + j0;
            for (int64_t j = 0; j < jn; j++) {
                const float *c = codes + j * n;
                __m256 acc = _mm256_setzero_ps();
                for (int64_t b = 0; b < nb; b++) {
                    const float *qb = q[r] + b * SL_QK, *cb = c + b * SL_QK;
                    __m256 p = _mm256_mul_ps(_mm256_loadu_ps(qb), _mm256_loadu_ps(cb));
                    p = _mm256_fmadd_ps(_mm256_loadu_ps(qb + 8), _mm256_loadu_ps(cb + 8), p);
                    p = _mm256_fmadd_ps(_mm256_loadu_ps(qb + 16), _mm256_loadu_ps(cb + 16), p);
                    p = _mm256_fmadd_ps(_mm256_loadu_ps(qb + 24), _mm256_loadu_ps(cb + 24), p);
                    acc = _mm256_fmadd_ps(_mm256_set1_ps(scales[j * nb + b]), p, acc);
                }
                o[j] = kv_hsum(acc) * scale;
            }
        }
    }
}

/// accumulate_f16_avx2's per-lane chain (one fma per row, rows in order) for each query over each tile.
KV_AVX2 static void accumulate_block_f16_avx2(int64_t m, float *const *os, const float *const *ps, int64_t off,
                                              const uint8_t *rows, size_t stride, int64_t count, int64_t n) {
    const int64_t tr = kv_tile_rows(n);
    float tile[KV_TILE_FLOATS]; // [tr x n]
    for (int64_t j0 = 0; j0 < count; j0 += tr) {
        const int64_t jn = count - j0 < tr ? count - j0 : tr;
        kv_tile_f16(tile, rows + j0 * stride, stride, jn, n);
        int64_t n32 = 0; // dims the pairs below have done
        int64_t r = 0;
        // Two outputs at once over the 32-wide dims (each V vector loaded once for both); tails below.
        for (; r + 2 <= m && n >= 32; r += 2) {
            float *o = os[r], *e = os[r + 1];
            const float *p = ps[r] + off + j0, *f = ps[r + 1] + off + j0;
            int64_t i = 0;
            for (; i + 32 <= n; i += 32) {
                __m256 a0 = _mm256_loadu_ps(o + i), a1 = _mm256_loadu_ps(o + i + 8);
                __m256 a2 = _mm256_loadu_ps(o + i + 16), a3 = _mm256_loadu_ps(o + i + 24);
                __m256 b0 = _mm256_loadu_ps(e + i), b1 = _mm256_loadu_ps(e + i + 8);
                __m256 b2 = _mm256_loadu_ps(e + i + 16), b3 = _mm256_loadu_ps(e + i + 24);
                for (int64_t j = 0; j < jn; j++) {
                    const float *v = tile + j * n + i;
                    const __m256 v0 = _mm256_loadu_ps(v), v1 = _mm256_loadu_ps(v + 8);
                    const __m256 v2 = _mm256_loadu_ps(v + 16), v3 = _mm256_loadu_ps(v + 24);
                    const __m256 w = _mm256_set1_ps(p[j]), x = _mm256_set1_ps(f[j]);
                    a0 = _mm256_fmadd_ps(w, v0, a0); b0 = _mm256_fmadd_ps(x, v0, b0);
                    a1 = _mm256_fmadd_ps(w, v1, a1); b1 = _mm256_fmadd_ps(x, v1, b1);
                    a2 = _mm256_fmadd_ps(w, v2, a2); b2 = _mm256_fmadd_ps(x, v2, b2);
                    a3 = _mm256_fmadd_ps(w, v3, a3); b3 = _mm256_fmadd_ps(x, v3, b3);
                }
                _mm256_storeu_ps(o + i, a0); _mm256_storeu_ps(o + i + 8, a1);
                _mm256_storeu_ps(o + i + 16, a2); _mm256_storeu_ps(o + i + 24, a3);
                _mm256_storeu_ps(e + i, b0); _mm256_storeu_ps(e + i + 8, b1);
                _mm256_storeu_ps(e + i + 16, b2); _mm256_storeu_ps(e + i + 24, b3);
            }
            n32 = i;
        }
        const int64_t pairs = r;
        for (r = 0; r < m; r++) {
            float *o = os[r];
            const float *p = ps[r] + off + j0;
            kv_accumulate_rows(o, p, (const uint8_t *)tile, (size_t)n * sizeof(float), jn, r < pairs ? n32 : 0, n, 0);
        }
    }
}

KV_AVX2 static void accumulate_block_q8_0_avx2(int64_t m, float *const *os, const float *const *ps, int64_t off,
                                               const uint8_t *rows, size_t stride, int64_t count, int64_t n) {
    const int64_t tr = kv_tile_rows(n), nb = n / SL_QK;
    float codes[KV_TILE_FLOATS], scales[KV_TILE_FLOATS / SL_QK]; // [tr x n], [tr x nb]
    for (int64_t j0 = 0; j0 < count; j0 += tr) {
        const int64_t jn = count - j0 < tr ? count - j0 : tr;
        kv_tile_q8_0(codes, scales, rows + j0 * stride, stride, jn, n);
        for (int64_t r = 0; r < m; r++) {
            const float *p = ps[r] + off + j0;
            for (int64_t b = 0; b < nb; b++) {
                float *ob = os[r] + b * SL_QK;
                __m256 a0 = _mm256_loadu_ps(ob), a1 = _mm256_loadu_ps(ob + 8);
                __m256 a2 = _mm256_loadu_ps(ob + 16), a3 = _mm256_loadu_ps(ob + 24);
                for (int64_t j = 0; j < jn; j++) {
                    const float *c = codes + j * n + b * SL_QK;
                    const __m256 w = _mm256_set1_ps(p[j] * scales[j * nb + b]);
                    a0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(c), a0);
                    a1 = _mm256_fmadd_ps(w, _mm256_loadu_ps(c + 8), a1);
                    a2 = _mm256_fmadd_ps(w, _mm256_loadu_ps(c + 16), a2);
                    a3 = _mm256_fmadd_ps(w, _mm256_loadu_ps(c + 24), a3);
                }
                _mm256_storeu_ps(ob, a0); _mm256_storeu_ps(ob + 8, a1);
                _mm256_storeu_ps(ob + 16, a2); _mm256_storeu_ps(ob + 24, a3);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// AVX-512 bodies of the f16 kernels (CPUs at the AVX-512 VNNI level: Zen 4 and 5, Ice Lake on), twice the
// lanes of the AVX2 ones. Scores sum each pair in one 16-lane accumulator over 16-dim chunks, fold it to
// 8 lanes (lane i + lane i + 8), then reduce as the AVX2 bodies do (kv_tree_sum / kv_reduce8): one order
// for every AVX-512 body, so blocked and per-query scores stay bit-identical on this path. Weighted sums
// are one fma per row per lane in row order at any width, so they equal the AVX2 ones bit for bit.
// ---------------------------------------------------------------------------------------------
#define KV_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))

KV_AVX512 static inline __m512 kv_ld16_row(const void *row, int64_t i, int half) {
    return half ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)row + i)))
                : _mm512_loadu_ps((const float *)row + i);
}

/// The 16-lane accumulator folded to 8 lanes: lane i + lane i + 8.
KV_AVX512 static inline __m256 kv_fold(__m512 a) {
    return _mm256_add_ps(_mm512_castps512_ps256(a), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
}

/// q · k over n dims in the AVX-512 order.
KV_AVX512 static inline __attribute__((always_inline)) float kv_dot_row512(const float *q, const void *k, int64_t n, int half) {
    __m512 acc = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), kv_ld16_row(k, i, half), acc);
    float s = kv_tree_sum(kv_fold(acc));
    for (; i < n; i++) s += q[i] * kv_ld1_row(k, i, half);
    return s;
}

/// 8 (query, row) pairs reduced together: a[t] accumulated over the first n16 dims; `qs[t]` / `ks[t]`
/// give each pair's operands for the scalar tail dims [n16, n).
KV_AVX512 static inline void kv_finish8_512(const __m512 *a, const float *const *qs, const void *const *ks, int64_t n16,
                                            int64_t n, int half, float scale, float *const *out) {
    __m256 f[8];
    for (int t = 0; t < 8; t++) f[t] = kv_fold(a[t]);
    float s[8];
    _mm256_storeu_ps(s, kv_reduce8(f));
    for (int t = 0; t < 8; t++) {
        for (int64_t d = n16; d < n; d++) s[t] += qs[t][d] * kv_ld1_row(ks[t], d, half);
        *out[t] = s[t] * scale;
    }
}

/// One query against 8 rows `stride` bytes apart (f16 cache rows or f32 tile rows).
KV_AVX512 static inline __attribute__((always_inline)) void kv_dot8_rows512(const float *q, const uint8_t *rows, size_t stride,
                                                                            int64_t n, int half, float scale, float *out) {
    __m512 a[8];
    for (int t = 0; t < 8; t++) a[t] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 qv = _mm512_loadu_ps(q + i);
        for (int t = 0; t < 8; t++) a[t] = _mm512_fmadd_ps(qv, kv_ld16_row(rows + t * stride, i, half), a[t]);
    }
    const float *qs[8];
    const void *ks[8];
    float *os[8];
    for (int t = 0; t < 8; t++) { qs[t] = q; ks[t] = rows + t * stride; os[t] = out + t; }
    kv_finish8_512(a, qs, ks, i, n, half, scale, os);
}

KV_AVX512 static void dots_f16_avx512(const float *q, const uint8_t *rows, size_t stride, int64_t count, int64_t n,
                                      float scale, float *out) {
    int64_t j = 0;
    for (; j + 8 <= count; j += 8) kv_dot8_rows512(q, rows + j * stride, stride, n, 1, scale, out + j);
    for (; j < count; j++) out[j] = kv_dot_row512(q, rows + j * stride, n, 1) * scale;
}

/// Four queries against 4 converted rows ([4 x n] f32 at `k`): 16 accumulators, each row chunk loaded once
/// for the four queries, reduced 8 at a time.
KV_AVX512 static inline void kv_dot4x4_tiled512(const float *const *q, const float *k, int64_t n, float scale,
                                                float *const *o) {
    __m512 a[16];
    for (int t = 0; t < 16; t++) a[t] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 q0 = _mm512_loadu_ps(q[0] + i), q1 = _mm512_loadu_ps(q[1] + i);
        const __m512 q2 = _mm512_loadu_ps(q[2] + i), q3 = _mm512_loadu_ps(q[3] + i);
        for (int t = 0; t < 4; t++) {
            const __m512 kv = _mm512_loadu_ps(k + t * n + i);
            a[t] = _mm512_fmadd_ps(q0, kv, a[t]);
            a[t + 4] = _mm512_fmadd_ps(q1, kv, a[t + 4]);
            a[t + 8] = _mm512_fmadd_ps(q2, kv, a[t + 8]);
            a[t + 12] = _mm512_fmadd_ps(q3, kv, a[t + 12]);
        }
    }
    for (int h = 0; h < 2; h++) {
        const float *qs[8];
        const void *ks[8];
        float *os[8];
        for (int t = 0; t < 8; t++) {
            const int r = 2 * h + t / 4, c = t % 4;
            qs[t] = q[r];
            ks[t] = k + c * n;
            os[t] = o[r] + c;
        }
        kv_finish8_512(a + 8 * h, qs, ks, i, n, 0, scale, os);
    }
}

/// Rows r[0..<16] of 16 floats transposed in place: r[c] becomes column c (lane k = old r[k][c]).
KV_AVX512 static inline void kv_transpose16(__m512 *r) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);     // per 128-bit block b: r0[4b] r1[4b] r0[4b+1] r1[4b+1]
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]); // r0[4b+2] r1[4b+2] r0[4b+3] r1[4b+3]
    }
    __m512 u[16]; // u[4g + k], block b: column 4b + k of rows 4g..4g+3
    for (int g = 0; g < 4; g++) {
        const __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
        const __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
        u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int k = 0; k < 4; k++) {
        const __m512 v0 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x88), v1 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xdd);
        const __m512 w0 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x88), w1 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xdd);
        r[k] = _mm512_shuffle_f32x4(v0, w0, 0x88);
        r[8 + k] = _mm512_shuffle_f32x4(v0, w0, 0xdd);
        r[4 + k] = _mm512_shuffle_f32x4(v1, w1, 0x88);
        r[12 + k] = _mm512_shuffle_f32x4(v1, w1, 0xdd);
    }
}

/// Up to 16 f16 rows (`count`, `stride` bytes apart; missing ones as zeros) as a transposed f32 tile:
/// kt[d * ld + j] = row j's dim d, for d < n (n a multiple of 16).
KV_AVX512 static void kv_tile_f16_t(float *kt, int64_t ld, const uint8_t *rows, size_t stride, int64_t count, int64_t n) {
    for (int64_t c = 0; c < n; c += 16) {
        __m512 r[16];
        for (int j = 0; j < 16; j++)
            r[j] = j < count ? kv_ld16_row(rows + j * stride, c, 1) : _mm512_setzero_ps();
        kv_transpose16(r);
        for (int l = 0; l < 16; l++) _mm512_storeu_ps(kt + (c + l) * ld, r[l]);
    }
}

/// `g` queries (1-4) against the 16 rows of a transposed tile, one pair per lane (lane j = row j): lane j
/// of chain l is the fma chain over the dims l, l + 16, l + 32, ... in order from zero, the same values and
/// order as lane l of kv_dot_row512's accumulator for that pair; then fold (chain l + chain l + 8) and the
/// tree ((f0 + f1) + (f2 + f3)) + ((f4 + f5) + (f6 + f7)) lane-wise, which is kv_tree_sum(kv_fold(acc)).
/// So every score is bit-identical to the per-query kernel's, with no horizontal sums: a pair's reduction
/// costs 15 lane-wise adds per 16 pairs instead of ~5 shuffles and adds per pair. Stores `mask` lanes.
KV_AVX512 static inline __attribute__((always_inline)) void kv_dots_t16(int g, const float *const *q, const float *kt, int64_t ld,
                                                                        int64_t n, float scale, float *const *o, __mmask16 mask) {
    __m512 tree[4][3]; // per query: ((f0 + f1) + (f2 + f3)), then partial sums of the second half
    for (int p = 0; p < 4; p++) {      // pairs of fold results: (f0, f1), (f2, f3), (f4, f5), (f6, f7)
        __m512 f[2][4];
        for (int h = 0; h < 2; h++) {
            const int l = 2 * p + h;
            __m512 a[4], b[4];
            for (int k = 0; k < g; k++) { a[k] = _mm512_setzero_ps(); b[k] = _mm512_setzero_ps(); }
            for (int64_t c = 0; c < n; c += 16) {
                const __m512 kl = _mm512_loadu_ps(kt + (c + l) * ld), kh = _mm512_loadu_ps(kt + (c + l + 8) * ld);
                for (int k = 0; k < g; k++) {
                    a[k] = _mm512_fmadd_ps(_mm512_set1_ps(q[k][c + l]), kl, a[k]);
                    b[k] = _mm512_fmadd_ps(_mm512_set1_ps(q[k][c + l + 8]), kh, b[k]);
                }
            }
            for (int k = 0; k < g; k++) f[h][k] = _mm512_add_ps(a[k], b[k]);
        }
        for (int k = 0; k < g; k++) {
            const __m512 s = _mm512_add_ps(f[0][k], f[1][k]); // f(2p) + f(2p + 1)
            if (p == 0 || p == 2) tree[k][p / 2] = s;
            else tree[k][p / 2] = _mm512_add_ps(tree[k][p / 2], s);
        }
    }
    for (int k = 0; k < g; k++)
        _mm512_mask_storeu_ps(o[k], mask, _mm512_mul_ps(_mm512_add_ps(tree[k][0], tree[k][1]), _mm512_set1_ps(scale)));
}

/// kv_dots_t16 for two queries against 32 rows (a [n x 32] tile: rows 0-15 in lanes of the first 16 floats
/// of each dim, rows 16-31 in the next 16), each pair's chain and tree exactly as there. Each broadcast
/// query value feeds two fmas (one per half): one broadcast per fma was what held kv_dots_t16 near
/// 170 GFLOP/s. Stores all 16 lanes of the first half and `maskb` of the second.
KV_AVX512 static inline __attribute__((always_inline)) void kv_dots_t32(int g, const float *const *q, const float *kt, int64_t n,
                                                                        float scale, float *const *o, __mmask16 maskb) {
    __m512 tree[2][2][2]; // [query][half][first / second half of the tree]
    for (int p = 0; p < 4; p++) {
        __m512 f[2][2][2]; // [h][query][half]
        for (int h = 0; h < 2; h++) {
            const int l = 2 * p + h;
            __m512 a[2][2], b[2][2];
            for (int k = 0; k < g; k++)
                for (int x = 0; x < 2; x++) { a[k][x] = _mm512_setzero_ps(); b[k][x] = _mm512_setzero_ps(); }
            for (int64_t c = 0; c < n; c += 16) {
                const float *rl = kt + (c + l) * 32, *rh = kt + (c + l + 8) * 32;
                const __m512 kl0 = _mm512_loadu_ps(rl), kl1 = _mm512_loadu_ps(rl + 16);
                const __m512 kh0 = _mm512_loadu_ps(rh), kh1 = _mm512_loadu_ps(rh + 16);
                for (int k = 0; k < g; k++) {
                    const __m512 ql = _mm512_set1_ps(q[k][c + l]), qh = _mm512_set1_ps(q[k][c + l + 8]);
                    a[k][0] = _mm512_fmadd_ps(ql, kl0, a[k][0]);
                    a[k][1] = _mm512_fmadd_ps(ql, kl1, a[k][1]);
                    b[k][0] = _mm512_fmadd_ps(qh, kh0, b[k][0]);
                    b[k][1] = _mm512_fmadd_ps(qh, kh1, b[k][1]);
                }
            }
            for (int k = 0; k < g; k++)
                for (int x = 0; x < 2; x++) f[h][k][x] = _mm512_add_ps(a[k][x], b[k][x]);
        }
        for (int k = 0; k < g; k++)
            for (int x = 0; x < 2; x++) {
                const __m512 s = _mm512_add_ps(f[0][k][x], f[1][k][x]); // f(2p) + f(2p + 1)
                if (p == 0 || p == 2) tree[k][x][p / 2] = s;
                else tree[k][x][p / 2] = _mm512_add_ps(tree[k][x][p / 2], s);
            }
    }
    const __m512 vs = _mm512_set1_ps(scale);
    for (int k = 0; k < g; k++) {
        _mm512_storeu_ps(o[k], _mm512_mul_ps(_mm512_add_ps(tree[k][0][0], tree[k][0][1]), vs));
        _mm512_mask_storeu_ps(o[k] + 16, maskb, _mm512_mul_ps(_mm512_add_ps(tree[k][1][0], tree[k][1][1]), vs));
    }
}

/// dots_block_f16_avx512 for head sizes that are multiples of 16 (up to 64 used): rows 32 at a time in a
/// transposed tile, each pair in its own lane (kv_dots_t32, kv_dots_t16 for a last tile of at most 16
/// rows); the scores go to memory as whole vectors.
KV_AVX512 static void dots_block_f16_t_avx512(int64_t m, const float *const *q, const uint8_t *rows, size_t stride,
                                              int64_t count, int64_t n, float scale, float *const *out, int64_t off) {
    float kt[2 * KV_TILE_FLOATS]; // [n x 32]
    for (int64_t j0 = 0; j0 < count; j0 += 32) {
        const int64_t jn = count - j0 < 32 ? count - j0 : 32;
        kv_tile_f16_t(kt, 32, rows + j0 * stride, stride, jn < 16 ? jn : 16, n);
        float *o[4];
        int64_t r = 0;
        if (jn > 16) {
            kv_tile_f16_t(kt + 16, 32, rows + (j0 + 16) * stride, stride, jn - 16, n);
            const __mmask16 maskb = (__mmask16)((1u << (jn - 16)) - 1);
            for (; r + 2 <= m; r += 2) {
                for (int k = 0; k < 2; k++) o[k] = out[r + k] + off + j0;
                // A constant head size unrolls the dims loop (4 chunks for smollm2's and qwen's 64).
                if (n == 64) kv_dots_t32(2, q + r, kt, 64, scale, o, maskb);
                else kv_dots_t32(2, q + r, kt, n, scale, o, maskb);
            }
            if (r < m) {
                o[0] = out[r] + off + j0;
                kv_dots_t32(1, q + r, kt, n, scale, o, maskb);
            }
            continue;
        }
        const __mmask16 mask = (__mmask16)((1u << jn) - 1);
        for (; r + 4 <= m; r += 4) {
            for (int k = 0; k < 4; k++) o[k] = out[r + k] + off + j0;
            kv_dots_t16(4, q + r, kt, 32, n, scale, o, mask);
        }
        for (int k = 0; k < m - r; k++) o[k] = out[r + k] + off + j0;
        switch (m - r) {
        case 3: kv_dots_t16(3, q + r, kt, 32, n, scale, o, mask); break;
        case 2: kv_dots_t16(2, q + r, kt, 32, n, scale, o, mask); break;
        case 1: kv_dots_t16(1, q + r, kt, 32, n, scale, o, mask); break;
        default: break;
        }
    }
}

KV_AVX512 static void dots_block_f16_avx512(int64_t m, const float *const *q, const uint8_t *rows, size_t stride,
                                            int64_t count, int64_t n, float scale, float *const *out, int64_t off) {
    // Up to 64 dims: at 256 (gemma3) the transposes cost more than the horizontal sums they save
    // (one thread, 16 queries x 4352 keys: 150 against 170 GFLOP/s); at 64, 142-158 against 122-134.
    if (n % 16 == 0 && n <= 64) {
        dots_block_f16_t_avx512(m, q, rows, stride, count, n, scale, out, off);
        return;
    }
    const int64_t tr = kv_tile_rows(n);
    const size_t tstride = (size_t)n * sizeof(float);
    float tile[KV_TILE_FLOATS]; // [tr x n]
    for (int64_t j0 = 0; j0 < count; j0 += tr) {
        const int64_t jn = count - j0 < tr ? count - j0 : tr;
        kv_tile_f16(tile, rows + j0 * stride, stride, jn, n);
        const uint8_t *t8 = (const uint8_t *)tile;
        int64_t r = 0;
        for (; r + 4 <= m; r += 4) {
            int64_t j = 0;
            for (; j + 4 <= jn; j += 4) {
                float *o[4];
                for (int k = 0; k < 4; k++) o[k] = out[r + k] + off + j0 + j;
                kv_dot4x4_tiled512(q + r, tile + j * n, n, scale, o);
            }
            for (; j < jn; j++)
                for (int k = 0; k < 4; k++) out[r + k][off + j0 + j] = kv_dot_row512(q[r + k], t8 + j * tstride, n, 0) * scale;
        }
        for (; r < m; r++) {
            float *o = out[r] + off + j0;
            int64_t j = 0;
            for (; j + 8 <= jn; j += 8) kv_dot8_rows512(q[r], t8 + j * tstride, tstride, n, 0, scale, o + j);
            for (; j < jn; j++) o[j] = kv_dot_row512(q[r], t8 + j * tstride, n, 0) * scale;
        }
    }
}


/// Outputs os[0..<g] (g = 1, 2 or 4) += their weights (ps[k] + off) times `count` rows `stride` bytes apart (f16
/// cache rows when `half`, else f32 tile rows), over the 64-wide dims: each V vector is loaded once for all g
/// outputs; per lane the fma chain over the rows in order, as kv_accumulate_rows. Returns the dims done.
KV_AVX512 static inline __attribute__((always_inline)) int64_t kv_accumulate_group512(int g, float *const *os, const float *const *ps,
                                                                                      int64_t off, const uint8_t *rows, size_t stride,
                                                                                      int64_t count, int64_t n, int half) {
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 a[16];
        for (int k = 0; k < g; k++)
            for (int c = 0; c < 4; c++) a[4 * k + c] = _mm512_loadu_ps(os[k] + i + 16 * c);
        for (int64_t j = 0; j < count; j++) {
            const uint8_t *v = rows + j * stride;
            const __m512 v0 = kv_ld16_row(v, i, half), v1 = kv_ld16_row(v, i + 16, half);
            const __m512 v2 = kv_ld16_row(v, i + 32, half), v3 = kv_ld16_row(v, i + 48, half);
            for (int k = 0; k < g; k++) {
                const __m512 w = _mm512_set1_ps(ps[k][off + j]);
                a[4 * k] = _mm512_fmadd_ps(w, v0, a[4 * k]);
                a[4 * k + 1] = _mm512_fmadd_ps(w, v1, a[4 * k + 1]);
                a[4 * k + 2] = _mm512_fmadd_ps(w, v2, a[4 * k + 2]);
                a[4 * k + 3] = _mm512_fmadd_ps(w, v3, a[4 * k + 3]);
            }
        }
        for (int k = 0; k < g; k++)
            for (int c = 0; c < 4; c++) _mm512_storeu_ps(os[k] + i + 16 * c, a[4 * k + c]);
    }
    return i;
}

KV_AVX512 static void accumulate_f16_avx512(float *o, const float *p, const uint8_t *rows, size_t stride, int64_t count,
                                            int64_t n) {
    const int64_t i = kv_accumulate_group512(1, &o, &p, 0, rows, stride, count, n, 1);
    if (i < n) kv_accumulate_rows(o, p, rows, stride, count, i, n, 1);
}

KV_AVX512 static void accumulate_block_f16_avx512(int64_t m, float *const *os, const float *const *ps, int64_t off,
                                                  const uint8_t *rows, size_t stride, int64_t count, int64_t n) {
    const int64_t tr = kv_tile_rows(n);
    float tile[KV_TILE_FLOATS]; // [tr x n]
    for (int64_t j0 = 0; j0 < count; j0 += tr) {
        const int64_t jn = count - j0 < tr ? count - j0 : tr;
        kv_tile_f16(tile, rows + j0 * stride, stride, jn, n);
        int64_t n64 = 0; // dims the groups below have done
        int64_t r = 0;
        // Four outputs at once over the 64-wide dims (each V vector loaded once for all four: 8 loads per
        // 16 fmas, where one output at a time needed 5 per 4), then two; the rest below.
        const uint8_t *t8 = (const uint8_t *)tile;
        const size_t tstride = (size_t)n * sizeof(float);
        for (; r + 4 <= m && n >= 64; r += 4) n64 = kv_accumulate_group512(4, os + r, ps + r, off + j0, t8, tstride, jn, n, 0);
        for (; r + 2 <= m && n >= 64; r += 2) n64 = kv_accumulate_group512(2, os + r, ps + r, off + j0, t8, tstride, jn, n, 0);
        const int64_t grouped = r;
        for (r = 0; r < m; r++) {
            float *o = os[r];
            const float *p = ps[r] + off + j0;
            // The last odd output alone over the 64-wide dims, then every output's remaining dims.
            const int64_t done = r < grouped ? n64 : kv_accumulate_group512(1, os + r, ps + r, off + j0, t8, tstride, jn, n, 0);
            if (done < n) kv_accumulate_rows(o, p, t8, tstride, jn, done, n, 0);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// bf16 weighted sums over f16 rows (AVX512_BF16, when sl_attention_bf16()): VDPBF16PS does 32 products
// per instruction where an f32 fma does 16, at about the same rate (this Zen 5: 491 against 266 GFLOP/s).
// Each weight p[j] and each value v_j[i] is rounded to bf16 (nearest even; f16 -> f32 is exact first) and
// the products are summed in f32. On this CPU one VDPBF16PS lane is two sequential fmas with exact bf16
// products, the high half of the dword (the "odd" slot) first, rounding to nearest even, with denormal
// inputs (accumulator included) read as zero and denormal results flushed to zero (tininess after
// rounding, sign kept). So with key j in the high half and key j + 1 in the low half, output lane i is one
// fma chain over the keys in position order, acc = fma(bf16(p[j]), bf16(v_j[i]), acc): which keys share a
// pair, where a tile or a call starts and how many outputs are grouped never change a bit, so the blocked
// and per-output calls, and a range split into several calls (attend's prefix / shared run / suffix, ring
// wrap-around) all agree. A lone last key pairs with weight -0 and value +0: the product -0 adds nothing
// to any accumulator (x + -0 = x for x = +0 too, where +0 would turn -0 into +0). Every path, dims tails
// included, goes through VDPBF16PS, never a plain fma, so the flushing is the same everywhere.
// KVRowsReference.accumulateBF16 (Sources/Kernels/KVRows.swift) is the scalar definition.
// ---------------------------------------------------------------------------------------------
#define KV_BF16 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512bf16")))

/// Dwords of a converted V tile (16 KB: it stays in L1 with the weights while every output group reads it).
#define KV_BF16_TILE 4096
/// Pairs of keys per tile at most (128 keys: at head size 64 the whole tile).
#define KV_BF16_PAIRS 64
/// Outputs summed at once: 4 x 4 vectors of 16 dims = 16 accumulators per 64 dims.
#define KV_BF16_GROUP 4

/// 16 dims of two keys as bf16 pairs: dword i = bf16(first[i]) << 16 | bf16(second[i]).
KV_BF16 static inline __m512i kv_bf16_pair(__m512 first, __m512 second) {
    // vcvtne2ps2bf16 puts second's 16 values in elements 0-15 and first's in 16-31; vpermw interleaves them.
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                         23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(first, second));
}

/// Mask of the first `left` of 16 lanes (all for left >= 16, none for left <= 0).
static inline __mmask16 kv_mask16(int64_t left) {
    return left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1);
}

/// Dims [d0, d0 + w) of `count` f16 rows as a tile of bf16 pairs: tile[k * ld + i] pairs rows 2k and 2k + 1
/// (kv_bf16_pair) at dim d0 + i, for k < ceil(count / 2) and i < ld (w rounded up to 16). The missing row of
/// an odd count and the dims past w are +0.
KV_BF16 static void kv_tile_bf16(uint32_t *tile, int64_t ld, const uint8_t *rows, size_t stride, int64_t count,
                                 int64_t d0, int64_t w) {
    for (int64_t j = 0; j < count; j += 2) {
        const uint16_t *a = (const uint16_t *)(rows + j * stride) + d0;
        const uint16_t *b = (const uint16_t *)(rows + (j + 1) * stride) + d0;
        uint32_t *t = tile + (j / 2) * ld;
        int64_t i = 0;
        if (j + 1 < count) {
            for (; i + 16 <= w; i += 16)
                _mm512_storeu_si512(t + i, kv_bf16_pair(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(a + i))),
                                                        _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(b + i)))));
            if (i < w) {
                const __mmask16 k = kv_mask16(w - i);
                _mm512_storeu_si512(t + i, kv_bf16_pair(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, a + i)),
                                                        _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, b + i))));
            }
        } else {
            for (; i < w; i += 16)
                _mm512_storeu_si512(t + i, kv_bf16_pair(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(kv_mask16(w - i), a + i)),
                                                        _mm512_setzero_ps()));
        }
    }
}

/// `count` weights as bf16 pairs in the same order: pb[k] = bf16(p[2k]) << 16 | bf16(p[2k + 1]), the missing
/// weight of an odd count -0. Writes whole vectors: ceil(count / 32) * 16 dwords.
KV_BF16 static void kv_weights_bf16(uint32_t *pb, const float *p, int64_t count) {
    const __m512 nz = _mm512_set1_ps(-0.0f);
    for (int64_t j = 0; j < count; j += 32) {
        const __m512 x0 = _mm512_mask_loadu_ps(nz, kv_mask16(count - j), p + j);
        const __m512 x1 = count - j > 16 ? _mm512_mask_loadu_ps(nz, kv_mask16(count - j - 16), p + j + 16) : nz;
        // Element e of the conversion is bf16(p[j + e]); rotating each dword by 16 puts the earlier key high.
        _mm512_storeu_si512(pb + j / 2, _mm512_rol_epi32((__m512i)_mm512_cvtne2ps_pbh(x1, x0), 16));
    }
}

/// Outputs os[0..<g] at dims [d, d + 16c) (the last vector masked by `last`) += the `pairs` key pairs of
/// the tile (`t`: the tile at dim d, `ld` dwords per pair) weighted by pb[k * pld ...] for output k:
/// g x c accumulators, each V vector loaded once for all g outputs, each weight pair broadcast once.
KV_BF16 static inline __attribute__((always_inline)) void kv_bf16_group(int g, int c, float *const *os, int64_t d,
                                                                        __mmask16 last, const uint32_t *pb, int64_t pld,
                                                                        const uint32_t *t, int64_t ld, int64_t pairs) {
    __m512 a[KV_BF16_GROUP * 4];
    for (int k = 0; k < g; k++)
        for (int x = 0; x < c; x++) a[k * c + x] = _mm512_maskz_loadu_ps(x == c - 1 ? last : 0xFFFF, os[k] + d + 16 * x);
    for (int64_t j = 0; j < pairs; j++) {
        __m512i v[4];
        for (int x = 0; x < c; x++) v[x] = _mm512_loadu_si512(t + j * ld + 16 * x);
        for (int k = 0; k < g; k++) {
            const __m512i w = _mm512_set1_epi32((int)pb[k * pld + j]);
            for (int x = 0; x < c; x++) a[k * c + x] = _mm512_dpbf16_ps(a[k * c + x], (__m512bh)w, (__m512bh)v[x]);
        }
    }
    for (int k = 0; k < g; k++)
        for (int x = 0; x < c; x++) _mm512_mask_storeu_ps(os[k] + d + 16 * x, x == c - 1 ? last : 0xFFFF, a[k * c + x]);
}

/// kv_bf16_group with constant g and c (the arrays stay in registers).
KV_BF16 static void kv_bf16_group_any(int g, int c, float *const *os, int64_t d, __mmask16 last, const uint32_t *pb,
                                      int64_t pld, const uint32_t *t, int64_t ld, int64_t pairs) {
#define KV_BF16_CASE(G, C) case 8 * G + C: kv_bf16_group(G, C, os, d, last, pb, pld, t, ld, pairs); break;
    switch (8 * g + c) {
    KV_BF16_CASE(4, 4) KV_BF16_CASE(4, 3) KV_BF16_CASE(4, 2) KV_BF16_CASE(4, 1)
    KV_BF16_CASE(3, 4) KV_BF16_CASE(3, 3) KV_BF16_CASE(3, 2) KV_BF16_CASE(3, 1)
    KV_BF16_CASE(2, 4) KV_BF16_CASE(2, 3) KV_BF16_CASE(2, 2) KV_BF16_CASE(2, 1)
    KV_BF16_CASE(1, 4) KV_BF16_CASE(1, 3) KV_BF16_CASE(1, 2) KV_BF16_CASE(1, 1)
    default: break;
    }
#undef KV_BF16_CASE
}

/// sl_kv_accumulate_block (and, with m = 1, sl_kv_accumulate) for f16 rows in bf16: dims in slabs of up to
/// 512, keys in tiles of up to 128 converted once per slab, outputs KV_BF16_GROUP at a time over each tile.
/// One core, 24 outputs x 4096 keys at head size 64: ~355 GFLOP/s against ~195 for accumulate_block_f16_avx512;
/// the dot products alone run at ~450, the rest is converting the tiles (f16 -> f32 -> bf16 pairs). Converting
/// the next tile between the current one's VDPBF16PS, or 6 outputs at a time, measured no faster.
KV_BF16 static void accumulate_block_f16_bf16(int64_t m, float *const *os, const float *const *ps, int64_t off,
                                              const uint8_t *rows, size_t stride, int64_t count, int64_t n) {
    uint32_t tile[KV_BF16_TILE];
    uint32_t pb[KV_BF16_GROUP * KV_BF16_PAIRS];
    const int64_t slab = n < 512 ? n : 512, ld = (slab + 15) & ~(int64_t)15;
    const int64_t tp = KV_BF16_TILE / ld < KV_BF16_PAIRS ? KV_BF16_TILE / ld : KV_BF16_PAIRS; // pairs per tile
    for (int64_t d0 = 0; d0 < n; d0 += slab) {
        const int64_t w = n - d0 < slab ? n - d0 : slab;
        for (int64_t j0 = 0; j0 < count; j0 += 2 * tp) {
            const int64_t jn = count - j0 < 2 * tp ? count - j0 : 2 * tp, pairs = (jn + 1) / 2;
            kv_tile_bf16(tile, ld, rows + j0 * stride, stride, jn, d0, w);
            for (int64_t r = 0; r < m; r += KV_BF16_GROUP) {
                const int g = m - r < KV_BF16_GROUP ? (int)(m - r) : KV_BF16_GROUP;
                for (int k = 0; k < g; k++) kv_weights_bf16(pb + k * KV_BF16_PAIRS, ps[r + k] + off + j0, jn);
                for (int64_t d = 0; d < w; d += 64) {
                    const int64_t left = w - d;
                    const int c = left >= 64 ? 4 : (int)((left + 15) / 16);
                    kv_bf16_group_any(g, c, os + r, d0 + d, kv_mask16(left - 16 * (c - 1)), pb, KV_BF16_PAIRS, tile + d, ld, pairs);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// bf16 bodies of the f16 scores (sl_attention_bf16(): AVX512_BF16's VDPBF16PS, twice the products per cycle
// of f32 fmas). Each operand is rounded to bf16 (q from f32, k from f16 through the exact f16 -> f32, both
// round-to-nearest-even, denormals to zero as VCVTNE(2)PS2BF16 do) and the products summed in f32. One
// summation order for every body, so blocked and per-query scores are bit-identical on this path too
// (KVRowsReference.bf16Dots spells it out):
//   - dims in pairs p = (2p, 2p + 1), the last one padded with zero when n is odd (zero pairs leave a chain
//     unchanged: a chain starts at +0 and never becomes -0, so adding +-0 is exact);
//   - 8 chains: chain l is acc = fl(acc + q[2p+1] k[2p+1]), then fl(acc + q[2p] k[2p]) (VDPBF16PS's order:
//     the odd, high half of the dword first; bf16 products are exact in f32) for p = l, l + 8, l + 16, ...;
//   - then the tree ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) (kv_tree_sum's), times scale.
// 8 chains rather than 16: per 16 keys the transposed tiles below reduce with 7 adds per query, not 15.
// ---------------------------------------------------------------------------------------------

/// 16 f16 values (lanes past `m` zero) as 8 bf16 pairs: dword l = (dim 2l low, dim 2l + 1 high).
KV_BF16 static inline __m256bh kv_bf16_h16(const uint16_t *k, __mmask16 m) {
    return _mm512_cvtneps_pbh(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, k)));
}

/// One query against `cnt` (<= 8) f16 rows `stride` bytes apart: one 8-lane accumulator per row over the
/// 16-dim chunks (lane l = chain l: the chunk's pair l is pair 8c + l), reduced together by kv_reduce8.
/// The query's chunk is converted once for the 8 rows.
KV_BF16 static inline __attribute__((always_inline)) void kv_bdot8_rows(int cnt, const float *q, const uint8_t *rows, size_t stride,
                                                                        int64_t n, float scale, float *out) {
    __m256 a[8];
    for (int t = 0; t < 8; t++) a[t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = kv_mask16(n - i);
        const __m256bh qv = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, q + i));
        for (int t = 0; t < cnt; t++) a[t] = _mm256_dpbf16_ps(a[t], kv_bf16_h16((const uint16_t *)(rows + t * stride) + i, m), qv);
    }
    const __m256 s = _mm256_mul_ps(kv_reduce8(a), _mm256_set1_ps(scale));
    _mm256_mask_storeu_ps(out, (__mmask8)((1u << cnt) - 1), s);
}

KV_BF16 static void dots_f16_bf16(const float *q, const uint8_t *rows, size_t stride, int64_t count, int64_t n, float scale,
                                  float *out) {
    int64_t j = 0;
    // A constant head size unrolls the chunk loop (smollm2's and qwen's 64, gemma3's 256).
    for (; j + 8 <= count; j += 8) {
        if (n == 64) kv_bdot8_rows(8, q, rows + j * stride, stride, 64, scale, out + j);
        else if (n == 256) kv_bdot8_rows(8, q, rows + j * stride, stride, 256, scale, out + j);
        else kv_bdot8_rows(8, q, rows + j * stride, stride, n, scale, out + j);
    }
    switch (count - j) {
    case 7: kv_bdot8_rows(7, q, rows + j * stride, stride, n, scale, out + j); break;
    case 6: kv_bdot8_rows(6, q, rows + j * stride, stride, n, scale, out + j); break;
    case 5: kv_bdot8_rows(5, q, rows + j * stride, stride, n, scale, out + j); break;
    case 4: kv_bdot8_rows(4, q, rows + j * stride, stride, n, scale, out + j); break;
    case 3: kv_bdot8_rows(3, q, rows + j * stride, stride, n, scale, out + j); break;
    case 2: kv_bdot8_rows(2, q, rows + j * stride, stride, n, scale, out + j); break;
    case 1: kv_bdot8_rows(1, q, rows + j * stride, stride, n, scale, out + j); break;
    default: break;
    }
}

/// Bf16 pairs per transposed tile row set: n dims padded to whole 32-dim chunks (16 pairs).
static inline int64_t kv_bpairs(int64_t n) { return (n + 31) / 32 * 16; }

/// A query as bf16 pairs, kv_bpairs(n) of them (zero past n): converted once per call, not per tile.
KV_BF16 static void kv_query_bf16(uint32_t *qp, const float *q, int64_t n) {
    for (int64_t c = 0; c < n; c += 32) {
        const __m512 lo = _mm512_maskz_loadu_ps(kv_mask16(n - c), q + c), hi = _mm512_maskz_loadu_ps(kv_mask16(n - c - 16), q + c + 16);
        _mm512_storeu_si512(qp + c / 2, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
}

/// Up to 16 f16 rows (`count`, `stride` bytes apart; missing rows and dims past n as zeros) as a transposed
/// bf16 tile: dword kt[p * ld + j] = row j's pair p, p < kv_bpairs(n). Each 32-dim chunk of 16 rows is
/// converted (f16 -> f32 -> bf16, as kv_bf16_h16) and its 16 x 16 dwords transposed as floats (bit moves).
KV_BF16 static void kv_tile_bf16_t(uint32_t *kt, int64_t ld, const uint8_t *rows, size_t stride, int64_t count, int64_t n) {
    for (int64_t c = 0; c < n; c += 32) {
        const __mmask16 m0 = kv_mask16(n - c), m1 = kv_mask16(n - c - 16);
        __m512 r[16];
        for (int j = 0; j < 16; j++) {
            if (j < count) {
                const uint16_t *k = (const uint16_t *)(rows + j * stride) + c;
                const __m512 lo = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m0, k));
                const __m512 hi = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m1, k + 16));
                r[j] = (__m512)_mm512_cvtne2ps_pbh(hi, lo);
            } else {
                r[j] = _mm512_setzero_ps();
            }
        }
        kv_transpose16(r);
        for (int l = 0; l < 16; l++) _mm512_storeu_ps((float *)kt + (c / 2 + l) * ld, r[l]);
    }
}

/// `g` queries (bf16 pairs, `np` of them, a multiple of 8) against `h` x 16 keys of a transposed tile (ld 32:
/// keys 0-15 in the first 16 dwords of each pair, 16-31 in the next), one (query, key) pair per lane: lane j
/// of chain l runs over the pairs l, l + 8, ... exactly as lane l of kv_bdot8_rows' accumulator, then the same
/// tree lane-wise, so no horizontal sums. Two chains at a time, both halves: 2gh independent accumulators,
/// each broadcast query pair feeding h VDPBF16PS. Stores 16 lanes of every half but the last, `mlast` of it.
KV_BF16 static inline __attribute__((always_inline)) void kv_bdots_t(int g, int h, const uint32_t *const *qp, const uint32_t *kt,
                                                                     int64_t np, float scale, float *const *o, __mmask16 mlast) {
    __m512 tree[4][2][2]; // [query][half][(c0 + c1) + (c2 + c3), (c4 + c5) + (c6 + c7)]
    for (int p = 0; p < 4; p++) { // chains 2p and 2p + 1
        __m512 a[2][4][2];        // [chain][query][half]
        for (int e = 0; e < 2; e++)
            for (int k = 0; k < g; k++)
                for (int x = 0; x < h; x++) a[e][k][x] = _mm512_setzero_ps();
        for (int64_t c = 0; c < np; c += 8) {
            for (int e = 0; e < 2; e++) {
                const int64_t pr = c + 2 * p + e;
                __m512bh kv[2];
                for (int x = 0; x < h; x++) kv[x] = (__m512bh)_mm512_loadu_si512(kt + pr * 32 + 16 * x);
                for (int k = 0; k < g; k++) {
                    const __m512bh qb = (__m512bh)_mm512_set1_epi32((int)qp[k][pr]);
                    for (int x = 0; x < h; x++) a[e][k][x] = _mm512_dpbf16_ps(a[e][k][x], kv[x], qb);
                }
            }
        }
        for (int k = 0; k < g; k++)
            for (int x = 0; x < h; x++) {
                const __m512 s = _mm512_add_ps(a[0][k][x], a[1][k][x]);
                if (p == 0 || p == 2) tree[k][x][p / 2] = s;
                else tree[k][x][p / 2] = _mm512_add_ps(tree[k][x][p / 2], s);
            }
    }
    const __m512 vs = _mm512_set1_ps(scale);
    for (int k = 0; k < g; k++)
        for (int x = 0; x < h; x++) {
            const __m512 s = _mm512_mul_ps(_mm512_add_ps(tree[k][x][0], tree[k][x][1]), vs);
            if (x + 1 < h) _mm512_storeu_ps(o[k] + 16 * x, s);
            else _mm512_mask_storeu_ps(o[k] + 16 * x, mlast, s);
        }
}

/// Queries r0..<r1 (pairs at qb, `np` apiece) against a tile of h x 16 keys, up to 4 at a time.
KV_BF16 static inline __attribute__((always_inline)) void kv_bdots_tile(int h, int64_t r0, int64_t r1, const uint32_t *qb, int64_t np,
                                                                        const uint32_t *kt, float scale, float *const *out,
                                                                        int64_t col, __mmask16 mlast) {
    const uint32_t *qs[4];
    float *o[4];
    int64_t r = r0;
    // Four queries at a time (each key vector loaded once for four, each broadcast pair used twice with
    // two halves); the compiler spills a few of the 32 accumulators and tree sums, which costs less than the
    // loads it saves: 24 queries x 4096 keys at head size 64, one thread, ~330 GFLOP/s against ~285 for
    // pairs and ~310 for threes (ASLR off, alternating runs).
    for (; r + 4 <= r1; r += 4) {
        for (int k = 0; k < 4; k++) { qs[k] = qb + (r - r0 + k) * np; o[k] = out[r + k] + col; }
        kv_bdots_t(4, h, qs, kt, np, scale, o, mlast);
    }
    for (; r + 3 <= r1; r += 3) {
        for (int k = 0; k < 3; k++) { qs[k] = qb + (r - r0 + k) * np; o[k] = out[r + k] + col; }
        kv_bdots_t(3, h, qs, kt, np, scale, o, mlast);
    }
    for (; r + 2 <= r1; r += 2) {
        for (int k = 0; k < 2; k++) { qs[k] = qb + (r - r0 + k) * np; o[k] = out[r + k] + col; }
        kv_bdots_t(2, h, qs, kt, np, scale, o, mlast);
    }
    if (r < r1) {
        qs[0] = qb + (r - r0) * np;
        o[0] = out[r] + col;
        kv_bdots_t(1, h, qs, kt, np, scale, o, mlast);
    }
}

/// kv_bdots_tile with constant shapes, each its own function: the compiler keeps the two chains of
/// kv_bdots_t interleaved and, at head size 64 (32 pairs), unrolls them (merged into one body with a variable
/// pair count, the chains were split into separate loops of 2 accumulators each).
#define KV_BDOTS_TILE(name, H, NP)                                                                              \
    KV_BF16 static __attribute__((noinline)) void name(int64_t r0, int64_t r1, const uint32_t *qb, int64_t np,       \
                                                       const uint32_t *kt, float scale, float *const *out,          \
                                                       int64_t col, __mmask16 mlast) {                               \
        (void)np;                                                                                                   \
        kv_bdots_tile(H, r0, r1, qb, NP, kt, scale, out, col, mlast);                                              \
    }
KV_BDOTS_TILE(kv_bdots_tile2_64, 2, 32)
KV_BDOTS_TILE(kv_bdots_tile1_64, 1, 32)
KV_BDOTS_TILE(kv_bdots_tile2_n, 2, np)
KV_BDOTS_TILE(kv_bdots_tile1_n, 1, np)

/// Queries converted per pass: 32 KB of pairs (256 queries at head size 64, 64 at 256).
#define KV_BQ_PAIRS 8192

KV_BF16 static void dots_block_f16_bf16(int64_t m, const float *const *q, const uint8_t *rows, size_t stride, int64_t count,
                                        int64_t n, float scale, float *const *out, int64_t off) {
    const int64_t np = kv_bpairs(n);
    if (np * 32 > KV_TILE_FLOATS * 2 || m < 2) { // a tile past 32 KB, or one query: the per-query body, row by row
        for (int64_t r = 0; r < m; r++) dots_f16_bf16(q[r], rows, stride, count, n, scale, out[r] + off);
        return;
    }
    // Whole cache lines: an unaligned tile made every key load a split load, which held the blocked bf16
    // body at ~210 GFLOP/s against ~285 (one thread, 24 queries x 4096 keys), depending on the stack's address.
    uint32_t kt[2 * KV_TILE_FLOATS] __attribute__((aligned(64))); // [np x 32]
    uint32_t qb[KV_BQ_PAIRS] __attribute__((aligned(64)));
    const int64_t per = KV_BQ_PAIRS / np;
    for (int64_t r0 = 0; r0 < m; r0 += per) {
        const int64_t r1 = m - r0 < per ? m : r0 + per;
        for (int64_t r = r0; r < r1; r++) kv_query_bf16(qb + (r - r0) * np, q[r], n);
        for (int64_t j0 = 0; j0 < count; j0 += 32) {
            const int64_t jn = count - j0 < 32 ? count - j0 : 32;
            // The next tile's rows on their way while this one's scores run: the cache rows come from L3
            // (a KV head's K and V at depth 4096 outgrow L2), and converting stalled on them.
            for (int64_t j = j0 + 32; j < j0 + 64 && j < count; j++)
                for (int64_t b = 0; b < n * 2; b += 64) _mm_prefetch((const char *)(rows + j * stride) + b, _MM_HINT_T0);
            kv_tile_bf16_t(kt, 32, rows + j0 * stride, stride, jn < 16 ? jn : 16, n);
            if (jn > 16) {
                kv_tile_bf16_t(kt + 16, 32, rows + (j0 + 16) * stride, stride, jn - 16, n);
                (np == 32 ? kv_bdots_tile2_64 : kv_bdots_tile2_n)(r0, r1, qb, np, kt, scale, out, off + j0, kv_mask16(jn - 16));
            } else {
                (np == 32 ? kv_bdots_tile1_64 : kv_bdots_tile1_n)(r0, r1, qb, np, kt, scale, out, off + j0, kv_mask16(jn));
            }
        }
    }
}

/// AVX-512 at the AVX-512 VNNI level (SWIFTLM_ISA=avx2 keeps the AVX2 bodies).
/// (sl_best_isa() caches the probe; a static cache here was a data race between pool threads.)
static int kv_wide(void) { return sl_best_isa() >= SL_ISA_AVX512VNNI; }

static int kv_fast(void) { return sl_best_isa() >= SL_ISA_AVX2; } // honours SWIFTLM_ISA=scalar

/// The f16 scores on bf16 pairs (AVX512_BF16; SWIFTLM_ISA=avx512vnni keeps the f32 AVX-512 bodies).
static int kv_bf16(void) { return sl_attention_bf16(); }
#else
static int kv_fast(void) { return 0; }
static int kv_wide(void) { return 0; }
static int kv_bf16(void) { return 0; }
#endif

// ---------------------------------------------------------------------------------------------
// Entry points.
// ---------------------------------------------------------------------------------------------

size_t sl_kv_row_size(int type, int64_t n) {
    switch (type) {
    case SL_F32: return (size_t)n * 4;
    case SL_F16: return (size_t)n * 2;
    case SL_Q8_0: return n % SL_QK == 0 ? (size_t)(n / SL_QK) * sizeof(sl_block_q8_0) : 0;
    default: return 0;
    }
}

void sl_kv_store(int type, const float *x, void *dst, int64_t n) {
    if (type == SL_F32) { memcpy(dst, x, (size_t)n * 4); return; }
#if defined(__x86_64__)
    if (kv_fast()) { store_avx2(type, x, dst, n); return; }
#endif
    if (type == SL_F16) {
        for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = kv_f2h(x[i]);
    } else {
        store_q8_0_portable(x, dst, n);
    }
}

void sl_kv_dots(int type, const float *q, const void *rows, size_t stride, int64_t count, int64_t n,
                float scale, float *out) {
#if defined(__x86_64__)
    if (kv_bf16() && type == SL_F16) { dots_f16_bf16(q, rows, stride, count, n, scale, out); return; }
    if (kv_wide() && type == SL_F16) { dots_f16_avx512(q, rows, stride, count, n, scale, out); return; }
    if (kv_fast() && type == SL_F16) { dots_f16_avx2(q, rows, stride, count, n, scale, out); return; }
    if (kv_fast() && type == SL_Q8_0) { dots_q8_0_avx2(q, rows, stride, count, n, scale, out); return; }
#endif
    if (type == SL_F32) {
        for (int64_t j = 0; j < count; j++) out[j] = sl_ops_dot(q, (const float *)((const uint8_t *)rows + j * stride), n) * scale;
        return;
    }
    dots_portable(type, q, rows, stride, count, n, scale, out);
}

void sl_kv_accumulate(int type, float *o, const float *p, const void *rows, size_t stride, int64_t count,
                      int64_t n) {
#if defined(__x86_64__)
    if (kv_bf16() && type == SL_F16) { accumulate_block_f16_bf16(1, &o, &p, 0, rows, stride, count, n); return; }
    if (kv_wide() && type == SL_F16) { accumulate_f16_avx512(o, p, rows, stride, count, n); return; }
    if (kv_fast() && type == SL_F16) { accumulate_f16_avx2(o, p, rows, stride, count, n); return; }
    if (kv_fast() && type == SL_Q8_0) { accumulate_q8_0_avx2(o, p, rows, stride, count, n); return; }
#endif
    if (type == SL_F32) {
        for (int64_t j = 0; j < count; j++) sl_ops_axpy(o, p[j], (const float *)((const uint8_t *)rows + j * stride), n);
        return;
    }
    accumulate_portable(type, o, p, rows, stride, count, n);
}

// The portable and f32 blocked paths run the per-pair bodies tile by tile (each query over the same
// few rows while they are in cache): identical by construction, only the order of independent calls changes.
void sl_kv_dots_block(int type, int64_t m, const float *const *q, const void *rows, size_t stride, int64_t count,
                      int64_t n, float scale, float *const *out, int64_t off) {
    if (m <= 0 || count <= 0) return;
    const uint8_t *r8 = rows;
#if defined(__x86_64__)
    if (kv_bf16() && type == SL_F16) { dots_block_f16_bf16(m, q, r8, stride, count, n, scale, out, off); return; }
    if (kv_wide() && n <= KV_TILE_FLOATS && type == SL_F16) { dots_block_f16_avx512(m, q, r8, stride, count, n, scale, out, off); return; }
    if (kv_fast() && n <= KV_TILE_FLOATS && type == SL_F16) { dots_block_f16_avx2(m, q, r8, stride, count, n, scale, out, off); return; }
    if (kv_fast() && n <= KV_TILE_FLOATS && type == SL_Q8_0) { dots_block_q8_0_avx2(m, q, r8, stride, count, n, scale, out, off); return; }
#endif
    const int64_t tr = kv_tile_rows(n);
    for (int64_t j0 = 0; j0 < count; j0 += tr) {
        const int64_t jn = count - j0 < tr ? count - j0 : tr;
        for (int64_t r = 0; r < m; r++) sl_kv_dots(type, q[r], r8 + j0 * stride, stride, jn, n, scale, out[r] + off + j0);
    }
}

void sl_kv_accumulate_block(int type, int64_t m, float *const *o, const float *const *p, int64_t off, const void *rows,
                            size_t stride, int64_t count, int64_t n) {
    if (m <= 0 || count <= 0) return;
    const uint8_t *r8 = rows;
#if defined(__x86_64__)
    if (kv_bf16() && type == SL_F16) { accumulate_block_f16_bf16(m, o, p, off, r8, stride, count, n); return; }
    if (kv_wide() && n <= KV_TILE_FLOATS && type == SL_F16) { accumulate_block_f16_avx512(m, o, p, off, r8, stride, count, n); return; }
    if (kv_fast() && n <= KV_TILE_FLOATS && type == SL_F16) { accumulate_block_f16_avx2(m, o, p, off, r8, stride, count, n); return; }
    if (kv_fast() && n <= KV_TILE_FLOATS && type == SL_Q8_0) { accumulate_block_q8_0_avx2(m, o, p, off, r8, stride, count, n); return; }
#endif
    const int64_t tr = kv_tile_rows(n);
    for (int64_t j0 = 0; j0 < count; j0 += tr) {
        const int64_t jn = count - j0 < tr ? count - j0 : tr;
        for (int64_t r = 0; r < m; r++) sl_kv_accumulate(type, o[r], p[r] + off + j0, r8 + j0 * stride, stride, jn, n);
    }
}
