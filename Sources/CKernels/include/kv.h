#ifndef SWIFTLM_KV_H
#define SWIFTLM_KV_H
// Attention over a KV cache stored as f32, f16 or q8_0 (type ids SL_F32 = 0, SL_F16 = 1, SL_Q8_0 = 8):
// rows are converted on the fly inside the dot products and the weighted sums, so the cache is never
// widened to f32 in memory. AVX-512 (f16 rows on bf16 products where sl_attention_bf16()), AVX2 + FMA + F16C,
// or portable C, as the CPU allows.
// Sources/Kernels/KVRows.swift wraps these and holds the scalar Swift references the tests compare against.
#include <stddef.h>
#include <stdint.h>

/// Bytes of one row of `n` elements of `type`, or 0 when `type` cannot store such a row
/// (q8_0 needs n to be a multiple of 32; unknown types).
size_t sl_kv_row_size(int type, int64_t n);

/// Stores `n` floats as one row of `type` at `dst`. q8_0 rounds as ggml's x86 `quantize_row_q8_0`
/// (what llama.cpp's set_rows uses for its K/V cache): per 32 values d = amax / 127 stored as fp16,
/// q = round-half-even(x * (127 / amax)).
void sl_kv_store(int type, const float *x, void *dst, int64_t n);

/// out[j] = scale * dot(q, row j) for j < count; rows of `n` elements of `type`, `stride` bytes apart.
/// For f16 rows where sl_attention_bf16() is 1, the products are of q and k rounded to bf16 (VDPBF16PS),
/// summed in f32 in one fixed order (KVRowsReference.bf16Dots in Sources/Kernels/KVRows.swift).
void sl_kv_dots(int type, const float *q, const void *rows, size_t stride, int64_t count, int64_t n,
                float scale, float *out);

/// o[i] += sum over j < count, in order, of p[j] * row_j[i], for i < n (rows as in sl_kv_dots). f16 rows take
/// bf16 products where sl_attention_bf16() is on: p[j] and row_j[i] rounded to bf16, one fma chain per i over
/// the rows in order (KVRowsReference.accumulateBF16), so splitting a range into calls changes no bit.
void sl_kv_accumulate(int type, float *o, const float *p, const void *rows, size_t stride, int64_t count,
                      int64_t n);

/// sl_kv_dots for a block of `m` queries over the same rows: out[r][off + j] = scale * dot(q[r], row j) for
/// r < m, j < count. Each rows is read (and converted) once per block; every value is bit-identical to
/// what sl_kv_dots gives for that query and row.
void sl_kv_dots_block(int type, int64_t m, const float *const *q, const void *rows, size_t stride, int64_t count,
                      int64_t n, float scale, float *const *out, int64_t off);

/// sl_kv_accumulate for a block of `m` outputs over the same rows: o[r][i] += sum over j < count, in order,
/// of p[r][off + j] * row_j[i]. Bit-identical to sl_kv_accumulate(o[r], p[r] + off, ...) for each r.
void sl_kv_accumulate_block(int type, int64_t m, float *const *o, const float *const *p, int64_t off, const void *rows,
                            size_t stride, int64_t count, int64_t n);

#endif
