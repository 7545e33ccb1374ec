// AVX2 + FMA + F16C instantiation of kern_impl.inc, plus the activation quantizers and row
// dequantizers (plain C loops that the compiler vectorizes under this target).
#include "internal.h"
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#define SL_SUFFIX avx2
#define SL_VNNI 0
#include "kern_impl.inc"
#include "quant_avx2.inc"
#pragma clang attribute pop
#else
sl_dot_fn sl_dot_avx2(int wtype) { (void)wtype; return NULL; }
sl_dequant_fn sl_dequant_avx2(int wtype) { (void)wtype; return NULL; }
sl_quant_fn sl_quant_avx2(int atype) { (void)atype; return NULL; }
#endif
