// Dispatch by CPU level and weight type, activation quantization into the pool's scratch, and the
// row-split, batch-tiled matrix product.
#include "internal.h"
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

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
        else if (!strcmp(cap, "avx512vnni") || !strcmp(cap, "avx512bf16")) limit = SL_ISA_AVX512VNNI;
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

int sl_attention_bf16(void) {
    static int cached = -1;  // benign race, as in sl_best_isa
    int on = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (on < 0) {
        const char *cap = getenv("SWIFTLM_ISA");
        on = sl_best_isa() >= SL_ISA_AVX512VNNI && swiftlm_cpu_has_avx512_bf16() && (!cap || !strcmp(cap, "avx512bf16"));
        __atomic_store_n(&cached, on, __ATOMIC_RELAXED);
    }
    return on;
}

/// Block geometry of every type the kernels know, and the activation format each weight type pairs
/// with (-1 for activation-only formats).
typedef struct {
    int64_t elems;  // elements per block
    size_t bytes;   // bytes per block
    int atype;
} type_info;

static const type_info types[SL_TYPE_COUNT] = {
    [SL_F32] = {1, sizeof(float), SL_F32},
    [SL_F16] = {1, sizeof(uint16_t), SL_F32},
    [SL_BF16] = {1, sizeof(uint16_t), SL_F32},
    [SL_Q4_0] = {SL_QK, sizeof(sl_block_q4_0), SL_Q8_0},
    [SL_Q4_1] = {SL_QK, sizeof(sl_block_q4_1), SL_Q8_1},
    [SL_Q5_0] = {SL_QK, sizeof(sl_block_q5_0), SL_Q8_0},
    [SL_Q5_1] = {SL_QK, sizeof(sl_block_q5_1), SL_Q8_1},
    [SL_Q8_0] = {SL_QK, sizeof(sl_block_q8_0), SL_Q8_0},
    [SL_Q8_1] = {SL_QK, sizeof(sl_block_q8_1), -1},
    [SL_Q2_K] = {SL_QK_K, sizeof(sl_block_q2_K), SL_Q8_K},
    [SL_Q3_K] = {SL_QK_K, sizeof(sl_block_q3_K), SL_Q8_K},
    [SL_Q4_K] = {SL_QK_K, sizeof(sl_block_q4_K), SL_Q8_K},
    [SL_Q5_K] = {SL_QK_K, sizeof(sl_block_q5_K), SL_Q8_K},
    [SL_Q6_K] = {SL_QK_K, sizeof(sl_block_q6_K), SL_Q8_K},
    [SL_Q8_K] = {SL_QK_K, sizeof(sl_block_q8_K), -1},
};

static const type_info *info(int type) {
    return type >= 0 && type < SL_TYPE_COUNT && types[type].elems > 0 ? &types[type] : NULL;
}

int sl_activation_type(int wtype) {
    const type_info *t = info(wtype);
    return t ? t->atype : -1;
}

/// Each level's traits, filled once on first use (SL_ISA_AVX2 and SL_ISA_AVX512VNNI index it).
static sl_isa_kernels kernel_tables[SL_ISA_AVX512VNNI + 1];
static pthread_once_t kernel_tables_once = PTHREAD_ONCE_INIT;

static void fill_kernel_tables(void) {
    const int best = sl_best_isa();
    if (best >= SL_ISA_AVX2) sl_fill_kernels_avx2(&kernel_tables[SL_ISA_AVX2]);
    if (best >= SL_ISA_AVX512VNNI) sl_fill_kernels_vnni(&kernel_tables[SL_ISA_AVX512VNNI]);
}

const sl_isa_kernels *sl_kernels(int isa) {
    if (isa < SL_ISA_AVX2 || isa > SL_ISA_AVX512VNNI || isa > sl_best_isa()) return NULL;
    pthread_once(&kernel_tables_once, fill_kernel_tables);
    return &kernel_tables[isa];
}

/// The traits of `wtype` at `isa` when that level has its per-row kernel (every path needs it), else NULL.
static const sl_type_kernels *kernels_for(int isa, int wtype) {
    const sl_isa_kernels *k = sl_kernels(isa);
    if (!k || !info(wtype)) return NULL;
    return k->type[wtype].dot ? &k->type[wtype] : NULL;
}

