// Exhaustive accuracy check of ops.c's exp_neg_16f (the AVX-512 softmax's float exponential): for every
// float t in [-104, 0] (below, e^t rounds to 0), its distance in ulps from the correctly rounded e^t
// (libm's double exp rounded to float) and the worst error against the true value. Fails above 2 ulps.
// Build and run on an AVX-512 machine:
//   clang -O3 -ISources/CKernels/include -ISources/CKernels scripts/check-softmax-exp.c -lm -o /tmp/check-softmax-exp \
//     && /tmp/check-softmax-exp
// It compiles ops.c itself, so it checks the kernel as it is now.
#include "../Sources/CKernels/ops.c"
#include <stdio.h>
#include <string.h>
int sl_best_isa(void) { return SL_ISA_AVX512VNNI; }  // matmul.c's, which this check does not link
SL_AVX512 int main(void) {
    uint64_t hist[4] = {0}, count = 0; // 0, 1, 2, more ulps from the correctly rounded value
    double worst = 0;
    float worst_t = 0, f = -104.f, buf[16];
    uint32_t lo = 0x80000000u, hi; // -0 up to -104 in bit order
    memcpy(&hi, &f, 4);
    int nb = 0;
    for (uint64_t b = lo; b <= hi; b++) {
        const uint32_t bits = (uint32_t)b;
        memcpy(&buf[nb++], &bits, 4);
        if (nb < 16 && b < hi) continue;
        float out[16];
        _mm512_storeu_ps(out, exp_neg_16f(_mm512_loadu_ps(buf)));
        for (int i = 0; i < nb; i++) {
            const double exact = exp((double)buf[i]);
            const float rounded = (float)exact;
            int32_t a, c;
            memcpy(&a, &out[i], 4);
            memcpy(&c, &rounded, 4);
            const int d = abs(a - c);
            hist[d > 3 ? 3 : d]++;
            const double ulp = (double)nextafterf(rounded, INFINITY) - rounded;
            const double e = fabs(out[i] - exact) / ulp;
            if (e > worst) { worst = e; worst_t = buf[i]; }
        }
        count += nb;
        nb = 0;
    }
    printf("checked %llu floats: correctly rounded %llu, 1 ulp off %llu, 2 ulps %llu, more %llu; worst %.3f ulp (t = %a)\n",
           (unsigned long long)count, (unsigned long long)hist[0], (unsigned long long)hist[1], (unsigned long long)hist[2],
           (unsigned long long)hist[3], worst, worst_t);
    return hist[3] != 0;
}
