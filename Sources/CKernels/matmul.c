// Dispatch by CPU level and weight type, activation quantization into the pool's scratch, and the
// row-split, batch-tiled matrix product.
#include "internal.h"
#include <stdlib.h>
#include <string.h>

static int detect_isa(void) {
    int isa = 0;
    if (swiftlm_cpu_has_avx2()) isa = SL_ISA_AVX2;
    if (isa && swiftlm_cpu_has_avx512_vnni()) isa = SL_ISA_AVX512VNNI;
    // SWIFTLM_ISA caps the level (never raises it): A/B runs and bug reports can pin the kernels a
    // faster CPU would otherwise pick. Unknown values are ignored.
    const char *cap = getenv("SWIFTLM_ISA");
    if (cap) {
        int limit = -1;
        if (!strcmp(cap, "scalar")) limit = 0;
        else if (!strcmp(cap, "avx2")) limit = SL_ISA_AVX2;
        else if (!strcmp(cap, "avx512vnni")) limit = SL_ISA_AVX512VNNI;
        if (limit >= 0 && limit < isa) isa = limit;
    }
    return isa;
}

int sl_best_isa(void) {
    static int cached = -1;  // benign race: every thread computes the same value
    int isa = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (isa < 0) {
        isa = detect_isa();
        __atomic_store_n(&cached, isa, __ATOMIC_RELAXED);
    }
    return isa;
}

int sl_activation_type(int wtype) {
    switch (wtype) {
    case SL_F32: case SL_F16: case SL_BF16: return SL_F32;
    case SL_Q4_0: case SL_Q5_0: case SL_Q8_0: return SL_Q8_0;
    case SL_Q4_1: case SL_Q5_1: return SL_Q8_1;
    case SL_Q2_K: case SL_Q3_K: case SL_Q4_K: case SL_Q5_K: case SL_Q6_K: return SL_Q8_K;
    default: return -1;
    }
}

/// Block geometry of the activation formats: elements and bytes per block.
static void act_geometry(int atype, int64_t *elems, size_t *bytes) {
    switch (atype) {
    case SL_Q8_0: *elems = SL_QK; *bytes = sizeof(sl_block_q8_0); break;
    case SL_Q8_1: *elems = SL_QK; *bytes = sizeof(sl_block_q8_1); break;
    case SL_Q8_K: *elems = SL_QK_K; *bytes = sizeof(sl_block_q8_K); break;
    default: *elems = 1; *bytes = sizeof(float); break;
    }
}

static size_t weight_row_bytes(int wtype, int64_t cols) {
    switch (wtype) {
    case SL_F32: return (size_t)cols * 4;
    case SL_F16: case SL_BF16: return (size_t)cols * 2;
    case SL_Q4_0: return (size_t)(cols / SL_QK) * sizeof(sl_block_q4_0);
    case SL_Q4_1: return (size_t)(cols / SL_QK) * sizeof(sl_block_q4_1);
    case SL_Q5_0: return (size_t)(cols / SL_QK) * sizeof(sl_block_q5_0);
    case SL_Q5_1: return (size_t)(cols / SL_QK) * sizeof(sl_block_q5_1);
    case SL_Q8_0: return (size_t)(cols / SL_QK) * sizeof(sl_block_q8_0);
    case SL_Q2_K: return (size_t)(cols / SL_QK_K) * sizeof(sl_block_q2_K);
    case SL_Q3_K: return (size_t)(cols / SL_QK_K) * sizeof(sl_block_q3_K);
    case SL_Q4_K: return (size_t)(cols / SL_QK_K) * sizeof(sl_block_q4_K);
    case SL_Q5_K: return (size_t)(cols / SL_QK_K) * sizeof(sl_block_q5_K);
    case SL_Q6_K: return (size_t)(cols / SL_QK_K) * sizeof(sl_block_q6_K);
    default: return 0;
    }
}

static sl_dot_fn dot_for(int isa, int wtype) {
    switch (isa) {
    case SL_ISA_AVX512VNNI: return sl_best_isa() >= SL_ISA_AVX512VNNI ? sl_dot_vnni(wtype) : NULL;
    case SL_ISA_AVX2: return sl_best_isa() >= SL_ISA_AVX2 ? sl_dot_avx2(wtype) : NULL;
    default: return NULL;
    }
}

int sl_isa_supports(int isa, int wtype) { return dot_for(isa, wtype) != NULL; }