int sl_isa_supports(int isa, int wtype) { return kernels_for(isa, wtype) != NULL; }

int sl_quantize_activations(int isa, int atype, const float *x, void *dst, int64_t n) {
    const sl_isa_kernels *k = sl_kernels(isa);
    if (!k || atype < 0 || atype >= SL_TYPE_COUNT || !k->quant[atype]) return -1;
    k->quant[atype](x, dst, n);
    return 0;
}

int sl_vec_dot(int isa, int wtype, int64_t n, const void *w, const void *a, size_t a_stride, int nrows_a, float *out) {
    const sl_type_kernels *t = kernels_for(isa, wtype);
    if (!t) return -1;
    for (int j = 0; j < nrows_a; j += SL_MAX_NB) {
        const int nb = nrows_a - j < SL_MAX_NB ? nrows_a - j : SL_MAX_NB;
        t->dot(n, w, (const char *)a + (size_t)j * a_stride, a_stride, nb, out + j);
    }
    return 0;
}

int sl_dequantize(int isa, int wtype, const void *src, float *dst, int64_t n) {
    const sl_isa_kernels *k = sl_kernels(isa);
    if (!k || !info(wtype) || !k->type[wtype].dequant) return -1;
    k->type[wtype].dequant(src, dst, n);
    return 0;
}

/// Activations quantized by the caller alone up to this many elements (8 decode rows of a 4864-wide
/// FFN input: ~10 us). A pool round trip costs a few microseconds on an idle machine, and on a busy one
/// a worker preempted inside its one-row task stalls the whole matmul for a time slice; decoding a
/// batch of sequences makes one such round trip per matmul (169 per token on qwen2.5 0.5b) for nothing.
#define SL_QUANT_INLINE_ELEMS (1 << 16)

/// Most multiply-adds per GEMM task for a small batch (one activation tile, 2+ rows): ~10 us of tile
/// work, so a claim on the shared counter (~0.1 us) stays cheap beside it, and the thread that finishes
/// first waits for at most one short task. The output projection of a 150k vocabulary at 8 rows was
/// 16 tasks of ~1 ms each: a thread idle for up to 1 ms per token at the end, or for longer when the
/// other one was preempted in the middle of its band.
#define SL_GEMM_TASK_MACS (1 << 20)

/// Most weight bytes per task for one activation row (decoding): ~10 us of streaming from DRAM, so the
/// thread that finishes first waits at most that long for the other. The 49152-row output projection of
/// smollm2 (30 MB) was 16 tasks of ~150 us: one thread idle for up to a task's time per token, far longer
/// when the other was preempted inside its band. Claiming a task (~0.1 us) stays cheap next to it.
#define SL_MV_TASK_BYTES (256u << 10)

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
    float *meta;             // the GEMM side table of the batch (gemm), or the mat-vec one (mv)
    sl_mv_fn mv;             // batch-1 kernel over a band of rows, or NULL
    const sl_isa_kernels *kernels;
    int tile_rows;           // weight rows per gemm call: 4, or 16 for a packed layout (two 8-row groups)
    int fill_gemm_meta;      // quant_task also writes the GEMM side table into `meta`
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
    if (j->fill_gemm_meta) j->kernels->gemm_meta_rows(j->atype, j->a, j->a_row, j->nblocks, b0, b1, j->batch, j->meta);
}

