#ifndef ALLOC_COUNTER_H
#define ALLOC_COUNTER_H
/* Counts heap allocations when preloaded: LD_PRELOAD=.build/release/libAllocCounter.so.
   `alexnet-mp bench` finds alexnet_mp_allocations() with dlsym and reports allocations per step. */
long alexnet_mp_allocations(void);
/* Non-zero: print each allocation's call stack to stderr. */
void alexnet_mp_allocations_trace(int on);
#endif
