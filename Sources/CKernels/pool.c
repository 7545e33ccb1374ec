// Persistent thread pool. Workers spin for a short while after each job (the next matmul usually
// follows within microseconds during decoding), then park on a condition variable so an idle model
// does not burn the CPU. The caller thread takes part in every job.
#define _GNU_SOURCE
#include "CKernels.h"
#include "internal.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define SL_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define SL_PAUSE() __asm__ __volatile__("yield")
#else
#define SL_PAUSE() ((void)0)
#endif

// How long an idle worker spins before parking: long enough to cover the gap between two matmuls
// of a decode step, short enough not to steal a shared core for long.
#define SL_SPIN_NS 300000ull

// Spinning past this long, a worker yields its core between checks. A decode step's gaps between jobs are
// a few microseconds; a longer wait on a busy machine usually means the caller is not running, often
// because it waits for this very core, and a worker spinning out its time slice there kept the caller
// (and the job it is about to post) off it: under load a worker was seen spinning for 39% of the samples
// while doing 6% of the work.
#define SL_YIELD_NS 50000ull

struct sl_pool {
    int nthreads;
    pthread_t *threads;
    pthread_mutex_t run_lock;  // one job at a time; also guards the scratch buffer
    pthread_mutex_t park_lock;
    pthread_cond_t park_cond;
    _Atomic uint64_t generation;
    _Atomic int64_t next;
    _Atomic int active;    // workers inside drain(): a new job's fields wait for them to leave
    _Atomic int64_t done;  // tasks finished in the current job
    _Atomic int sleeping;
    _Atomic int stop;
    int64_t count;
    sl_task_fn fn;
    void *ctx;
    void *scratch;
    size_t scratch_size;
};

static _Thread_local int sl_in_pool = 0;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void drain(sl_pool *p) {
    const int64_t count = p->count;
    int64_t i;
    while ((i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed)) < count) {
        p->fn(p->ctx, i);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
    }
}

static void *worker_main(void *arg) {
    sl_pool *p = arg;
    sl_in_pool = 1;
    uint64_t seen = 0;
    for (;;) {
        uint64_t g = atomic_load(&p->generation);
        if (g == seen) {
            uint64_t start = now_ns();
            unsigned spins = 0;
            while ((g = atomic_load(&p->generation)) == seen && !atomic_load(&p->stop)) {
                SL_PAUSE();
                if ((++spins & 255) != 0) continue;
                const uint64_t waited = now_ns() - start;
                if (waited > SL_YIELD_NS && waited <= SL_SPIN_NS) sched_yield();
                if (waited > SL_SPIN_NS) {
                    pthread_mutex_lock(&p->park_lock);
                    atomic_fetch_add(&p->sleeping, 1);
                    while ((g = atomic_load(&p->generation)) == seen && !atomic_load(&p->stop))
                        pthread_cond_wait(&p->park_cond, &p->park_lock);
                    atomic_fetch_sub(&p->sleeping, 1);
                    pthread_mutex_unlock(&p->park_lock);
                    start = now_ns();
                }
            }
        }
        if (atomic_load(&p->stop)) return NULL;
        // An odd generation: the caller is rewriting the job. Wait for it without checking in: the caller
        // waits for checked-in workers to leave before it writes, so a check-in now would only add a
        // round trip between the cores to every hand-off.
        if (g & 1) {
            SL_PAUSE();
            continue;
        }
        seen = g;
        // Check in, then re-check: a newer generation means this worker woke too late for job `g` (the
        // caller finished it alone, or is rewriting the job for the next one).
        atomic_fetch_add(&p->active, 1);
        if (atomic_load(&p->generation) == g) drain(p);
        atomic_fetch_sub_explicit(&p->active, 1, memory_order_release);
    }
}

