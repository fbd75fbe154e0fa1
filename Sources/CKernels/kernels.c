#include "kernels.h"

#define CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default")))

CLONES void axmp_lrn_forward_finish75(const float *restrict a, float *restrict s, float *restrict b, long M, float k, float alpha) {
    for (long m = 0; m < M; m++) {
        float x = s[m] > 0 ? s[m] : 0;
        float sv = k + alpha * x;
        float r = 1.0f / __builtin_sqrtf(sv);
        s[m] = sv;
        b[m] = a[m] * (r * __builtin_sqrtf(r));
    }
}

CLONES void axmp_lrn_backward_finish75(const float *restrict db, const float *restrict a, const float *restrict s,
                                       float *restrict d, long M, float c2) {
    for (long m = 0; m < M; m++) {
        float r = 1.0f / __builtin_sqrtf(s[m]);
        d[m] = db[m] * (r * __builtin_sqrtf(r)) - c2 * a[m] * d[m];
    }
}

CLONES void axmp_im2col(const float *restrict input, float *restrict col, long C, long N, long H, long W, long k, long s,
                        long p, long Ho, long Wo, long n0, long nChunk) {
    long plane = Ho * Wo, cols = nChunk * plane;
    for (long c = 0; c < C; c++)
        for (long i = 0; i < k; i++)
            for (long j = 0; j < k; j++) {
                float *row = col + ((c * k + i) * k + j) * cols;
                /* x in [x0, x1) reads a pixel inside the map: ix = x*s - p + j in [0, W) */
                long x0 = p - j > 0 ? (p - j + s - 1) / s : 0;
                long x1 = (W + p - j + s - 1) / s;
                if (x1 > Wo) x1 = Wo;
                if (x1 < x0) x1 = x0;
                for (long n = 0; n < nChunk; n++) {
                    const float *src = input + (c * N + n0 + n) * H * W;
                    float *dst = row + n * plane;
                    for (long y = 0; y < Ho; y++) {
                        long iy = y * s - p + i;
                        float *d = dst + y * Wo;
                        if (iy < 0 || iy >= H) { for (long x = 0; x < Wo; x++) d[x] = 0; continue; }
                        const float *srow = src + iy * W + j - p;
                        for (long x = 0; x < x0; x++) d[x] = 0;
                        if (s == 1) for (long x = x0; x < x1; x++) d[x] = srow[x];
                        else for (long x = x0; x < x1; x++) d[x] = srow[x * s];
                        for (long x = x1; x < Wo; x++) d[x] = 0;
                    }
                }
            }
}

CLONES void axmp_col2im(const float *restrict col, float *restrict input, long C, long N, long H, long W, long k, long s,
                        long p, long Ho, long Wo, long n0, long nChunk) {
    long plane = Ho * Wo, cols = nChunk * plane;
    for (long c = 0; c < C; c++)
        for (long i = 0; i < k; i++)
            for (long j = 0; j < k; j++) {
                const float *row = col + ((c * k + i) * k + j) * cols;
                long x0 = p - j > 0 ? (p - j + s - 1) / s : 0;
                long x1 = (W + p - j + s - 1) / s;
                if (x1 > Wo) x1 = Wo;
                if (x1 < x0) x1 = x0;
                for (long n = 0; n < nChunk; n++) {
                    float *dst = input + (c * N + n0 + n) * H * W;
                    const float *src = row + n * plane;
                    for (long y = 0; y < Ho; y++) {
                        long iy = y * s - p + i;
                        if (iy < 0 || iy >= H) continue;
                        float *drow = dst + iy * W + j - p;
                        const float *srow = src + y * Wo;
                        if (s == 1) for (long x = x0; x < x1; x++) drow[x] += srow[x];
                        else for (long x = x0; x < x1; x++) drow[x * s] += srow[x];
                    }
                }
            }
}

CLONES void axmp_relu_forward(float *restrict y, long count) {
    for (long i = 0; i < count; i++) y[i] = y[i] < 0 ? 0 : y[i];   /* NaN passes, as Swift.max did */
}

CLONES void axmp_relu_backward(const float *restrict y, float *restrict dy, long count) {
    for (long i = 0; i < count; i++) dy[i] = y[i] > 0 ? dy[i] : 0;
}
