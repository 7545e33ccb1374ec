// Exhaustive check that ops.c's exp_neg_8d (AVX-512 softmax) gives the same doubles as its previous
// form (vroundpd, integer index and exponent bits; kept below as exp_old) for every float t in [-800, 0]
// and -inf, so the softmax probabilities did not move by a bit. Build and run on an AVX-512 machine:
//   clang -O3 -ISources/CKernels/include -ISources/CKernels scripts/check-softmax-exp.c -lm -o /tmp/check-softmax-exp \
//     && /tmp/check-softmax-exp
// It compiles ops.c itself, so it checks the kernel as it is now (exp_neg_8d and its table).
#include "../Sources/CKernels/ops.c"
#include <stdio.h>
#include <string.h>
int sl_best_isa(void) { return SL_ISA_AVX512VNNI; }  // matmul.c's, which this check does not link
SL_AVX512 static __m512d exp_old(__m512d t) {
    t = _mm512_max_pd(t, _mm512_set1_pd(-700.0));
    const __m512d n = _mm512_roundscale_pd(_mm512_mul_pd(t, _mm512_set1_pd(16 * 1.4426950408889634)),
                                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512d r = _mm512_fnmadd_pd(n, _mm512_set1_pd(6.93147180369123816490e-01 / 16), t);
    r = _mm512_fnmadd_pd(n, _mm512_set1_pd(1.90821492927058770002e-10 / 16), r);
    __m512d p = _mm512_set1_pd(1.0 / 720);
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0 / 120));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0 / 24));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0 / 6));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(0.5));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0));
    const __m256i ni = _mm512_cvtpd_epi32(n);
    const __m512i k = _mm512_cvtepi32_epi64(_mm256_and_si256(ni, _mm256_set1_epi32(15)));
    const __m512i m = _mm512_cvtepi32_epi64(_mm256_srai_epi32(ni, 4));
    const __m512d table = _mm512_permutex2var_pd(_mm512_loadu_pd(exp2_sixteenths), k, _mm512_loadu_pd(exp2_sixteenths + 8));
    const __m512i e = _mm512_slli_epi64(_mm512_add_epi64(m, _mm512_set1_epi64(1023)), 52);
    return _mm512_mul_pd(_mm512_mul_pd(p, table), _mm512_castsi512_pd(e));
}
SL_AVX512 int main(void){
  // every float in [-800, 0] (both zeros), plus -inf and NaN-free extremes
  uint64_t bad=0, cnt=0;
  uint32_t lo = 0x80000000u, hi; float f=-800.f; memcpy(&hi,&f,4);
  float buf[8]; int nb=0;
  for (uint64_t b = lo; b <= hi; b++) {
    uint32_t bits=(uint32_t)b; float x; memcpy(&x,&bits,4); buf[nb++]=x;
    if (nb==8 || b==hi) {
      while(nb<8) buf[nb++]=-INFINITY;
      __m512d t=_mm512_cvtps_pd(_mm256_loadu_ps(buf));
      __m512d a=exp_old(t), c=exp_neg_8d(t);
      __mmask8 ne = _mm512_cmpneq_epi64_mask(_mm512_castpd_si512(a), _mm512_castpd_si512(c));
      if (ne) { bad+=__builtin_popcount(ne); if (bad<10){ double da[8],dc[8]; _mm512_storeu_pd(da,a);_mm512_storeu_pd(dc,c); for(int i=0;i<8;i++) if(ne>>i&1) printf("x=%a old=%a new=%a\n",buf[i],da[i],dc[i]);} }
      cnt+=8; nb=0;
    }
  }
  printf("checked %llu, double mismatches %llu\n",(unsigned long long)cnt,(unsigned long long)bad);
  return bad!=0;
}
