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
// sl_block_q8_0x8: d[8], then qs[8][32] (vector c: lane l = codes 4c..4c+3 of row l).
// sl_block_q4_Kx8 and sl_block_q6_Kx8 (256-element superblocks, see CKernels.h) follow the same rule:
// every 256-bit vector of codes holds the same 4 bytes of the 8 rows, one 32-bit lane per row, so each
// 4 activation bytes broadcast to the lanes meet 8 rows at once. Q4_K's packed 6-bit scales are kept
// as they are (decoded for 8 rows at once in vector registers); Q6_K's int8 scales are transposed so
// one 8-byte load gives a group's scale for the 8 rows.
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
_Static_assert(sizeof(sl_block_q8_0x8) == 8 * sizeof(sl_block_q8_0), "a packed group is 8 blocks, permuted");
_Static_assert(sizeof(sl_block_q4_Kx8) == 8 * sizeof(sl_block_q4_K), "a packed group is 8 blocks, permuted");
_Static_assert(sizeof(sl_block_q6_Kx8) == 8 * sizeof(sl_block_q6_K), "a packed group is 8 blocks, permuted");

size_t sl_packed_size(int wtype, int64_t rows, int64_t cols) {
    if (rows <= 0 || rows % 8 != 0 || cols <= 0) return 0;
    const int k_quant = wtype == SL_Q4_K || wtype == SL_Q6_K;
    if (cols % (k_quant ? SL_QK_K : SL_QK) != 0) return 0;
    const size_t blocks = (size_t)rows * (size_t)(cols / (k_quant ? SL_QK_K : SL_QK));
    switch (wtype) {
    case SL_Q5_0: return blocks * sizeof(sl_block_q5_0);
    case SL_Q4_1: return blocks * sizeof(sl_block_q4_1);
    case SL_Q8_0: return blocks * sizeof(sl_block_q8_0);
    case SL_Q4_K: return blocks * sizeof(sl_block_q4_K);
    case SL_Q6_K: return blocks * sizeof(sl_block_q6_K);
    default: return 0;
    }
}

/// Moves the 4-byte chunks of the 8 rows of one group between ggml's layout and lanes: `lanes` holds
/// `chunks` vectors of 32 bytes (chunk v of row l at lanes + 32v + 4l), `rows[l]` row l's bytes.
static void interleave4(uint8_t *lanes, uint8_t *const rows[8], int chunks, int to_lanes) {
    for (int v = 0; v < chunks; v++)
        for (int l = 0; l < 8; l++) {
            if (to_lanes) memcpy(lanes + 32 * v + 4 * l, rows[l] + 4 * v, 4);
            else memcpy(rows[l] + 4 * v, lanes + 32 * v + 4 * l, 4);
        }
}

/// Q4_K between ggml's layout (`w`, rows x nb superblocks) and sl_block_q4_Kx8 (`p`), either way.
static void convert_q4_K(sl_block_q4_K *w, sl_block_q4_Kx8 *p, int64_t rows, int64_t nb, int to_packed) {
    for (int64_t g = 0; g < rows / 8; g++) {
        for (int64_t i = 0; i < nb; i++) {
            sl_block_q4_Kx8 *o = p + g * nb + i;
            uint8_t *qs[8];
            for (int l = 0; l < 8; l++) {
                sl_block_q4_K *x = w + (g * 8 + l) * nb + i;
                qs[l] = x->qs;
                if (to_packed) {
                    o->d[l] = x->d;
                    o->dmin[l] = x->dmin;
                    for (int k = 0; k < 3; k++) memcpy(&o->scales[k][l], x->scales + 4 * k, 4);
                } else {
                    x->d = o->d[l];
                    x->dmin = o->dmin[l];
                    for (int k = 0; k < 3; k++) memcpy(x->scales + 4 * k, &o->scales[k][l], 4);
                }
            }
            interleave4(&o->qs[0][0][0], qs, 32, to_packed);
        }
    }
}

