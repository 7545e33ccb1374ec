// Greedy sampling's argmax over a vocabulary row (151936 logits for qwen2.5): the scalar loop's
// compare-and-branch chain runs ~80 us per row, serial on the batch engine's owner thread while the
// pool's workers wait, eight times per tick with eight decoding sequences. Two vector passes over the
// row (the maximum, then its first position) give the same index; see include/select.h.
#include "select.h"
#include "CKernels.h"
#include <math.h>

static int64_t argmax_scalar(const float *x, int64_t n) {
    int64_t best = 0;
    float value = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        if (x[i] > value) {
            value = x[i];
            best = i;
        }
    }
    return best;
}

#if defined(__x86_64__)
#include <immintrin.h>

// Pass 1, the maximum M of the non-NaN values: maxps returns its second operand when either is NaN, and
// the running maximum (second) never is. The scalar loop's answer is the first index holding M (the
// running maximum is first set there and never replaced by an equal value), or 0 when M is -inf.
// Pass 2 finds that index with ==, for which -0 and +0 are equal as they are for the loop's >.
__attribute__((target("avx2"))) static int64_t argmax_avx2(const float *x, int64_t n) {
    __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
        m1 = _mm256_max_ps(_mm256_loadu_ps(x + i + 8), m1);
        m2 = _mm256_max_ps(_mm256_loadu_ps(x + i + 16), m2);
        m3 = _mm256_max_ps(_mm256_loadu_ps(x + i + 24), m3);
    }
    for (; i + 8 <= n; i += 8) m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
    float m = -INFINITY;
    for (int k = 0; k < 8; k++) if (lanes[k] > m) m = lanes[k];
    for (; i < n; i++) if (x[i] > m) m = x[i];
    if (!(m > -INFINITY)) return 0;
    const __m256 mv = _mm256_set1_ps(m);
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        const int mask = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + j), mv, _CMP_EQ_OQ));
        if (mask) return j + __builtin_ctz((unsigned)mask);
    }
    for (; j < n; j++) if (x[j] == m) return j;
    return 0;  // not reached: M is one of the values
}
#endif

int64_t sl_argmax(const float *x, int64_t n) {
#if defined(__x86_64__)
    if (sl_best_isa() >= SL_ISA_AVX2) return argmax_avx2(x, n); // honours SWIFTLM_ISA=scalar
#endif
    return argmax_scalar(x, n);
}
