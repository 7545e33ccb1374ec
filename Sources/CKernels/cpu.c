#include "CKernels.h"

#if defined(__x86_64__)
int swiftlm_cpu_has_avx2(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
int swiftlm_cpu_has_avx512_vnni(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}
int swiftlm_cpu_has_avx512_bf16(void) { return __builtin_cpu_supports("avx512bf16"); }
#else
int swiftlm_cpu_has_avx2(void) { return 0; }
int swiftlm_cpu_has_avx512_vnni(void) { return 0; }
int swiftlm_cpu_has_avx512_bf16(void) { return 0; }
#endif
