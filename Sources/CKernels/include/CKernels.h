#ifndef SWIFTLM_CKERNELS_H
#define SWIFTLM_CKERNELS_H
// Innermost SIMD loops, the thread pool they run on, and ggml's quant block layouts.
// The Swift side (Sources/Kernels) validates arguments and holds the scalar references.
#include <stdint.h>
#include <stddef.h>
#include "ops.h" // float vector ops of the forward pass (Models engineer)
#include "kv.h"  // attention over f32 / f16 / q8_0 KV cache rows (KV cache types, issue 9)
#include "select.h" // argmax over a row of logits (greedy sampling, batch engine)

/// CPU feature bits detected at run time.
int swiftlm_cpu_has_avx2(void);
int swiftlm_cpu_has_avx512_vnni(void);
int swiftlm_cpu_has_avx512_bf16(void);

// ---------------------------------------------------------------------------------------------
// Quant blocks, byte for byte as ggml/src/ggml-common.h lays them out (fp16 fields kept as raw
// uint16_t bits). QK = 32 for the legacy quants, QK_K = 256 for the k-quants.
// ---------------------------------------------------------------------------------------------
#define SL_QK 32
#define SL_QK_K 256
#define SL_K_SCALE_SIZE 12

typedef struct { uint16_t d; uint8_t qs[SL_QK / 2]; } sl_block_q4_0;
typedef struct { uint16_t d; uint16_t m; uint8_t qs[SL_QK / 2]; } sl_block_q4_1;
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[SL_QK / 2]; } sl_block_q5_0;
typedef struct { uint16_t d; uint16_t m; uint8_t qh[4]; uint8_t qs[SL_QK / 2]; } sl_block_q5_1;
typedef struct { uint16_t d; int8_t qs[SL_QK]; } sl_block_q8_0;
typedef struct { uint16_t d; uint16_t s; int8_t qs[SL_QK]; } sl_block_q8_1;
typedef struct { uint8_t scales[SL_QK_K / 16]; uint8_t qs[SL_QK_K / 4]; uint16_t d; uint16_t dmin; } sl_block_q2_K;
typedef struct { uint8_t hmask[SL_QK_K / 8]; uint8_t qs[SL_QK_K / 4]; uint8_t scales[12]; uint16_t d; } sl_block_q3_K;
typedef struct { uint16_t d; uint16_t dmin; uint8_t scales[SL_K_SCALE_SIZE]; uint8_t qs[SL_QK_K / 2]; } sl_block_q4_K;
typedef struct {
    uint16_t d; uint16_t dmin; uint8_t scales[SL_K_SCALE_SIZE]; uint8_t qh[SL_QK_K / 8]; uint8_t qs[SL_QK_K / 2];
} sl_block_q5_K;
typedef struct { uint8_t ql[SL_QK_K / 2]; uint8_t qh[SL_QK_K / 4]; int8_t scales[SL_QK_K / 16]; uint16_t d; } sl_block_q6_K;
typedef struct { float d; int8_t qs[SL_QK_K]; int16_t bsums[SL_QK_K / 16]; } sl_block_q8_K;

/// One 32-element block of 8 Q5_0 rows, interleaved for the GEMM (see repack.c): the same bytes as
/// 8 sl_block_q5_0, permuted.
typedef struct { uint16_t d[8]; uint32_t qh[8]; uint8_t qs[4][32]; } sl_block_q5_0x8;
/// The same for Q4_1: the 8 rows' scales and mins, then the codes as in sl_block_q5_0x8.
typedef struct { uint16_t d[8]; uint16_t m[8]; uint8_t qs[4][32]; } sl_block_q4_1x8;
/// The same for Q8_0: the 8 rows' scales, then qs[c] (lane l: bytes 4c..4c+3 of row l's codes), c < 8.
typedef struct { uint16_t d[8]; int8_t qs[8][32]; } sl_block_q8_0x8;
/// One 256-element superblock of 8 Q4_K rows: the 8 rows' d and dmin, their 12 scale bytes as three
/// 32-bit words (word w of row l at scales[w][l]), then the codes: qs[c][v] holds, in lane l, bytes
/// 32c + 4v .. 32c + 4v + 3 of row l's qs (low nibbles: sub-block 2c, high nibbles: sub-block 2c + 1).
typedef struct { uint16_t d[8]; uint16_t dmin[8]; uint32_t scales[3][8]; uint8_t qs[4][8][32]; } sl_block_q4_Kx8;
/// One 256-element superblock of 8 Q6_K rows: d[8], the 16 group scales (scales[g][l] of row l), then
/// ql[h][b][v] (lane l: bytes 64h + 32b + 4v .. + 3 of row l's ql) and qh[h][v] (lane l: bytes
/// 32h + 4v .. + 3 of row l's qh).
typedef struct { uint16_t d[8]; int8_t scales[16][8]; uint8_t ql[2][2][8][32]; uint8_t qh[2][8][32]; } sl_block_q6_Kx8;