/// One task of the GEMM path: a band of weight rows against the whole batch, in tiles of 4 (16 packed)
/// rows x 8 activation rows. The band (16 rows, ~10 KB) stays in L1 while activation tiles stream from L2.
static void tiles_task(void *ctx, int64_t t) {
    const mm_job *j = ctx;
    const int64_t r0 = t * j->rows_per_task;
    const int64_t r1 = r0 + j->rows_per_task < j->rows ? r0 + j->rows_per_task : j->rows;
    if (j->batch == 1) {
        // Decoding: the band's rows are contiguous and read once; the packed tiles prefetch SL_PF_AHEAD
        // bytes past the block they decode, so the band's first SL_PF_AHEAD bytes are prefetched here.
        const char *band = j->w + (size_t)r0 * j->w_row;
        const size_t bytes = (size_t)(r1 - r0) * j->w_row;
        for (size_t o = 0; o < bytes && o < SL_PF_AHEAD; o += 64) __builtin_prefetch(band + o, 0, 3);
    }
    for (int64_t b = 0; b < j->batch; b += SL_GEMM_B) {
        const int nbv = j->batch - b < SL_GEMM_B ? (int)(j->batch - b) : SL_GEMM_B;
        const char *a = j->a + (size_t)b * j->a_row;
        for (int64_t r = r0; r < r1; r += j->tile_rows) {
            const int nr = r1 - r < j->tile_rows ? (int)(r1 - r) : j->tile_rows;
            j->gemm(j->cols, j->w + (size_t)r * j->w_row, j->w_row, nr, a, j->a_row, nbv, j->meta, b, j->y + b * j->rows + r,
                    j->rows);
        }
    }
}

