#ifndef SWIFTLM_CKERNELS_H
#define SWIFTLM_CKERNELS_H
// Innermost SIMD loops. Filled in by the Kernels work; see Sources/Kernels for the Swift side.
#include <stdint.h>
#include <stddef.h>

/// CPU feature bits detected at run time.
int swiftlm_cpu_has_avx2(void);
int swiftlm_cpu_has_avx512_vnni(void);

#endif
