// Float vector ops for the forward pass; see include/ops.h. Each op has an AVX2+FMA body compiled
// with a target attribute (the package sets no -march) and a portable body, chosen once at run time.
#include "ops.h"
#include "CKernels.h"
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define SL_AVX2 __attribute__((target("avx2,fma")))

// sl_best_isa() caches the probe and applies SWIFTLM_ISA, so `SWIFTLM_ISA=scalar` reaches these bodies too.
static int has_avx2(void) { return sl_best_isa() >= SL_ISA_AVX2; }

SL_AVX2 static float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

SL_AVX2 static float dot_avx2(const float *a, const float *b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

SL_AVX2 static void axpy_avx2(float *y, float alpha, const float *x, int64_t n) {
    const __m256 va = _mm256_set1_ps(alpha);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
        _mm256_storeu_ps(y + i + 8, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8)));
    }
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += alpha * x[i];
}

/// e^x for 8 lanes, |relative error| < 2e-7 on [-87, 88] (inputs are clamped there): x = n ln2 + r
/// with |r| <= ln2/2 (ln2 split in two for an exact product), a degree-6 polynomial for e^r, then
/// 2^n added to the exponent bits. The gated FFNs call it on every intermediate value, where libm's
/// scalar expf / tanhf were 12% of gemma3's prompt time.
SL_AVX2 static __m256 exp256(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    // n is in [-126, 127] after the clamp, so 2^n is a normal float built from its exponent bits.
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/// g[i] = silu(g[i]) * u[i] = g[i] / (1 + exp(-g[i])) * u[i] over 8 lanes.
SL_AVX2 static void silu_mul_avx2(float *g, const float *u, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(g + i);
        const __m256 s = _mm256_div_ps(v, _mm256_add_ps(one, exp256(_mm256_sub_ps(_mm256_setzero_ps(), v))));
        _mm256_storeu_ps(g + i, _mm256_mul_ps(s, _mm256_loadu_ps(u + i)));
    }
    for (; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

/// e^t for 4 doubles, t <= 0 (clamped at -700; e^t for t below about -104 rounds to a float 0 anyway):
/// t = n ln2 + r with |r| <= ln2/2 (ln2 split in two), the degree-11 Taylor polynomial of e^r (relative
/// error below 1e-14), then 2^n put in the exponent bits. Rounded to float, this is libm's correctly
/// rounded expf on all but about one value in 1,500, where the true value sits on a float midpoint.
SL_AVX2 static __m256d exp_neg_4d(__m256d t) {
    t = _mm256_max_pd(t, _mm256_set1_pd(-700.0));
    const __m256d n = _mm256_round_pd(_mm256_mul_pd(t, _mm256_set1_pd(1.4426950408889634)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256d r = _mm256_fnmadd_pd(n, _mm256_set1_pd(6.93147180369123816490e-01), t);
    r = _mm256_fnmadd_pd(n, _mm256_set1_pd(1.90821492927058770002e-10), r);
    static const double inverse_factorials[] = {1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880, 1.0 / 40320, 1.0 / 5040,
                                                1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1.0, 1.0};
    __m256d p = _mm256_set1_pd(inverse_factorials[0]);
    for (int k = 1; k < 12; k++) p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(inverse_factorials[k]));
    const __m256i e = _mm256_slli_epi64(
        _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(n)), _mm256_set1_epi64x(1023)), 52);
    return _mm256_mul_pd(p, _mm256_castsi256_pd(e));
}

/// The largest of x[0..<n] (-inf for none), 8 lanes at a time.
SL_AVX2 static float softmax_max_avx2(const float *x, int64_t n) {
    int64_t i = 0;
    __m256 vm = _mm256_set1_ps(-INFINITY);
    for (; i + 8 <= n; i += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + i));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vm), _mm256_extractf128_ps(vm, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    float m = _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

/// The softmax bodies' end: x[0..<i] hold e^(x - m) with their sum in vs's 4 lanes; the tail from i with
/// libm, then everything times 1 / sum.
SL_AVX2 static void softmax_finish_avx2(float *x, int64_t n, int64_t i, float m, __m256d vs) {
    __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(vs), _mm256_extractf128_pd(vs, 1));
    double sum = _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
    for (; i < n; i++) { x[i] = expf(x[i] - m); sum += x[i]; }
    const float inv = (float)(1.0 / sum);
    const __m256 vinv = _mm256_set1_ps(inv);
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
    for (; i < n; i++) x[i] *= inv;
}

