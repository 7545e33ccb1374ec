// AVX2 + FMA + F16C instantiation of kern_impl.inc, gemm_impl.inc and matvec_impl.inc, plus the
// activation quantizers and row dequantizers (plain C loops that the compiler vectorizes under this
// target), which the AVX-512 VNNI level shares.
#include "internal.h"
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#define SL_SUFFIX avx2
#define SL_VNNI 0
#include "kern_impl.inc"
#include "gemm_impl.inc"
#include "matvec_impl.inc"
#include "gemm_packed_impl.inc"
#include "quant_avx2.inc"

void sl_fill_kernels_avx2(sl_isa_kernels *k) {
    fill_dots_avx2(k);
    fill_gemm_avx2(k);
    fill_mv_avx2(k);
    fill_packed_avx2(k);
    fill_quant(k);
    fill_dequant(k);
}
#pragma clang attribute pop
#else
void sl_fill_kernels_avx2(sl_isa_kernels *k) { (void)k; }
#endif
