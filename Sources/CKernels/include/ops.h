#ifndef SWIFTLM_OPS_H
#define SWIFTLM_OPS_H
// Float vector ops of the transformer forward pass (everything except the matmuls): AVX2 + FMA
// when the CPU has them, plain C otherwise. Sources/Kernels/Ops.swift wraps them and holds the
// scalar Swift references the tests compare against.
#include <stdint.h>

/// sum_i a[i] * b[i]
float sl_ops_dot(const float *a, const float *b, int64_t n);
/// y[i] += alpha * x[i]
void sl_ops_axpy(float *y, float alpha, const float *x, int64_t n);
/// y[i] = x[i] * scale
void sl_ops_scale(float *y, const float *x, float scale, int64_t n);
/// y[i] = x[i] / sqrt(mean(x^2) + eps) * w[i]; y may alias x.
void sl_ops_rmsnorm(float *y, const float *x, const float *w, float eps, int64_t n);
/// sl_ops_rmsnorm on each of `rows` consecutive rows of n floats, bit for bit; y may alias x.
void sl_ops_rmsnorm_rows(float *y, const float *x, const float *w, float eps, int64_t n, int64_t rows);
/// In-place softmax of x[0..<n] (max-subtracted). Returns nothing; n must be >= 1.
void sl_ops_softmax(float *x, int64_t n);
/// g[i] = silu(g[i]) * u[i]
void sl_ops_silu_mul(float *g, const float *u, int64_t n);
/// g[i] = gelu_tanh(g[i]) * u[i]  (the tanh approximation, as ggml_gelu)
void sl_ops_gelu_mul(float *g, const float *u, int64_t n);
/// Rotates the first `rot` dims of each of `heads` vectors of length `head_dim` at x, with
/// cos/sin tables of rot/2 entries. neox != 0 pairs (i, i + rot/2); otherwise (2i, 2i+1).
void sl_ops_rope(float *x, int64_t heads, int64_t head_dim, int64_t rot, const float *cos_t,
                 const float *sin_t, int neox);

#endif