/// Softmax in place over 8 lanes: the max, then e^(x - max) with the difference taken in float (as the
/// scalar body does) and the exponential in double, rounded to float, summed in double. Attention calls
/// it on every score row of the causal triangle, where the scalar expf was 9-17% of the prompt time.
/// Why not exp256: its 1-2 ulp float errors change about a quarter of the probabilities by an ulp, and
/// a q8_0 KV cache amplifies such ulps (each can flip a code of the next layer's K): smollm2's q8_0
/// perplexity moved 1.3% on the short fixture text and 0.4% on a 7,600-token one. In double the results
/// are the scalar body's but for about one value in 1,500 (each off by one ulp).
SL_AVX2 static void softmax_avx2(float *x, int64_t n) {
    int64_t i;
    const float m = softmax_max_avx2(x, n);
    const __m256 vmax = _mm256_set1_ps(m);
    __m256d vs = _mm256_setzero_pd();
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), vmax);
        const __m128 lo = _mm256_cvtpd_ps(exp_neg_4d(_mm256_cvtps_pd(_mm256_castps256_ps128(d))));
        const __m128 hi = _mm256_cvtpd_ps(exp_neg_4d(_mm256_cvtps_pd(_mm256_extractf128_ps(d, 1))));
        _mm256_storeu_ps(x + i, _mm256_set_m128(hi, lo));
        vs = _mm256_add_pd(vs, _mm256_add_pd(_mm256_cvtps_pd(lo), _mm256_cvtps_pd(hi)));
    }
    softmax_finish_avx2(x, n, i, m, vs);
}
/// y = (x * r) * w for one row, r = 1 / sqrtf(mean + eps): the scalar body's last loop, 8 lanes at a time
/// (each lane the same two float multiplies).
SL_AVX2 static void rmsnorm_scale_avx2(float *y, const float *x, const float *w, float r, int64_t n) {
    const __m256 vr = _mm256_set1_ps(r);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vr), _mm256_loadu_ps(w + i)));
    for (; i < n; i++) y[i] = (x[i] * r) * w[i];
}

/// RMSNorm of 4 rows `stride` floats apart, bit for bit sl_ops_rmsnorm on each: the sum of squares must
/// stay one double chain per row in element order (ggml's), and a chain of dependent double adds is
/// what made the scalar body slow (3-4 cycles per element). Here the 4 rows' chains run side by side in
/// the 4 lanes of one register: squares of 8 elements per row are transposed so that each add takes
/// element i of all 4 rows.
SL_AVX2 static void rmsnorm4_avx2(float *y, const float *x, const float *w, float eps, int64_t n, int64_t stride) {
    __m256d acc = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 s0 = _mm256_loadu_ps(x + i), s1 = _mm256_loadu_ps(x + stride + i);
        __m256 s2 = _mm256_loadu_ps(x + 2 * stride + i), s3 = _mm256_loadu_ps(x + 3 * stride + i);
        s0 = _mm256_mul_ps(s0, s0); s1 = _mm256_mul_ps(s1, s1); s2 = _mm256_mul_ps(s2, s2); s3 = _mm256_mul_ps(s3, s3);
        const __m256 t0 = _mm256_unpacklo_ps(s0, s1), t1 = _mm256_unpackhi_ps(s0, s1); // [r0 r1 of e0 e1 | e4 e5], [e2 e3 | e6 e7]
        const __m256 t2 = _mm256_unpacklo_ps(s2, s3), t3 = _mm256_unpackhi_ps(s2, s3);
        const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE); // rows 0-3 of e0 | e4, e1 | e5
        const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE); // e2 | e6, e3 | e7
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(u0)));
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(u1)));
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(u2)));
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(u3)));
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(u0, 1)));
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(u1, 1)));
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(u2, 1)));
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(u3, 1)));
    }
    double ss[4];
    _mm256_storeu_pd(ss, acc);
    for (int k = 0; k < 4; k++) {
        const float *xr = x + k * stride;
        for (int64_t j = i; j < n; j++) ss[k] += (double)(xr[j] * xr[j]);
        const float mean = (float)(ss[k] / (double)n);
        rmsnorm_scale_avx2(y + k * stride, xr, w, 1.0f / sqrtf(mean + eps), n);
    }
}

