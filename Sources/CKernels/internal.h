// Private declarations shared by the C files (not visible to Swift).
#ifndef SWIFTLM_CKERNELS_INTERNAL_H
#define SWIFTLM_CKERNELS_INTERNAL_H
#include "CKernels.h"

/// out[j] = dot(w, a + j*a_stride) for j < nb (nb in 1...SL_MAX_NB), over n elements.
typedef void (*sl_dot_fn)(int64_t n, const void *w, const void *a, size_t a_stride, int nb, float *out);
typedef void (*sl_dequant_fn)(const void *src, float *dst, int64_t n);
typedef void (*sl_quant_fn)(const float *x, void *dst, int64_t n);

/// A tile of up to 4 weight rows (nr valid, rows `w_row` bytes apart) against up to SL_GEMM_B activation rows
/// (nbv valid, `a_row` bytes apart, starting at batch row `b0`); y[j * y_stride + r]. `meta` is the
/// whole batch's side table (see sl_isa_kernels.gemm_meta_rows): the tile finds its rows in it.
#define SL_GEMM_B 8  // activation rows per GEMM tile (SL_GB in gemm_impl.inc)
typedef void (*sl_gemm_fn)(int64_t n, const char *w, size_t w_row, int nr, const char *a, size_t a_row,
                           int nbv, const float *meta, int64_t b0, float *y, int64_t y_stride);

/// How far ahead of the weights it is working on a one-activation-row band prefetches (gemm_packed_impl.inc
/// pf_ahead, matmul.c tiles_task): about 3 us of streaming at one core's share of DRAM bandwidth.
#define SL_PF_AHEAD 12288

/// Batch rows handled per pass over a weight row.
#define SL_MAX_NB 4

/// Mat-vec over `nrows` weight rows against one activation row with its mat-vec side table: y[r].
typedef void (*sl_mv_fn)(int64_t n, const char *w, size_t w_row, int64_t nrows, const void *act, const float *meta,
                         float *y);

/// Type ids run 0 ... SL_BF16.
#define SL_TYPE_COUNT 31

/// What one instruction-set level runs for weights of one type; NULL where it has nothing.
typedef struct {
    sl_dot_fn dot;          // one weight row x up to SL_MAX_NB activation rows (set for every supported type)
    sl_gemm_fn gemm;        // GEMM tile for the prompt path, or NULL: the driver tiles batch rows over `dot`
    sl_mv_fn mv;            // batch-1 kernel over a band of rows, or NULL: `dot` with one activation row
    sl_dequant_fn dequant;  // row decode (embedding lookups)
    sl_gemm_fn packed_gemm; // nr rows (a multiple of 8) of the packed layout (repack.c) x up to SL_GEMM_B activation rows, or NULL
} sl_type_kernels;

/// One level's kernel traits, filled once by its sl_fill_kernels_* (the traits table that replaces a
/// switch per driver). The side tables' layouts are the level's own business: the driver only asks
/// their size and has them filled.
typedef struct {
    sl_type_kernels type[SL_TYPE_COUNT];  // by weight type id
    sl_quant_fn quant[SL_TYPE_COUNT];     // by activation type id (Q8_0, Q8_1, Q8_K, F32)
    /// Bytes of the GEMM side table for `batch` activation rows of `nblocks` blocks of `atype` (0: none).
    size_t (*gemm_meta_bytes)(int atype, int64_t batch, int64_t nblocks);
    /// Fills the GEMM side table for activation rows [b0, b1); the call whose b1 == batch also fills
    /// whatever padding rows the layout has.
    void (*gemm_meta_rows)(int atype, const void *act, size_t a_row, int64_t nblocks, int64_t b0, int64_t b1,
                           int64_t batch, float *meta);
    /// Bytes of the mat-vec side table for one activation row, and its fill.
    size_t (*mv_meta_bytes)(int64_t nblocks);
    void (*mv_meta)(int atype, const void *act, int64_t nblocks, float *meta);
} sl_isa_kernels;

void sl_fill_kernels_avx2(sl_isa_kernels *k);
void sl_fill_kernels_vnni(sl_isa_kernels *k);

/// The traits of `isa`, or NULL when this CPU (capped by SWIFTLM_ISA) does not run that level.
const sl_isa_kernels *sl_kernels(int isa);

int sl_pool_nested(void);
void sl_pool_lock(sl_pool *p);
void sl_pool_unlock(sl_pool *p);
void sl_pool_run_locked(sl_pool *p, int64_t count, sl_task_fn fn, void *ctx);
void *sl_pool_scratch(sl_pool *p, size_t bytes);
void *sl_thread_scratch(size_t bytes);

#endif
