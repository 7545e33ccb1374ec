// AVX-512 VNNI instantiation of kern_impl.inc, gemm_impl.inc and matvec_impl.inc: same kernels, int8
// products through vpdpbusd / vpdpwssd on 256-bit vectors (AVX512VL), and mask-register bit expansion
// for Q5. Activation quantizers and dequantizers come from the AVX2 level.
#include "internal.h"
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)
#define SL_SUFFIX vnni
#define SL_VNNI 1
#include "kern_impl.inc"
#include "gemm_impl.inc"
#include "matvec_impl.inc"
#include "gemm_packed_impl.inc"

void sl_fill_kernels_vnni(sl_isa_kernels *k) {
    sl_fill_kernels_avx2(k);  // quantizers, dequantizers; every kernel below replaces its AVX2 one
    fill_dots_vnni(k);
    fill_gemm_vnni(k);
    fill_mv_vnni(k);
    fill_packed_vnni(k);
}
#pragma clang attribute pop
#else
void sl_fill_kernels_vnni(sl_isa_kernels *k) { (void)k; }
#endif