#define SL_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))

/// softmax_max_avx2 16 lanes at a time. The largest value does not depend on the order it is found in,
/// and where only its zero's sign could, x - m (and so e^(x - m)) is the same for either sign.
SL_AVX512 static float softmax_max_avx512(const float *x, int64_t n) {
    int64_t i = 0;
    __m512 vm = _mm512_set1_ps(-INFINITY);
    for (; i + 16 <= n; i += 16) vm = _mm512_max_ps(vm, _mm512_loadu_ps(x + i));
    float m = _mm512_reduce_max_ps(vm);
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

/// 2^(k/16), k = 0..15, as floats (correctly rounded): exp_neg_16f's table, one register.
static const float exp2_sixteenths_f[16] = {
    0x1.000000p+0f, 0x1.0b5586p+0f, 0x1.172b84p+0f, 0x1.2387a6p+0f, 0x1.306fe0p+0f, 0x1.3dea64p+0f,
    0x1.4bfdaep+0f, 0x1.5ab07ep+0f, 0x1.6a09e6p+0f, 0x1.7a1148p+0f, 0x1.8ace54p+0f, 0x1.9c4918p+0f,
    0x1.ae89fap+0f, 0x1.c199bep+0f, 0x1.d5818ep+0f, 0x1.ea4afap+0f,
};

/// e^t for 16 floats, t <= 0, in float: t = (16m + k) ln2/16 + r with |r| <= ln2/32; n = 16m + k rounded by
/// adding and subtracting 1.5 * 2^23 (which leaves n mod 16 in s's low mantissa bits for the table permute);
/// 2^(k/16) from a 16-entry table in one register, e^r a degree-4 polynomial (truncation below 2^-34), 2^m by
/// vscalefps with n / 16 (it scales by 2^floor). Within 2 float ulps of the true e^t (scripts/check-softmax-exp.c
/// checks every float in [-104, 0]); below about -103.3 e^t is under half the smallest float and comes out 0.
SL_AVX512 static __m512 exp_neg_16f(__m512 t) {
    t = _mm512_max_ps(t, _mm512_set1_ps(-120.0f));
    const __m512 magic = _mm512_set1_ps(0x1.8p23f);
    const __m512 s = _mm512_fmadd_ps(t, _mm512_set1_ps(16 * 1.44269504088896341f), magic);
    const __m512 n = _mm512_sub_ps(s, magic); // exact: an integer of at most 12 bits (|n| <= 2770)
    // ln2/16 in two parts, each taken off in one fused multiply-add (t - n * hi rounded once).
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e400p-5f), t);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-24f), r);
    __m512 p = _mm512_set1_ps(1.0f / 24);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    const __m512 table = _mm512_permutexvar_ps(_mm512_castps_si512(s), _mm512_loadu_ps(exp2_sixteenths_f));
    return _mm512_scalef_ps(_mm512_mul_ps(p, table), _mm512_mul_ps(n, _mm512_set1_ps(0.0625f)));
}

