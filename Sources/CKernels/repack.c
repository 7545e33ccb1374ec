// Interleaved ("repacked") weight layouts for the GEMM: 8 weight rows per block group, laid out so
// that one 256-bit vector holds the same 4 elements of all 8 rows (one 32-bit lane per row). A
// vpdpbusd against 4 activation bytes broadcast to every lane then yields 8 outputs at once, with no
// horizontal adds (the plain-layout tiles fold with vphaddd). Same bytes as ggml's layout, only
// permuted, so a packed copy costs exactly the tensor's size.
//
// sl_block_q5_0x8, per group of 8 rows and per 32-element block i:
//   d[8]      the 8 rows' F16 scales, row order
//   qh[8]     for chunk k (elements 4k..4k+3 of every row): bit 4l + e = fifth bit of element 4k + e of row l
//   qs[4][32] vector c: lane l = bytes 4c..4c+3 of row l's qs (low nibbles: elements 4c..4c+3, high
//             nibbles: elements 16 + 4c..16 + 4c + 3, as ggml packs them)
// sl_block_q4_1x8: d[8], m[8] (F16, row order), then qs as above (Q4_1 has no fifth bit).
// Groups follow each other, each holding its blocks in order: group g starts at 8 * g * row bytes.
#include "internal.h"
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

_Static_assert(sizeof(sl_block_q5_0x8) == 8 * sizeof(sl_block_q5_0), "a packed group is 8 blocks, permuted");
_Static_assert(sizeof(sl_block_q4_1x8) == 8 * sizeof(sl_block_q4_1), "a packed group is 8 blocks, permuted");

size_t sl_packed_size(int wtype, int64_t rows, int64_t cols) {
    if (rows <= 0 || rows % 8 != 0 || cols <= 0 || cols % SL_QK != 0) return 0;
    const size_t blocks = (size_t)rows * (size_t)(cols / SL_QK);
    switch (wtype) {
    case SL_Q5_0: return blocks * sizeof(sl_block_q5_0);
    case SL_Q4_1: return blocks * sizeof(sl_block_q4_1);
    default: return 0;
    }
}

static void pack_q4_1(const sl_block_q4_1 *w, int64_t rows, int64_t nb, sl_block_q4_1x8 *out) {
    for (int64_t g = 0; g < rows / 8; g++) {
        for (int64_t i = 0; i < nb; i++) {
            sl_block_q4_1x8 *o = out + g * nb + i;
            for (int l = 0; l < 8; l++) {
                const sl_block_q4_1 *x = w + (g * 8 + l) * nb + i;
                o->d[l] = x->d;
                o->m[l] = x->m;
                for (int c = 0; c < 4; c++) memcpy(o->qs[c] + 4 * l, x->qs + 4 * c, 4);
            }
        }
    }
}

static void unpack_q4_1(const sl_block_q4_1x8 *in, int64_t rows, int64_t nb, sl_block_q4_1 *w) {
    for (int64_t g = 0; g < rows / 8; g++) {
        for (int64_t i = 0; i < nb; i++) {
            const sl_block_q4_1x8 *o = in + g * nb + i;
            for (int l = 0; l < 8; l++) {
                sl_block_q4_1 *x = w + (g * 8 + l) * nb + i;
                x->d = o->d[l];
                x->m = o->m[l];
                for (int c = 0; c < 4; c++) memcpy(x->qs + 4 * c, o->qs[c] + 4 * l, 4);
            }
        }
    }
}

int sl_pack(int wtype, const void *src, int64_t rows, int64_t cols, void *dst) {
    if (!sl_packed_size(wtype, rows, cols)) return -1;
    const int64_t nb = cols / SL_QK;
    if (wtype == SL_Q4_1) {
        pack_q4_1(src, rows, nb, dst);
        return 0;
    }
    const sl_block_q5_0 *w = src;
    sl_block_q5_0x8 *out = dst;
    for (int64_t g = 0; g < rows / 8; g++) {
        for (int64_t i = 0; i < nb; i++) {
            sl_block_q5_0x8 *o = out + g * nb + i;
            uint32_t qh[8];
            for (int l = 0; l < 8; l++) {
                const sl_block_q5_0 *x = w + (g * 8 + l) * nb + i;
                o->d[l] = x->d;
                memcpy(&qh[l], x->qh, 4);
                for (int c = 0; c < 4; c++) memcpy(o->qs[c] + 4 * l, x->qs + 4 * c, 4);
            }
            for (int k = 0; k < 8; k++) {
                uint32_t m = 0;
                for (int l = 0; l < 8; l++) m |= ((qh[l] >> (4 * k)) & 0xFu) << (4 * l);
                o->qh[k] = m;
            }
        }
    }
    return 0;
}