sl_pool *sl_pool_create(int threads) {
    sl_pool *p = calloc(1, sizeof(sl_pool));
    if (!p) return NULL;
    p->nthreads = threads < 1 ? 1 : threads;
    pthread_mutex_init(&p->run_lock, NULL);
    pthread_mutex_init(&p->park_lock, NULL);
    pthread_cond_init(&p->park_cond, NULL);
    p->threads = calloc((size_t)p->nthreads, sizeof(pthread_t));
    int started = 1;
    for (int t = 1; t < p->nthreads && p->threads; t++) {
        if (pthread_create(&p->threads[t], NULL, worker_main, p) != 0) break;
        started++;
    }
    p->nthreads = started;  // a failed pthread_create leaves a smaller but working pool
    return p;
}

void sl_pool_destroy(sl_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->park_lock);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->park_cond);
    pthread_mutex_unlock(&p->park_lock);
    for (int t = 1; t < p->nthreads; t++) pthread_join(p->threads[t], NULL);
    free(p->threads);
    free(p->scratch);
    pthread_mutex_destroy(&p->run_lock);
    pthread_mutex_destroy(&p->park_lock);
    pthread_cond_destroy(&p->park_cond);
    free(p);
}

int sl_pool_threads(const sl_pool *p) { return p->nthreads; }

int sl_pool_nested(void) { return sl_in_pool; }

void sl_pool_run_locked(sl_pool *p, int64_t count, sl_task_fn fn, void *ctx) {
    if (count <= 0) return;
    if (p->nthreads == 1 || count == 1 || sl_in_pool) {
        for (int64_t i = 0; i < count; i++) fn(ctx, i);
        return;
    }
    // Odd generation: job fields in flux. Workers still inside drain() of the previous job are
    // only claiming past its end; wait for them before touching the fields.
    atomic_fetch_add(&p->generation, 1);
    // A worker still checked in may have been preempted there, maybe by this very thread on a shared
    // core: spin briefly, then yield, as the wait for `done` below does.
    for (unsigned spins = 0; atomic_load(&p->active) > 0;) {
        SL_PAUSE();
        if (++spins > 4096) sched_yield();
    }
    p->count = count;
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    atomic_fetch_add(&p->generation, 1);  // seq_cst: pairs with the workers' sleeping++ before they re-check
    if (atomic_load(&p->sleeping) > 0) {
        pthread_mutex_lock(&p->park_lock);
        pthread_cond_broadcast(&p->park_cond);
        pthread_mutex_unlock(&p->park_lock);
    }
    sl_in_pool = 1;
    drain(p);
    sl_in_pool = 0;
    // Wait for tasks, not for workers: a worker the OS has not scheduled yet just finds nothing to do.
    unsigned spins = 0;
    while (atomic_load_explicit(&p->done, memory_order_acquire) < count) {
        SL_PAUSE();
        if (++spins > 4096) sched_yield();
    }
}

void sl_pool_run(sl_pool *p, int64_t count, sl_task_fn fn, void *ctx) {
    if (sl_in_pool) {
        for (int64_t i = 0; i < count; i++) fn(ctx, i);
        return;
    }
    pthread_mutex_lock(&p->run_lock);
    sl_pool_run_locked(p, count, fn, ctx);
    pthread_mutex_unlock(&p->run_lock);
}

void sl_pool_lock(sl_pool *p) { pthread_mutex_lock(&p->run_lock); }
void sl_pool_unlock(sl_pool *p) { pthread_mutex_unlock(&p->run_lock); }

void *sl_pool_scratch(sl_pool *p, size_t bytes) {
    if (bytes <= p->scratch_size) return p->scratch;
    size_t size = bytes + bytes / 4 + 4096;
    void *mem = NULL;
    if (posix_memalign(&mem, 64, size) != 0) return NULL;
    free(p->scratch);
    p->scratch = mem;
    p->scratch_size = size;
    return mem;
}

void *sl_thread_scratch(size_t bytes) {
    static _Thread_local void *mem = NULL;
    static _Thread_local size_t size = 0;
    if (bytes <= size) return mem;
    void *fresh = NULL;
    if (posix_memalign(&fresh, 64, bytes + 4096) != 0) return NULL;
    free(mem);
    mem = fresh;
    size = bytes + 4096;
    return mem;
}