/// One step of softmax_avx512's first pass: x[0..<16] (lanes outside `k` read as -inf, so their e^(x - m)
/// is 0 and adds nothing) become e^(x - m), summed in double into s0 (lanes 0-7) and s1 (8-15).
SL_AVX512 static inline __attribute__((always_inline)) void softmax_exp16(float *x, __mmask16 k, __m512 vmax, __m512d *s0,
                                                                         __m512d *s1) {
    const __m512 e = exp_neg_16f(_mm512_sub_ps(_mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), k, x), vmax));
    _mm512_mask_storeu_ps(x, k, e);
    *s0 = _mm512_add_pd(*s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    *s1 = _mm512_add_pd(*s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
}

/// Softmax in place, 16 lanes at a time: the max, e^(x - m) in float (exp_neg_16f), the sum in double
/// (two 8-lane accumulators), times 1 / sum. Attention calls it on every score row, where the double
/// exponential of softmax_avx2 was a fifth of smollm2's prompt time at depth 4096; the probabilities it
/// feeds are rounded to bf16 in the weighted sums on CPUs with AVX512_BF16, so float ulps are moot there.
SL_AVX512 static void softmax_avx512(float *x, int64_t n) {
    int64_t i;
    const float m = softmax_max_avx512(x, n);
    const __m512 vmax = _mm512_set1_ps(m);
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    for (i = 0; i + 16 <= n; i += 16) softmax_exp16(x + i, 0xFFFF, vmax, &s0, &s1);
    const __mmask16 tail = (__mmask16)((1u << (n - i)) - 1);
    if (tail) softmax_exp16(x + i, tail, vmax, &s0, &s1);
    const __m512 vinv = _mm512_set1_ps((float)(1.0 / _mm512_reduce_add_pd(_mm512_add_pd(s0, s1))));
    for (i = 0; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), vinv));
    if (tail) _mm512_mask_storeu_ps(x + i, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, x + i), vinv));
}

static int has_avx512(void) { return sl_best_isa() >= SL_ISA_AVX512VNNI; } // SWIFTLM_ISA=avx2 keeps AVX2
#else
static int has_avx2(void) { return 0; }
static int has_avx512(void) { return 0; }
#endif

static float dot_c(const float *a, const float *b, int64_t n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1]; s2 += a[i + 2] * b[i + 2]; s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

float sl_ops_dot(const float *a, const float *b, int64_t n) {
#if defined(__x86_64__)
    if (has_avx2()) return dot_avx2(a, b, n);
#endif
    return dot_c(a, b, n);
}

void sl_ops_axpy(float *y, float alpha, const float *x, int64_t n) {
#if defined(__x86_64__)
    if (has_avx2()) { axpy_avx2(y, alpha, x, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) y[i] += alpha * x[i];
}

void sl_ops_scale(float *y, const float *x, float scale, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * scale;
}

void sl_ops_rmsnorm(float *y, const float *x, const float *w, float eps, int64_t n) {
    // Bit for bit ggml's RMS_NORM then MUL (ggml_compute_forward_rms_norm_f32): float squares summed
    // in order in double, the mean rounded to float, the scale 1/sqrtf(mean + eps) in float, then
    // (x * scale) * w. Any last-bit difference here matters: the next matmul quantizes these values
    // to 8 bits, and after a Q8_0 embedding many of them sit exactly on a rounding tie (issue 16).
    double ss = 0;
    for (int64_t i = 0; i < n; i++) ss += (double)(x[i] * x[i]);
    const float mean = (float)(ss / (double)n);
    const float r = 1.0f / sqrtf(mean + eps);
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] * r) * w[i];
}

void sl_ops_rmsnorm_rows(float *y, const float *x, const float *w, float eps, int64_t n, int64_t rows) {
    int64_t r = 0;
#if defined(__x86_64__)
    if (has_avx2()) for (; r + 4 <= rows; r += 4) rmsnorm4_avx2(y + r * n, x + r * n, w, eps, n, n);
#endif
    for (; r < rows; r++) sl_ops_rmsnorm(y + r * n, x + r * n, w, eps, n);
}