int sl_unpack(int wtype, const void *packed, int64_t rows, int64_t cols, void *dst) {
    if (!sl_packed_size(wtype, rows, cols)) return -1;
    const int64_t nb = cols / SL_QK;
    if (wtype == SL_Q4_1) {
        unpack_q4_1(packed, rows, nb, dst);
        return 0;
    }
    const sl_block_q5_0x8 *in = packed;
    sl_block_q5_0 *w = dst;
    for (int64_t g = 0; g < rows / 8; g++) {
        for (int64_t i = 0; i < nb; i++) {
            const sl_block_q5_0x8 *o = in + g * nb + i;
            for (int l = 0; l < 8; l++) {
                sl_block_q5_0 *x = w + (g * 8 + l) * nb + i;
                x->d = o->d[l];
                uint32_t qh = 0;
                for (int k = 0; k < 8; k++) qh |= ((o->qh[k] >> (4 * l)) & 0xFu) << (4 * k);
                memcpy(x->qh, &qh, 4);
                for (int c = 0; c < 4; c++) memcpy(x->qs + 4 * c, o->qs[c] + 4 * l, 4);
            }
        }
    }
    return 0;
}

// ------------------------------------------------------------------------------ packed-at-first-use

struct sl_packed_cache {
    pthread_mutex_t lock;
    void *data;          // the packed copy once made (__atomic acquire / release)
    int failed;          // allocation failed: callers keep the plain layout (__atomic)
};

sl_packed_cache *sl_packed_cache_create(void) {
    sl_packed_cache *c = calloc(1, sizeof(sl_packed_cache));
    if (c) pthread_mutex_init(&c->lock, NULL);
    return c;
}

void sl_packed_cache_destroy(sl_packed_cache *c) {
    if (!c) return;
    free(__atomic_load_n(&c->data, __ATOMIC_ACQUIRE));
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/// Asks the kernel to drop the resident pages wholly inside [p, p + n): once packed, the plain copy of
/// a file-mapped tensor would otherwise count twice in RSS. MADV_PAGEOUT never loses data (anonymous
/// memory is swapped or left alone, clean file pages are re-read on a later touch), so it is safe
/// whatever memory the caller passed.
static void release_pages(const void *p, size_t n) {
#if defined(__linux__) && defined(MADV_PAGEOUT)
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uintptr_t start = ((uintptr_t)p + page - 1) / page * page, end = ((uintptr_t)p + n) / page * page;
    if (end > start) (void)madvise((void *)start, end - start, MADV_PAGEOUT);
#else
    (void)p; (void)n;
#endif
}

const void *sl_packed_cache_get(sl_packed_cache *c, int wtype, const void *src, int64_t rows, int64_t cols) {
    void *data = __atomic_load_n(&c->data, __ATOMIC_ACQUIRE);
    if (data || __atomic_load_n(&c->failed, __ATOMIC_RELAXED)) return data;
    const size_t bytes = sl_packed_size(wtype, rows, cols);
    if (!bytes) return NULL;
    pthread_mutex_lock(&c->lock);
    data = __atomic_load_n(&c->data, __ATOMIC_ACQUIRE);
    if (!data && !__atomic_load_n(&c->failed, __ATOMIC_RELAXED)) {
        if (posix_memalign(&data, 64, bytes) == 0 && sl_pack(wtype, src, rows, cols, data) == 0) {
            __atomic_store_n(&c->data, data, __ATOMIC_RELEASE);
            release_pages(src, bytes);
        } else {
            free(data);
            data = NULL;
            __atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return data;
}