// ggml type ids (GGUF tensor-info values) the C side understands.
enum {
    SL_F32 = 0, SL_F16 = 1, SL_Q4_0 = 2, SL_Q4_1 = 3, SL_Q5_0 = 6, SL_Q5_1 = 7, SL_Q8_0 = 8, SL_Q8_1 = 9,
    SL_Q2_K = 10, SL_Q3_K = 11, SL_Q4_K = 12, SL_Q5_K = 13, SL_Q6_K = 14, SL_Q8_K = 15, SL_BF16 = 30,
};

/// Instruction-set levels a kernel can be asked to use.
enum { SL_ISA_AVX2 = 1, SL_ISA_AVX512VNNI = 2 };

/// Best level this CPU supports (0 when neither fast path can run), capped by the environment
/// variable SWIFTLM_ISA=scalar|avx2|avx512vnni|avx512bf16 when set (read once).
int sl_best_isa(void);

/// 1 when attention over an f16 KV cache runs its products on bf16 pairs (VDPBF16PS): the CPU is at the
/// AVX-512 VNNI level and has AVX512_BF16, and SWIFTLM_ISA, if set, is avx512bf16 (avx512vnni keeps f32
/// arithmetic on AVX-512). Read once.
int sl_attention_bf16(void);

/// Activation format (a type id above) the fast kernels pair with `wtype`, or -1 if unknown.
int sl_activation_type(int wtype);

/// 1 when `isa` has a kernel for weights of type `wtype`.
int sl_isa_supports(int isa, int wtype);

/// Quantizes `n` floats (a multiple of the block size) into activation blocks of type `atype`
/// (SL_Q8_0, SL_Q8_1, SL_Q8_K; SL_F32 copies). Returns 0, or -1 for an unknown type.
int sl_quantize_activations(int isa, int atype, const float *x, void *dst, int64_t n);

/// out[j] = dot(weight row `w`, activation row j) for j < nrows_a, over n elements. Activation rows
/// are `a_stride` bytes apart and already in `sl_activation_type(wtype)`. Returns 0, or -1 when
/// `isa` has no kernel for `wtype`.
int sl_vec_dot(int isa, int wtype, int64_t n, const void *w, const void *a, size_t a_stride, int nrows_a, float *out);

/// Dequantizes `n` elements of type `wtype` at `src` into floats. Returns 0, or -1 when unsupported.
int sl_dequantize(int isa, int wtype, const void *src, float *dst, int64_t n);

// ---------------------------------------------------------------------------------------------
// Thread pool: persistent workers that spin briefly then park, so a call costs microseconds.
// ---------------------------------------------------------------------------------------------
typedef struct sl_pool sl_pool;
typedef void (*sl_task_fn)(void *ctx, int64_t index);

sl_pool *sl_pool_create(int threads);
void sl_pool_destroy(sl_pool *pool);
int sl_pool_threads(const sl_pool *pool);
/// Runs fn(ctx, i) for every i in [0, count) across the pool (caller included); returns when all are done.
/// Calls from inside a task run inline on the calling thread.
void sl_pool_run(sl_pool *pool, int64_t count, sl_task_fn fn, void *ctx);

