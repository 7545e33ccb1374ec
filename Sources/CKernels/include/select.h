#ifndef SWIFTLM_SELECT_H
#define SWIFTLM_SELECT_H
// Selection over a row of logits (greedy sampling): AVX2 when the CPU has it, plain C otherwise.
// Sources/Kernels/Select.swift wraps it and holds the scalar Swift reference the tests compare against.
#include <stdint.h>

/// The first index of the largest value of x[0..<n], NaNs ignored; 0 when no value exceeds -infinity
/// (the result of `for i: if x[i] > best { best = x[i]; arg = i }` from best = -inf, arg = 0).
int64_t sl_argmax(const float *x, int64_t n);

#endif