int sl_quantize_activations(int isa, int atype, const float *x, void *dst, int64_t n) {
    if (isa < SL_ISA_AVX2 || sl_best_isa() < SL_ISA_AVX2) return -1;
    sl_quant_fn q = sl_quant_avx2(atype);
    if (!q) return -1;
    q(x, dst, n);
    return 0;
}

int sl_vec_dot(int isa, int wtype, int64_t n, const void *w, const void *a, size_t a_stride, int nrows_a, float *out) {
    sl_dot_fn dot = dot_for(isa, wtype);
    if (!dot) return -1;
    for (int j = 0; j < nrows_a; j += SL_MAX_NB) {
        const int nb = nrows_a - j < SL_MAX_NB ? nrows_a - j : SL_MAX_NB;
        dot(n, w, (const char *)a + (size_t)j * a_stride, a_stride, nb, out + j);
    }
    return 0;
}

int sl_dequantize(int isa, int wtype, const void *src, float *dst, int64_t n) {
    if (isa < SL_ISA_AVX2 || sl_best_isa() < SL_ISA_AVX2) return -1;
    sl_dequant_fn f = sl_dequant_avx2(wtype);
    if (!f) return -1;
    f(src, dst, n);
    return 0;
}

typedef struct {
    sl_dot_fn dot;
    sl_quant_fn quant;
    const char *w;
    size_t w_row;
    int64_t rows, cols, batch;
    const float *x;
    char *a;
    size_t a_row;
    float *y;
    int64_t rows_per_task;
    int64_t batch_per_task;  // activation rows quantized per task
    sl_gemm_fn gemm;         // tile kernel for batch > 1, or NULL for the per-row kernels
    int atype;
    int64_t nblocks;         // activation blocks per row
    float *meta;             // sl_gemm_meta of every activation row (gemm), or sl_mv_meta (mv)
    sl_mv_fn mv;             // batch-1 kernel over a band of rows, or NULL
} mm_job;

/// One task of the mat-vec path: a contiguous band of rows.
static void mv_task(void *ctx, int64_t t) {
    const mm_job *j = ctx;
    const int64_t r0 = t * j->rows_per_task;
    const int64_t r1 = r0 + j->rows_per_task < j->rows ? r0 + j->rows_per_task : j->rows;
    j->mv(j->cols, j->w + (size_t)r0 * j->w_row, j->w_row, r1 - r0, j->a, j->meta, j->y + r0);
}

static void quant_task(void *ctx, int64_t t) {
    const mm_job *j = ctx;
    const int64_t b0 = t * j->batch_per_task;
    const int64_t b1 = b0 + j->batch_per_task < j->batch ? b0 + j->batch_per_task : j->batch;
    for (int64_t b = b0; b < b1; b++) j->quant(j->x + b * j->cols, j->a + (size_t)b * j->a_row, j->cols);
    if (j->gemm && j->atype != SL_Q8_K) {
        // The task holding the last row also fills the padding rows of the last group of 4.
        const int64_t end = b1 == j->batch ? (j->batch + 3) / 4 * 4 : b1;
        sl_gemm_meta_rows_vnni(j->atype, j->a, j->a_row, j->nblocks, b0, end, j->batch, j->meta);
    }
}

/// One task of the GEMM path: a band of weight rows against the whole batch, in tiles of 4 rows x 8
/// activation rows. The band (16 rows, ~10 KB) stays in L1 while activation tiles stream from L2.
static void tiles_task(void *ctx, int64_t t) {
    const mm_job *j = ctx;
    const int64_t r0 = t * j->rows_per_task;
    const int64_t r1 = r0 + j->rows_per_task < j->rows ? r0 + j->rows_per_task : j->rows;
    for (int64_t b = 0; b < j->batch; b += SL_GEMM_B) {
        const int nbv = j->batch - b < SL_GEMM_B ? (int)(j->batch - b) : SL_GEMM_B;
        const char *a = j->a + (size_t)b * j->a_row;
        const float *meta = j->meta + (b / 4) * j->nblocks * 12;
        for (int64_t r = r0; r < r1; r += 4) {
            const int nr = r1 - r < 4 ? (int)(r1 - r) : 4;
            j->gemm(j->cols, j->w + (size_t)r * j->w_row, j->w_row, nr, a, j->a_row, nbv, meta, j->y + b * j->rows + r,
                    j->rows);
        }
    }
}

