#ifndef ALLOC_COUNTER_H
#define ALLOC_COUNTER_H
/* Counts heap allocations when preloaded: LD_PRELOAD=.build/release/libAllocCounter.so.
   `alexnet-mp bench` finds alexnet_mp_allocations() with dlsym and reports allocations per step. */
long alexnet_mp_allocations(void);
/* While a thread has attribution on, its allocations are counted apart (not in
   alexnet_mp_allocations): the oneDNN shim turns it on around each oneDNN primitive call, whose
   C API allocates the call's argument list. */
void alexnet_mp_allocations_attribute(int on);
long alexnet_mp_attributed_allocations(void);
/* Non-zero: print each allocation's call stack to stderr. */
void alexnet_mp_allocations_trace(int on);
#endif
