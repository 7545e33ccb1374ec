// Plain vs packed (repack.c) k-quant matmul, one thread, best of 5 in thread CPU time (so the shared
// machine's other processes do not count), with the largest difference between the two outputs.
// Random weight bytes (F16 factors set to 2^-7), activations uniform in [-3.3, 3.3].
//
//   clang -O2 -march=native -ISources/CKernels/include -ISources/CKernels Sources/CKernels/*.c \
//       scripts/bench-packed-kernels.c -o /tmp/bench-packed -lpthread -lm
//   /tmp/bench-packed TYPE ROWS COLS BATCH [ISA]   (TYPE 3 = Q4_1, 6 = Q5_0, 8 = Q8_0, 12 = Q4_K, 14 = Q6_K;
//                                                  ISA 1 = AVX2, 2 = AVX-512 VNNI)
//   /tmp/bench-packed peak   (the core's vpdpbusd rate, 256- and 512-bit, independent chains)
//
// "plain" is sl_matmul as the forward pass calls it (GEMM tiles / per-row kernels for batch > 1, the
// fastest batch-1 kernel for batch 1); "packed" is sl_matmul_packed.
#include "CKernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static unsigned long long rng = 88172645463325252ull;
static unsigned long long next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

#if defined(__AVX512VNNI__)
#include <immintrin.h>
/// int8 MACs per second of back-to-back vpdpbusd on 12 independent accumulators (the kernels' ceiling).
static void peak(void) {
    const long n = 20000000;
    __m256i a[12];
    __m512i z[12];
    for (int i = 0; i < 12; i++) { a[i] = _mm256_set1_epi32(i); z[i] = _mm512_set1_epi32(i); }
    const __m256i b = _mm256_set1_epi32(3), c = _mm256_set1_epi32(5);
    const __m512i bz = _mm512_set1_epi32(3), cz = _mm512_set1_epi32(5);
    double ty = 1e9, tz = 1e9;
    for (int r = 0; r < 5; r++) {
        double t = cpu_seconds();
        for (long k = 0; k < n; k++) {
            for (int i = 0; i < 12; i++) a[i] = _mm256_dpbusd_epi32(a[i], b, c);
            __asm__ volatile("" : "+x"(a[0]));
        }
        t = cpu_seconds() - t;
        if (t < ty) ty = t;
        t = cpu_seconds();
        for (long k = 0; k < n; k++) {
            for (int i = 0; i < 12; i++) z[i] = _mm512_dpbusd_epi32(z[i], bz, cz);
            __asm__ volatile("" : "+v"(z[0]));
        }
        t = cpu_seconds() - t;
        if (t < tz) tz = t;
    }
    int s = 0;
    for (int i = 0; i < 12; i++) s += _mm256_extract_epi32(a[i], 0) + _mm_extract_epi32(_mm512_castsi512_si128(z[i]), 0);
    printf("vpdpbusd peak: ymm %.1f GMAC/s, zmm %.1f GMAC/s (%d)\n", n * 12.0 * 32 / ty / 1e9, n * 12.0 * 64 / tz / 1e9, s & 1);
}
#endif

int main(int argc, char **argv) {
#if defined(__AVX512VNNI__)
    if (argc == 2 && argv[1][0] == 'p') { peak(); return 0; }
#endif
    if (argc < 5) { fprintf(stderr, "usage: %s TYPE ROWS COLS BATCH [ISA]\n", argv[0]); return 2; }
    const int type = atoi(argv[1]), isa = argc > 5 ? atoi(argv[5]) : sl_best_isa();
    const long rows = atol(argv[2]), cols = atol(argv[3]), batch = atol(argv[4]);
    if (type != SL_Q4_1 && type != SL_Q5_0 && type != SL_Q8_0 && type != SL_Q4_K && type != SL_Q6_K) {
        fprintf(stderr, "TYPE: 3 (Q4_1), 6 (Q5_0), 8 (Q8_0), 12 (Q4_K) or 14 (Q6_K)\n");
        return 2;
    }
    const int kq = type == SL_Q4_K || type == SL_Q6_K;
    const size_t block = type == SL_Q4_1 ? sizeof(sl_block_q4_1) : type == SL_Q5_0 ? sizeof(sl_block_q5_0)
                       : type == SL_Q8_0 ? sizeof(sl_block_q8_0) : type == SL_Q4_K ? sizeof(sl_block_q4_K) : sizeof(sl_block_q6_K);
    const size_t bytes = (size_t)rows * (size_t)(cols / (kq ? SL_QK_K : SL_QK)) * block;
    unsigned char *w = malloc(bytes), *packed = malloc(bytes);
    for (size_t i = 0; i < bytes; i++) w[i] = (unsigned char)next();
    for (size_t b = 0; b < bytes / block; b++) {  // F16 high bytes: 0x20.. = 2^-7 range, finite
        unsigned char *p = w + b * block;
        if (type == SL_Q8_0 || type == SL_Q5_0) p[1] = 0x20;
        else if (type == SL_Q4_1) { p[1] = 0x20; p[3] = 0x20; }
        else if (type == SL_Q4_K) { p[1] = 0x20; p[3] = 0x20; } else { p[209] = 0x20; }
    }
    float *x = malloc(sizeof(float) * (size_t)(cols * batch));
    for (long i = 0; i < cols * batch; i++) x[i] = (float)((long)(next() % 2001) - 1000) / 300.f;
    float *y0 = malloc(sizeof(float) * (size_t)(rows * batch)), *y1 = malloc(sizeof(float) * (size_t)(rows * batch));
    if (sl_pack(type, w, rows, cols, packed)) { fprintf(stderr, "no packed layout for this shape\n"); return 1; }
    sl_pool *pool = sl_pool_create(1);
    double plain = 1e9, pk = 1e9;
    for (int r = 0; r < 5; r++) {
        double t = cpu_seconds();
        if (sl_matmul(pool, isa, type, w, rows, cols, x, batch, y0, batch > 1)) { fprintf(stderr, "no kernel\n"); return 1; }
        t = cpu_seconds() - t;
        if (t < plain) plain = t;
        t = cpu_seconds();
        if (sl_matmul_packed(pool, isa, type, packed, rows, cols, x, batch, y1)) { fprintf(stderr, "no packed kernel\n"); return 1; }
        t = cpu_seconds() - t;
        if (t < pk) pk = t;
    }
    double diff = 0, mag = 0;
    for (long i = 0; i < rows * batch; i++) {
        const double d = y0[i] > y1[i] ? y0[i] - y1[i] : y1[i] - y0[i], a = y0[i] < 0 ? -y0[i] : y0[i];
        if (d > diff) diff = d;
        if (a > mag) mag = a;
    }
    printf("type %d %ldx%ld batch %ld isa %d: plain %.3f ms, packed %.3f ms (%.2fx, %.1f GMAC/s), max diff %.3g of %.3g\n", type,
           rows, cols, batch, isa, plain * 1e3, pk * 1e3, plain / pk, (double)rows * cols * batch / pk / 1e9, diff, mag);
    sl_pool_destroy(pool);
    return 0;
}