/// One task of the packed GEMM path past one activation tile: a band of weight rows (whole 16-row tiles
/// but for the last band) against the whole batch in one call per tile, so a tile decodes its weights
/// once for every activation row (gemm_packed_impl.inc) instead of once per SL_GEMM_B of them.
static void packed_tiles_task(void *ctx, int64_t t) {
    const mm_job *j = ctx;
    const int64_t r0 = t * j->rows_per_task;
    const int64_t r1 = r0 + j->rows_per_task < j->rows ? r0 + j->rows_per_task : j->rows;
    for (int64_t r = r0; r < r1; r += j->tile_rows) {
        const int nr = r1 - r < j->tile_rows ? (int)(r1 - r) : j->tile_rows;
        j->gemm(j->cols, j->w + (size_t)r * j->w_row, j->w_row, nr, j->a, j->a_row, (int)j->batch, j->meta, 0, j->y + r, j->rows);
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

/// Plans one matrix of a call: fills `job` but for its activation buffers (`a`, `meta`), and says which
/// task runs it over how many tasks. -1 when `isa` has no kernel for `wtype` (or no packed one).
static int mm_plan(mm_job *job, int isa, int wtype, const void *w, int64_t rows, int64_t cols, const float *x,
                   int64_t batch, float *y, int batched, int packed, int threads, sl_task_fn *fn, int64_t *ntasks) {
    const sl_type_kernels *kern = kernels_for(isa, wtype);
    if (!kern || (packed && (!kern->packed_gemm || !sl_packed_size(wtype, rows, cols)))) return -1;
    const sl_isa_kernels *kernels = sl_kernels(isa);
    const int atype = types[wtype].atype;
    sl_quant_fn quant = kernels->quant[atype];
    if (!quant) return -1;
    const type_info *ai = info(atype);
    *job = (mm_job){
        .dot = kern->dot, .quant = quant, .w = w, .w_row = (size_t)(cols / types[wtype].elems) * types[wtype].bytes,
        .rows = rows, .cols = cols, .batch = batch, .x = x, .a_row = (size_t)(cols / ai->elems) * ai->bytes, .y = y,
        .atype = atype, .nblocks = cols / ai->elems, .kernels = kernels, .tile_rows = packed ? 16 : 4,
    };
    if (batch >= 2 || batched) job->gemm = kern->gemm;
    if (packed) job->gemm = kern->packed_gemm;
    // The mat-vec kernels sum in another order than the per-row ones: never in batch-invariant mode.
    if (batch == 1 && !batched && !job->gemm) job->mv = kern->mv;
    // Enough tasks to balance 2+ threads (and stragglers on a shared machine), few enough that
    // claiming one costs nothing next to its work.
    int64_t tasks = (int64_t)threads * 8;
    if (tasks > rows) tasks = rows;
    if (tasks < 1) tasks = 1;
    job->rows_per_task = (rows + tasks - 1) / tasks;
    if (batch > 1 && job->rows_per_task > 16) job->rows_per_task = 16;
    *fn = rows_task;
    if (job->mv) {
        *fn = mv_task;
        const int64_t cap = (int64_t)(SL_MV_TASK_BYTES / job->w_row);
        if (job->rows_per_task > cap) job->rows_per_task = cap > 1 ? cap : 1;
    } else if (job->gemm) {
        job->rows_per_task = rows < 16 ? rows : 16;  // whole 4- or 16-row tiles but for the last band
        // One activation tile (decode, small batches): no activations to keep in L1 between bands, so
        // bands as wide as the balancing allows (whole 8-row groups); with 16 rows a 262144-row output
        // matrix would be 16384 claims on the shared counter per token.
        if (batch <= SL_GEMM_B) {
            int64_t wide = (rows + tasks - 1) / tasks;
            // Several rows per sequence (a batch of decoding sequences): cap each task's work instead,
            // whole 8-row groups, at least one. Which thread runs a band never changes its results.
            if (batch > 1) {
                const int64_t cap = SL_GEMM_TASK_MACS / (cols * batch) / 8 * 8;
                if (wide > cap) wide = cap > 8 ? cap : 8;
            } else {
                const int64_t cap = (int64_t)(SL_MV_TASK_BYTES / job->w_row) / 8 * 8;
                if (wide > cap) wide = cap > 8 ? cap : 8;
            }
            if (wide > job->rows_per_task) job->rows_per_task = (wide + 7) / 8 * 8;
        }
        *fn = packed && batch > SL_GEMM_B && batch <= INT32_MAX ? packed_tiles_task : tiles_task;
    }
    *ntasks = job->rows_per_task > 0 ? (rows + job->rows_per_task - 1) / job->rows_per_task : 0;
    return 0;
}

/// Quantizes the batch once into `a` (and the side tables the planned jobs need: `gemm_meta` for GEMM
/// tiles, `mv_meta` for mat-vec), on the pool when the batch is large. `job` is any planned job (they
/// share the activation type and width).
static void mm_quantize(sl_pool *pool, int threads, mm_job *job, float *gemm_meta, float *mv_meta) {
    if (job->atype == SL_F32) return;
    mm_job q = *job;
    q.fill_gemm_meta = gemm_meta != NULL;
    q.meta = gemm_meta;
    if (q.batch >= 2 * threads && q.batch * q.cols > SL_QUANT_INLINE_ELEMS) {
        q.batch_per_task = (q.batch + 4 * threads - 1) / (4 * threads);
        sl_pool_run_locked(pool, (q.batch + q.batch_per_task - 1) / q.batch_per_task, quant_task, &q);
    } else {
        q.batch_per_task = q.batch;
        quant_task(&q, 0);
    }
    if (mv_meta) job->kernels->mv_meta(job->atype, job->a, job->nblocks, mv_meta);
}

/// Runs `count` planned jobs (sharing x) on the pool: the activations quantized once, then one pool run
/// over every job's tasks, so a group of matmuls costs one hand-off to the workers instead of one each.
/// -1 when the scratch cannot be had (nothing is written).
typedef struct {
    mm_job *jobs;
    sl_task_fn *fns;
    int64_t *first;  // first[i]: the group's index of job i's first task; first[count] the total
    int count;
} mm_group;

static void group_task(void *ctx, int64_t t) {
    const mm_group *g = ctx;
    int i = 0;
    while (t >= g->first[i + 1]) i++;
    g->fns[i](&g->jobs[i], t - g->first[i]);
}

static int mm_run(sl_pool *pool, int threads, int nested, mm_job *jobs, sl_task_fn *fns, const int64_t *ntasks, int count) {
    mm_job *j0 = &jobs[0];
    int need_gemm = 0, need_mv = 0;
    for (int i = 0; i < count; i++) {
        if (jobs[i].gemm) need_gemm = 1;
        if (jobs[i].mv) need_mv = 1;
    }
    const size_t a_bytes = (j0->a_row * (size_t)j0->batch + 63) / 64 * 64;
    const size_t gemm_bytes = need_gemm ? (j0->kernels->gemm_meta_bytes(j0->atype, j0->batch, j0->nblocks) + 63) / 64 * 64 : 0;
    const size_t mv_bytes = need_mv ? j0->kernels->mv_meta_bytes(j0->nblocks) : 0;
    char *a = (char *)j0->x;  // float weights read the activations in place
    float *gemm_meta = NULL, *mv_meta = NULL;
    if (j0->atype != SL_F32) {
        a = nested ? sl_thread_scratch(a_bytes + gemm_bytes + mv_bytes) : sl_pool_scratch(pool, a_bytes + gemm_bytes + mv_bytes);
        if (!a) return -1;
        if (need_gemm) gemm_meta = (float *)(a + a_bytes);
        if (need_mv) mv_meta = (float *)(a + a_bytes + gemm_bytes);
    }
    for (int i = 0; i < count; i++) {
        jobs[i].a = a;
        jobs[i].meta = jobs[i].mv ? mv_meta : gemm_meta;
    }
    mm_quantize(pool, threads, j0, gemm_meta, mv_meta);
    if (count == 1) {
        sl_pool_run_locked(pool, ntasks[0], fns[0], j0);
        return 0;
    }
    int64_t first[SL_MATMUL_GROUP_MAX + 1];
    first[0] = 0;
    for (int i = 0; i < count; i++) first[i + 1] = first[i] + ntasks[i];
    mm_group g = {.jobs = jobs, .fns = fns, .first = first, .count = count};
    sl_pool_run_locked(pool, first[count], group_task, &g);
    return 0;
}

/// The driver of sl_matmul and sl_matmul_packed (packed: `w` is in the packed layout, and every batch
/// size takes kern->packed_gemm).
static int matmul(sl_pool *pool, int isa, int wtype, const void *w, int64_t rows, int64_t cols, const float *x,
                  int64_t batch, float *y, int batched, int packed) {
    mm_job job;
    sl_task_fn fn;
    int64_t ntasks;
    const int nested = sl_pool_nested();
    if (!nested) sl_pool_lock(pool);
    const int threads = sl_pool_threads(pool);
    int status = mm_plan(&job, isa, wtype, w, rows, cols, x, batch, y, batched, packed, threads, &fn, &ntasks);
    if (status == 0 && rows > 0 && batch > 0) status = mm_run(pool, threads, nested, &job, &fn, &ntasks, 1);
    if (!nested) sl_pool_unlock(pool);
    return status;
}

int sl_matmul(sl_pool *pool, int isa, int wtype, const void *w, int64_t rows, int64_t cols,
              const float *x, int64_t batch, float *y, int batched) {
    return matmul(pool, isa, wtype, w, rows, cols, x, batch, y, batched, 0);
}

int sl_matmul_packed(sl_pool *pool, int isa, int wtype, const void *packed, int64_t rows, int64_t cols,
                     const float *x, int64_t batch, float *y) {
    return matmul(pool, isa, wtype, packed, rows, cols, x, batch, y, 1, 1);
}

int sl_matmul_group(sl_pool *pool, int isa, int count, const sl_matmul_item *items, int64_t cols, const float *x,
                    int64_t batch, int batched) {
    if (count < 1 || count > SL_MATMUL_GROUP_MAX) return -1;
    mm_job jobs[SL_MATMUL_GROUP_MAX];
    sl_task_fn fns[SL_MATMUL_GROUP_MAX];
    int64_t ntasks[SL_MATMUL_GROUP_MAX];
    const int nested = sl_pool_nested();
    if (!nested) sl_pool_lock(pool);
    const int threads = sl_pool_threads(pool);
    int status = 0;
    for (int i = 0; i < count && status == 0; i++) {
        const sl_matmul_item *it = &items[i];
        status = mm_plan(&jobs[i], isa, it->wtype, it->w, it->rows, cols, x, batch, it->y, batched || it->packed, it->packed,
                         threads, &fns[i], &ntasks[i]);
        // One quantized batch serves the group only when every matrix reads the same activation format.
        if (status == 0 && jobs[i].atype != jobs[0].atype) status = -1;
        if (status == 0 && it->rows <= 0) status = -1;
    }
    if (status == 0 && batch > 0) status = mm_run(pool, threads, nested, jobs, fns, ntasks, count);
    if (!nested) sl_pool_unlock(pool);
    return status;
}