/// Q6_K between ggml's layout and sl_block_q6_Kx8, either way.
static void convert_q6_K(sl_block_q6_K *w, sl_block_q6_Kx8 *p, int64_t rows, int64_t nb, int to_packed) {
    for (int64_t g = 0; g < rows / 8; g++) {
        for (int64_t i = 0; i < nb; i++) {
            sl_block_q6_Kx8 *o = p + g * nb + i;
            uint8_t *ql[8], *qh[8];
            for (int l = 0; l < 8; l++) {
                sl_block_q6_K *x = w + (g * 8 + l) * nb + i;
                ql[l] = x->ql;
                qh[l] = x->qh;
                if (to_packed) o->d[l] = x->d;
                else x->d = o->d[l];
                for (int k = 0; k < 16; k++) {
                    if (to_packed) o->scales[k][l] = x->scales[k];
                    else x->scales[k] = o->scales[k][l];
                }
            }
            interleave4(&o->ql[0][0][0][0], ql, 32, to_packed);
            interleave4(&o->qh[0][0][0], qh, 16, to_packed);
        }
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

/// Q8_0 between ggml's layout and sl_block_q8_0x8, either way.
static void convert_q8_0(sl_block_q8_0 *w, sl_block_q8_0x8 *p, int64_t rows, int64_t nb, int to_packed) {
    for (int64_t g = 0; g < rows / 8; g++) {
        for (int64_t i = 0; i < nb; i++) {
            sl_block_q8_0x8 *o = p + g * nb + i;
            uint8_t *qs[8];
            for (int l = 0; l < 8; l++) {
                sl_block_q8_0 *x = w + (g * 8 + l) * nb + i;
                qs[l] = (uint8_t *)x->qs;
                if (to_packed) o->d[l] = x->d;
                else x->d = o->d[l];
            }
            interleave4((uint8_t *)&o->qs[0][0], qs, 8, to_packed);
        }
    }
}

int sl_pack(int wtype, const void *src, int64_t rows, int64_t cols, void *dst) {
    if (!sl_packed_size(wtype, rows, cols)) return -1;
    const int64_t nb = cols / SL_QK;
    if (wtype == SL_Q4_K || wtype == SL_Q6_K) {
        // The converters run both ways, so they take the plain layout as mutable; packing only reads it.
        if (wtype == SL_Q4_K) convert_q4_K((sl_block_q4_K *)(uintptr_t)src, dst, rows, cols / SL_QK_K, 1);
        else convert_q6_K((sl_block_q6_K *)(uintptr_t)src, dst, rows, cols / SL_QK_K, 1);
        return 0;
    }
    if (wtype == SL_Q4_1) {
        pack_q4_1(src, rows, nb, dst);
        return 0;
    }
    if (wtype == SL_Q8_0) {
        convert_q8_0((sl_block_q8_0 *)(uintptr_t)src, dst, rows, nb, 1);
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
    if (wtype == SL_Q4_K || wtype == SL_Q6_K) {
        if (wtype == SL_Q4_K) convert_q4_K(dst, (sl_block_q4_Kx8 *)(uintptr_t)packed, rows, cols / SL_QK_K, 0);
        else convert_q6_K(dst, (sl_block_q6_Kx8 *)(uintptr_t)packed, rows, cols / SL_QK_K, 0);
        return 0;
    }
    if (wtype == SL_Q4_1) {
        unpack_q4_1(packed, rows, nb, dst);
        return 0;
    }
    if (wtype == SL_Q8_0) {
        convert_q8_0(dst, (sl_block_q8_0x8 *)(uintptr_t)packed, rows, nb, 0);
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

/// Packs `rows` rows in chunks of about 4 MiB of source, releasing each chunk's plain pages as soon as
/// they are packed: a packed group of 8 rows takes the bytes its 8 plain rows took, at the same offset, so
/// a chunk of whole groups packs on its own. Peak memory is then the packed copy plus one chunk, not both
/// copies whole: gemma3's 170 MB tied Q8_0 embedding otherwise put its peak RSS at 1.44x llama.cpp's.
/// Pages straddling two chunks are released with the later chunk (release_pages rounds inward).
static int pack_releasing(int wtype, const void *src, int64_t rows, int64_t cols, void *dst, size_t bytes) {
    const size_t row_bytes = bytes / (size_t)rows;
    int64_t chunk = (int64_t)((4u << 20) / row_bytes) / 8 * 8;
    if (chunk < 8) chunk = 8;
    const uint8_t *from = src;
    uint8_t *to = dst;
    size_t released = 0;  // bytes of src already handed to release_pages
    for (int64_t r = 0; r < rows; r += chunk) {
        const int64_t n = rows - r < chunk ? rows - r : chunk;
        if (sl_pack(wtype, from + (size_t)r * row_bytes, n, cols, to + (size_t)r * row_bytes) != 0) return -1;
        const size_t done = (size_t)(r + n) * row_bytes;
        // Release [released, done) but keep the page holding `done` when rows remain: its tail belongs to
        // the next chunk's rows, which are not packed yet.
        const size_t page = (size_t)sysconf(_SC_PAGESIZE);
        const size_t end = r + n < rows ? ((uintptr_t)from + done) / page * page - (uintptr_t)from : done;
        if ((ptrdiff_t)end > (ptrdiff_t)released) {
            release_pages(from + released, end - released);
            released = end;
        }
    }
    return 0;
}

const void *sl_packed_cache_get(sl_packed_cache *c, int wtype, const void *src, int64_t rows, int64_t cols) {
    void *data = __atomic_load_n(&c->data, __ATOMIC_ACQUIRE);
    if (data || __atomic_load_n(&c->failed, __ATOMIC_RELAXED)) return data;
    const size_t bytes = sl_packed_size(wtype, rows, cols);
    if (!bytes) return NULL;
    pthread_mutex_lock(&c->lock);
    data = __atomic_load_n(&c->data, __ATOMIC_ACQUIRE);
    if (!data && !__atomic_load_n(&c->failed, __ATOMIC_RELAXED)) {
        if (posix_memalign(&data, 64, bytes) == 0 && pack_releasing(wtype, src, rows, cols, data, bytes) == 0) {
            __atomic_store_n(&c->data, data, __ATOMIC_RELEASE);
        } else {
            free(data);
            data = NULL;
            __atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return data;
}
