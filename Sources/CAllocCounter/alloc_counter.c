// A malloc counter for `bench`: wraps glibc's allocator entry points (through the __libc_*
// names glibc exports, so no dlsym recursion) and counts every call. Preloaded only for
// measurement; never linked into alexnet-mp.
#include <errno.h>
#include <execinfo.h>
#include <unistd.h>
#include <stddef.h>
#include <stdatomic.h>
#include "alloc_counter.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static atomic_long allocations, attributed;
static atomic_int tracing;
static _Thread_local int inside, attributing;

void alexnet_mp_allocations_attribute(int on) { attributing = on; }
long alexnet_mp_attributed_allocations(void) { return atomic_load(&attributed); }

long alexnet_mp_allocations(void) { return atomic_load(&allocations); }
void alexnet_mp_allocations_trace(int on) {
    void *frames[2];
    if (on) backtrace(frames, 2);   // backtrace's first call loads libgcc_s (and allocates): do it now
    atomic_store(&tracing, on);
}

// While tracing, each allocation's call stack goes to stderr (for finding the allocations in a step).
static void count(void) {
    if (attributing) { atomic_fetch_add(&attributed, 1); return; }
    atomic_fetch_add(&allocations, 1);
    if (atomic_load(&tracing) && !inside) {
        inside = 1;
        void *frames[12];
        int n = backtrace(frames, 12);
        write(2, "allocation:\n", 12);
        backtrace_symbols_fd(frames + 1, n - 1, 2);
        inside = 0;
    }
}

void *malloc(size_t n) { count(); return __libc_malloc(n); }
void *calloc(size_t c, size_t n) { count(); return __libc_calloc(c, n); }
void *realloc(void *p, size_t n) { count(); return __libc_realloc(p, n); }
void *memalign(size_t a, size_t n) { count(); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { count(); return __libc_memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
    count();
    void *p = __libc_memalign(a, n);
    if (!p && n) return ENOMEM;
    *out = p;
    return 0;
}