/// y[b*rows + r] = dot(W row r, x row b) for every r < rows, b < batch, with the weight in `wtype`
/// (`w` holds rows x cols row-major). Quantizes x into the pool's scratch, then splits rows
/// across the pool. On both levels, legacy quants (Q8_0 only with AVX-512 VNNI) and Q4_K take int8
/// GEMM tiles (4 weight rows x 8 activation rows) when batch > 1, and legacy quants a 4-block-folding
/// mat-vec at batch 1; everything else tiles batch rows over the per-row kernels.
/// `batched` != 0 keeps the GEMM tiles even at batch 1: a row's result then never depends on how
/// many rows share the call (prompt evaluation uses it so output is the same whatever the batch size).
/// Returns 0, or -1 when `isa` has no kernel for `wtype` (nothing is written).
int sl_matmul(sl_pool *pool, int isa, int wtype, const void *w, int64_t rows, int64_t cols,
              const float *x, int64_t batch, float *y, int batched);


// ---------------------------------------------------------------------------------------------
// Interleaved (packed) weights: 8 rows per block group, made once per matrix on first use.
// ---------------------------------------------------------------------------------------------

/// Bytes of the packed layout of a rows x cols matrix of `wtype`, or 0 when there is none (types
/// other than Q5_0, Q4_1, Q8_0, Q4_K and Q6_K so far, or rows not a multiple of 8).
size_t sl_packed_size(int wtype, int64_t rows, int64_t cols);
/// Writes the packed layout of `src` (ggml's layout) to `dst`. Returns 0, or -1 when there is none.
int sl_pack(int wtype, const void *src, int64_t rows, int64_t cols, void *dst);
/// The inverse of sl_pack. Returns 0, or -1 when there is no packed layout.
int sl_unpack(int wtype, const void *packed, int64_t rows, int64_t cols, void *dst);

/// A matrix's packed copy, made by the first caller that asks (thread-safe) and kept until destroyed.
typedef struct sl_packed_cache sl_packed_cache;
sl_packed_cache *sl_packed_cache_create(void);
void sl_packed_cache_destroy(sl_packed_cache *cache);
/// The packed copy of `src` (rows x cols of `wtype`), packing it on the first call; NULL when the type
/// has no packed layout or memory ran out (use `src` then). Once packed, the pages of `src` are
/// released where the OS allows (Linux MADV_PAGEOUT): a file-mapped tensor is not resident twice.
const void *sl_packed_cache_get(sl_packed_cache *cache, int wtype, const void *src, int64_t rows, int64_t cols);

/// sl_matmul with the weight in its packed layout (`packed` from sl_pack / sl_packed_cache_get). Every
/// batch size, 1 included, takes the same kernel, so results never depend on the batch.
/// Returns 0, or -1 when `isa` has no packed kernel for `wtype` (nothing is written).
int sl_matmul_packed(sl_pool *pool, int isa, int wtype, const void *packed, int64_t rows, int64_t cols,
                     const float *x, int64_t batch, float *y);

/// One matrix of sl_matmul_group: `w` in ggml's layout, or in the packed one when `packed` != 0 (then it
/// runs as sl_matmul_packed would); the result goes to `y` ([batch x rows]).
typedef struct {
    int wtype;
    int packed;
    const void *w;
    int64_t rows;
    float *y;
} sl_matmul_item;

#define SL_MATMUL_GROUP_MAX 4

/// Up to SL_MATMUL_GROUP_MAX matmuls of the same input x ([batch x cols]), each as sl_matmul /
/// sl_matmul_packed would compute it (same kernels, same values), with the activations quantized once
/// and every matrix's row bands in one pool run: Q/K/V, or gate and up, cost one hand-off to the
/// workers instead of one each. Returns 0, or -1 when a matrix has no kernel on `isa` or the matrices
/// read different activation formats (nothing is written then).
int sl_matmul_group(sl_pool *pool, int isa, int count, const sl_matmul_item *items, int64_t cols, const float *x,
                    int64_t batch, int batched);

#endif