/// One task: a band of weight rows against every activation row. The band (a few KB of weights)
/// stays in L1 while the batch streams past it in tiles of SL_MAX_NB rows.
static void rows_task(void *ctx, int64_t t) {
    const mm_job *j = ctx;
    const int64_t r0 = t * j->rows_per_task;
    const int64_t r1 = r0 + j->rows_per_task < j->rows ? r0 + j->rows_per_task : j->rows;
    float out[SL_MAX_NB];
    for (int64_t b = 0; b < j->batch; b += SL_MAX_NB) {
        const int nb = j->batch - b < SL_MAX_NB ? (int)(j->batch - b) : SL_MAX_NB;
        const char *a = j->a + (size_t)b * j->a_row;
        for (int64_t r = r0; r < r1; r++) {
            j->dot(j->cols, j->w + (size_t)r * j->w_row, a, j->a_row, nb, out);
            for (int k = 0; k < nb; k++) j->y[(b + k) * j->rows + r] = out[k];
        }
    }
}

int sl_matmul(sl_pool *pool, int isa, int wtype, const void *w, int64_t rows, int64_t cols,
              const float *x, int64_t batch, float *y, int batched) {
    sl_dot_fn dot = dot_for(isa, wtype);
    const int atype = sl_activation_type(wtype);
    sl_quant_fn quant = sl_quant_avx2(atype);
    if (!dot || !quant) return -1;
    if (rows <= 0 || batch <= 0) return 0;
    int64_t elems;
    size_t ablock;
    act_geometry(atype, &elems, &ablock);
    mm_job job = {
        .dot = dot, .quant = quant, .w = w, .w_row = weight_row_bytes(wtype, cols), .rows = rows, .cols = cols,
        .batch = batch, .x = x, .a_row = (size_t)(cols / elems) * ablock, .y = y,
    };
    const int nested = sl_pool_nested();
    if (!nested) sl_pool_lock(pool);
    const int threads = sl_pool_threads(pool);
    job.atype = atype;
    job.nblocks = cols / elems;
    if (isa == SL_ISA_AVX512VNNI && (batch >= 2 || batched)) job.gemm = sl_gemm_vnni(wtype);
    if (isa == SL_ISA_AVX512VNNI && batch == 1 && !job.gemm) job.mv = sl_mv_vnni(wtype);
    const size_t a_bytes = (job.a_row * (size_t)batch + 63) / 64 * 64;
    size_t meta_bytes = job.gemm && atype != SL_Q8_K ? (size_t)((batch + 3) / 4) * (size_t)job.nblocks * 12 * sizeof(float) : 0;
    if (job.mv) meta_bytes = (size_t)(job.nblocks + 3) / 4 * 4 * 3 * sizeof(float);
    if (atype == SL_F32) {
        job.a = (char *)x;  // float weights read the activations in place
    } else {
        const size_t need = a_bytes + meta_bytes;
        job.a = nested ? sl_thread_scratch(need) : sl_pool_scratch(pool, need);
        if (!job.a) {
            if (!nested) sl_pool_unlock(pool);
            return -1;
        }
        job.meta = (float *)(job.a + a_bytes);
    }
    if (atype != SL_F32 && batch >= 2 * threads) {
        job.batch_per_task = (batch + 4 * threads - 1) / (4 * threads);
        sl_pool_run_locked(pool, (batch + job.batch_per_task - 1) / job.batch_per_task, quant_task, &job);
    } else if (atype != SL_F32) {
        job.batch_per_task = batch;
        quant_task(&job, 0);
    }
    // Enough tasks to balance 2+ threads (and stragglers on a shared machine), few enough that
    // claiming one costs nothing next to its work.
    int64_t tasks = (int64_t)threads * 8;
    if (tasks > rows) tasks = rows;
    job.rows_per_task = (rows + tasks - 1) / tasks;
    if (batch > 1 && job.rows_per_task > 16) job.rows_per_task = 16;
    if (job.mv) {
        sl_mv_meta_vnni(atype, job.a, job.nblocks, job.meta);
        sl_pool_run_locked(pool, (rows + job.rows_per_task - 1) / job.rows_per_task, mv_task, &job);
        if (!nested) sl_pool_unlock(pool);
        return 0;
    }
    if (job.gemm) {
        job.rows_per_task = rows < 16 ? rows : 16;  // whole 4-row tiles but for the last band
        sl_pool_run_locked(pool, (rows + job.rows_per_task - 1) / job.rows_per_task, tiles_task, &job);
        if (!nested) sl_pool_unlock(pool);
        return 0;
    }
    sl_pool_run_locked(pool, (rows + job.rows_per_task - 1) / job.rows_per_task, rows_task, &job);
    if (!nested) sl_pool_unlock(pool);
    return 0;
}
