// Private declarations shared by the C files (not visible to Swift).
#ifndef SWIFTLM_CKERNELS_INTERNAL_H
#define SWIFTLM_CKERNELS_INTERNAL_H
#include "CKernels.h"

/// out[j] = dot(w, a + j*a_stride) for j < nb (nb in 1...SL_MAX_NB), over n elements.
typedef void (*sl_dot_fn)(int64_t n, const void *w, const void *a, size_t a_stride, int nb, float *out);
typedef void (*sl_dequant_fn)(const void *src, float *dst, int64_t n);
typedef void (*sl_quant_fn)(const float *x, void *dst, int64_t n);

/// Batch rows handled per pass over a weight row.
#define SL_MAX_NB 4

sl_dot_fn sl_dot_avx2(int wtype);
sl_dot_fn sl_dot_vnni(int wtype);
sl_dequant_fn sl_dequant_avx2(int wtype);
sl_quant_fn sl_quant_avx2(int atype);

int sl_pool_nested(void);
void sl_pool_lock(sl_pool *p);
void sl_pool_unlock(sl_pool *p);
void sl_pool_run_locked(sl_pool *p, int64_t count, sl_task_fn fn, void *ctx);
void *sl_pool_scratch(sl_pool *p, size_t bytes);
void *sl_thread_scratch(size_t bytes);

#endif