void sl_ops_softmax(float *x, int64_t n) {
#if defined(__x86_64__)
    if (has_avx512()) { softmax_avx512(x, n); return; }
    if (has_avx2()) { softmax_avx2(x, n); return; }
#endif
    float m = x[0];
    for (int64_t i = 1; i < n; i++) m = x[i] > m ? x[i] : m;
    double sum = 0;
    for (int64_t i = 0; i < n; i++) { x[i] = expf(x[i] - m); sum += x[i]; }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

void sl_ops_silu_mul(float *g, const float *u, int64_t n) {
#if defined(__x86_64__)
    if (has_avx2()) { silu_mul_avx2(g, u, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

// ggml's GEGLU on CPU (GGML_GELU_FP16): the gate is rounded to F16 and its tanh GELU looked up in a
// table of every F16 input's GELU (computed in float, rounded to F16), then multiplied by the up
// value; 0 at or below -10, the identity at or above 10. 3e-4 from the exact GELU, which is enough to
// move 8-bit codes of the next matmul (issue 16), so SwiftLM computes the same numbers. The table
// (as floats, 256 KiB: one gather per 8 lanes) replaces a tanhf per element.
static float gelu_table[1 << 16];
static pthread_once_t gelu_table_once = PTHREAD_ONCE_INIT;

static void fill_gelu_table(void) {
    const float c = 0.79788456080286535587989211986876f; // sqrt(2/pi)
    for (uint32_t h = 0; h < (1u << 16); h++) {
        const uint16_t bits = (uint16_t)h;
        _Float16 f;
        memcpy(&f, &bits, sizeof f);
        const float v = (float)f;
        gelu_table[h] = (float)(_Float16)(0.5f * v * (1.0f + tanhf(c * v * (1.0f + 0.044715f * v * v))));
    }
}

static inline float gelu_f16(float x) {
    if (x <= -10.0f) return 0.0f;
    if (x >= 10.0f) return x;
    const _Float16 h = (_Float16)x;
    uint16_t bits;
    memcpy(&bits, &h, sizeof bits);
    return gelu_table[bits];
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma,f16c"))) static void gelu_mul_avx2(float *g, const float *u, int64_t n) {
    const __m256 lo = _mm256_set1_ps(-10.0f), hi = _mm256_set1_ps(10.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(g + i);
        // Round to nearest even, as the C conversion in gelu_f16 does.
        const __m256i idx = _mm256_cvtepu16_epi32(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        __m256 y = _mm256_i32gather_ps(gelu_table, idx, 4);
        y = _mm256_andnot_ps(_mm256_cmp_ps(x, lo, _CMP_LE_OQ), y);
        y = _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, hi, _CMP_GE_OQ));
        _mm256_storeu_ps(g + i, _mm256_mul_ps(y, _mm256_loadu_ps(u + i)));
    }
    for (; i < n; i++) g[i] = gelu_f16(g[i]) * u[i];
}
#endif

void sl_ops_gelu_mul(float *g, const float *u, int64_t n) {
    pthread_once(&gelu_table_once, fill_gelu_table);
#if defined(__x86_64__)
    if (has_avx2()) { gelu_mul_avx2(g, u, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) g[i] = gelu_f16(g[i]) * u[i];
}

void sl_ops_rope(float *x, int64_t heads, int64_t head_dim, int64_t rot, const float *cos_t,
                 const float *sin_t, int neox) {
    const int64_t half = rot / 2;
    for (int64_t h = 0; h < heads; h++) {
        float *v = x + h * head_dim;
        if (neox) {
            for (int64_t i = 0; i < half; i++) {
                const float a = v[i], b = v[i + half];
                v[i] = a * cos_t[i] - b * sin_t[i];
                v[i + half] = a * sin_t[i] + b * cos_t[i];
            }
        } else {
            for (int64_t i = 0; i < half; i++) {
                const float a = v[2 * i], b = v[2 * i + 1];
                v[2 * i] = a * cos_t[i] - b * sin_t[i];
                v[2 * i + 1] = a * sin_t[i] + b * cos_t[i];
            }
        }
    }
}
