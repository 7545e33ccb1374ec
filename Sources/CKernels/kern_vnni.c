// AVX-512 VNNI instantiation of kern_impl.inc: same kernels, int8 products through vpdpbusd /
// vpdpwssd on 256-bit vectors (AVX512VL), and mask-register bit expansion for Q5.
#include "internal.h"
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)
#define SL_SUFFIX vnni
#define SL_VNNI 1
#include "kern_impl.inc"
#include "gemm_impl.inc"
#include "matvec_impl.inc"
#pragma clang attribute pop
#else
sl_dot_fn sl_dot_vnni(int wtype) { (void)wtype; return NULL; }
sl_gemm_fn sl_gemm_vnni(int wtype) { (void)wtype; return NULL; }
sl_mv_fn sl_mv_vnni(int wtype) { (void)wtype; return NULL; }
void sl_mv_meta_vnni(int atype, const void *act, int64_t nblocks, float *meta) {
    (void)atype; (void)act; (void)nblocks; (void)meta;
}
void sl_gemm_meta_rows_vnni(int atype, const void *act, size_t a_row, int64_t nblocks, int64_t b0, int64_t b1,
                            int64_t batch, float *meta) {
    (void)atype; (void)act; (void)a_row; (void)nblocks; (void)b0; (void)b1; (void)batch; (void)meta;
}
#endif
