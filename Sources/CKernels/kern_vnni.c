// AVX-512 VNNI instantiation of kern_impl.inc: same kernels, int8 products through vpdpbusd /
// vpdpwssd on 256-bit vectors (AVX512VL), and mask-register bit expansion for Q5.
#include "internal.h"
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)
#define SL_SUFFIX vnni
#define SL_VNNI 1
#include "kern_impl.inc"
#pragma clang attribute pop
#else
sl_dot_fn sl_dot_vnni(int wtype) { (void)wtype; return NULL; }
#endif
