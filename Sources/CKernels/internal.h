// Private declarations shared by the C files (not visible to Swift).
#ifndef SWIFTLM_CKERNELS_INTERNAL_H
#define SWIFTLM_CKERNELS_INTERNAL_H
#include "CKernels.h"

/// out[j] = dot(w, a + j*a_stride) for j < nb (nb in 1...SL_MAX_NB), over n elements.
typedef void (*sl_dot_fn)(int64_t n, const void *w, const void *a, size_t a_stride, int nb, float *out);
typedef void (*sl_dequant_fn)(const void *src, float *dst, int64_t n);
typedef void (*sl_quant_fn)(const float *x, void *dst, int64_t n);

/// A tile of up to 4 weight rows (nr valid, rows `w_row` bytes apart) against up to SL_GEMM_B activation rows
/// (nbv valid, `a_row` bytes apart, `meta` = their sl_gemm_meta group); y[j * y_stride + r].
#define SL_GEMM_B 8  // activation rows per GEMM tile (SL_GB in gemm_impl.inc)
typedef void (*sl_gemm_fn)(int64_t n, const char *w, size_t w_row, int nr, const char *a, size_t a_row,
                           int nbv, const float *meta, float *y, int64_t y_stride);

/// Batch rows handled per pass over a weight row.
#define SL_MAX_NB 4

sl_dot_fn sl_dot_avx2(int wtype);
sl_dot_fn sl_dot_vnni(int wtype);
sl_dequant_fn sl_dequant_avx2(int wtype);
sl_gemm_fn sl_gemm_vnni(int wtype);
/// Mat-vec over `nrows` weight rows against one activation row with its sl_mv_meta: y[r].
typedef void (*sl_mv_fn)(int64_t n, const char *w, size_t w_row, int64_t nrows, const void *act, const float *meta,
                         float *y);
sl_mv_fn sl_mv_vnni(int wtype);
void sl_mv_meta_vnni(int atype, const void *act, int64_t nblocks, float *meta);
/// Per-block activation scales and sums the GEMM tiles read, for rows [b0, b1) (rows >= batch pad).
void sl_gemm_meta_rows_vnni(int atype, const void *act, size_t a_row, int64_t nblocks, int64_t b0, int64_t b1,
                            int64_t batch, float *meta);
sl_quant_fn sl_quant_avx2(int atype);

int sl_pool_nested(void);
void sl_pool_lock(sl_pool *p);
void sl_pool_unlock(sl_pool *p);
void sl_pool_run_locked(sl_pool *p, int64_t count, sl_task_fn fn, void *ctx);
void *sl_pool_scratch(sl_pool *p, size_t bytes);
void *sl_thread_scratch(size_t bytes);

#endif
