/* im2col and col2im of one group of the paper's net and of Fashion-MNIST's at batch 128, in the
   chunks the convolutions use, with the whole-run copies of "same" padding and with the row loop.
   Best of 5 passes over the minibatch. Build and run from the repository's root:
     cc -O3 -ISources/CKernels/include bench/im2col_bench.c Sources/CKernels/kernels.c -lm -o /tmp/im2col_bench && /tmp/im2col_bench */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "kernels.h"

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static void run(const char *name, long C, long N, long H, long W, long k, long s, long p, long rows) {
    long Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1;
    float *in = calloc(C * N * H * W, 4), *col = calloc(C * k * k * rows * Wo, 4);
    for (int runs = 1; runs >= 0; runs--) {
        axmp_allow_same(runs);
        double best = 1e9, best2 = 1e9;
        for (int rep = 0; rep < 5; rep++) {
            double t = now();
            for (long r0 = 0; r0 < N * Ho; r0 += rows) axmp_im2col(in, col, C, N, H, W, k, s, p, Ho, Wo, r0, rows < N * Ho - r0 ? rows : N * Ho - r0);
            if ((t = now() - t) < best) best = t;
            t = now();
            for (long r0 = 0; r0 < N * Ho; r0 += rows) axmp_col2im(col, in, C, N, H, W, k, s, p, Ho, Wo, r0, rows < N * Ho - r0 ? rows : N * Ho - r0);
            if ((t = now() - t) < best2) best2 = t;
        }
        printf("%-14s %-8s im2col %7.1f ms   col2im %7.1f ms\n", name, runs ? "runs" : "row loop", best * 1e3, best2 * 1e3);
    }
    free(in); free(col);
}

int main(void) {
    run("alexnet conv2", 48, 128, 27, 27, 5, 1, 2, 19);
    run("alexnet conv3", 256, 128, 13, 13, 3, 1, 1, 40);
    run("fashion conv1", 1, 128, 24, 24, 5, 1, 2, 22);
    run("fashion conv2", 32, 128, 11, 11, 5, 1, 2, 47);
    run("fashion conv3", 64, 128, 5, 5, 3, 1, 1, 103);
    return 0;
}
