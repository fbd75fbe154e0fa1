#include "kernels.h"
#include <immintrin.h>

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

/* Output row r of the chunk is image n = r / Ho, row y = r % Ho; its Wo columns start at
   (r - r0) * Wo in every row of col. x in [x0, x1) reads a pixel inside the map:
   ix = x*s - p + j in [0, W). */
#define AXMP_COLUMN_RANGE(j) \
    long x0 = p - (j) > 0 ? (p - (j) + s - 1) / s : 0; \
    long x1 = (W + p - (j) + s - 1) / s; \
    if (x1 > Wo) x1 = Wo; \
    if (x1 < x0) x1 = x0;

CLONES static void im2col_generic(const float *restrict input, float *restrict col, long C, long N, long H, long W, long k, long s,
                        long p, long Ho, long Wo, long r0, long rows) {
    long cols = rows * Wo;
    for (long c = 0; c < C; c++)
        for (long i = 0; i < k; i++)
            for (long j = 0; j < k; j++) {
                float *row = col + ((c * k + i) * k + j) * cols;
                AXMP_COLUMN_RANGE(j)
                long n = r0 / Ho, y = r0 % Ho;
                for (long r = 0; r < rows; r++, y++) {
                    if (y == Ho) { y = 0; n++; }
                    float *d = row + r * Wo;
                    long iy = y * s - p + i;
                    if (iy < 0 || iy >= H) { for (long x = 0; x < Wo; x++) d[x] = 0; continue; }
                    const float *srow = input + ((c * N + n) * H + iy) * W + j - p;
                    for (long x = 0; x < x0; x++) d[x] = 0;
                    if (s == 1) for (long x = x0; x < x1; x++) d[x] = srow[x];
                    else for (long x = x0; x < x1; x++) d[x] = srow[x * s];
                    for (long x = x1; x < Wo; x++) d[x] = 0;
                }
            }
}

CLONES void axmp_col2im(const float *restrict col, float *restrict input, long C, long N, long H, long W, long k, long s,
                        long p, long Ho, long Wo, long r0, long rows) {
    long cols = rows * Wo;
    for (long c = 0; c < C; c++)
        for (long i = 0; i < k; i++)
            for (long j = 0; j < k; j++) {
                const float *row = col + ((c * k + i) * k + j) * cols;
                AXMP_COLUMN_RANGE(j)
                long n = r0 / Ho, y = r0 % Ho;
                for (long r = 0; r < rows; r++, y++) {
                    if (y == Ho) { y = 0; n++; }
                    long iy = y * s - p + i;
                    if (iy < 0 || iy >= H) continue;
                    float *drow = input + ((c * N + n) * H + iy) * W + j - p;
                    const float *srow = row + r * Wo;
                    if (s == 1) for (long x = x0; x < x1; x++) drow[x] += srow[x];
                    else for (long x = x0; x < x1; x++) drow[x * s] += srow[x];
                }
            }
}

/* im2col at stride 1 with AVX-512 masked loads and stores, one per 16 columns of an output
   row. The maps are small (Wo = 5 to 27), so the compiler's vector loop rarely ran and most of
   a row went through its scalar remainder: 1.2-1.6x faster on the paper's conv2-conv5 and
   Fashion-MNIST's layers (BENCHMARKS.md). Lanes outside [x0, x1) (the padding) read nothing and
   write a zero. Not for stride 4, where gathers lost to the scalar loop, nor for col2im, whose
   masked stores to overlapping rows stall the loads that follow them. */
__attribute__((target("avx512f"))) static void im2col_stride1_avx512(const float *restrict input, float *restrict col,
                                                                      long C, long N, long H, long W, long k, long p,
                                                                      long Ho, long Wo, long r0, long rows) {
    const long s = 1;
    long cols = rows * Wo;
    for (long c = 0; c < C; c++)
        for (long i = 0; i < k; i++)
            for (long j = 0; j < k; j++) {
                float *row = col + ((c * k + i) * k + j) * cols;
                AXMP_COLUMN_RANGE(j)
                long n = r0 / Ho, y = r0 % Ho;
                for (long r = 0; r < rows; r++, y++) {
                    if (y == Ho) { y = 0; n++; }
                    float *d = row + r * Wo;
                    long iy = y - p + i;
                    int inside = iy >= 0 && iy < H;
                    const float *srow = input + ((c * N + n) * H + (inside ? iy : 0)) * W + j - p;
                    for (long x = 0; x < Wo; x += 16) {
                        long w = Wo - x < 16 ? Wo - x : 16;
                        long lo = x0 - x < 0 ? 0 : x0 - x, hi = x1 - x > w ? w : x1 - x;
                        __mmask16 valid = inside && hi > lo ? (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1)) : 0;
                        _mm512_mask_storeu_ps(d + x, (__mmask16)((1u << w) - 1), _mm512_maskz_loadu_ps(valid, srow + x));
                    }
                }
            }
}

static int avx512_allowed = 1;
void axmp_allow_avx512(int allowed) { avx512_allowed = allowed; }

static int has_avx512(void) {
    static int known = -1;
    if (known < 0) known = __builtin_cpu_supports("avx512f") ? 1 : 0;
    return known && avx512_allowed;
}

void axmp_im2col(const float *input, float *col, long C, long N, long H, long W, long k, long s, long p, long Ho, long Wo,
                 long r0, long rows) {
    if (s == 1 && has_avx512()) im2col_stride1_avx512(input, col, C, N, H, W, k, p, Ho, Wo, r0, rows);
    else im2col_generic(input, col, C, N, H, W, k, s, p, Ho, Wo, r0, rows);
}

/* Convolution bias: y[k][m] += b[k] over M positions; and its gradient db[k] = sum_m dy[k][m]
   (Swift left this reduction scalar: one add per cycle's latency). */
CLONES void axmp_add_bias(float *restrict y, const float *restrict b, long K, long M) {
    for (long k = 0; k < K; k++) {
        float *row = y + k * M, bk = b[k];
        for (long m = 0; m < M; m++) row[m] += bk;
    }
}

CLONES void axmp_sum_rows(const float *restrict dy, float *restrict db, long K, long M) {
    for (long k = 0; k < K; k++) {
        const float *row = dy + k * M;
        /* 16 partial sums: the order is fixed by M alone, so every placement sums alike. */
        float acc[16] = {0};
        long m = 0;
        for (; m + 16 <= M; m += 16)
            for (int l = 0; l < 16; l++) acc[l] += row[m + l];
        float sum = 0;
        for (int l = 0; l < 16; l++) sum += acc[l];
        for (; m < M; m++) sum += row[m];
        db[k] = sum;
    }
}

CLONES void axmp_relu_forward(float *restrict y, long count) {
    for (long i = 0; i < count; i++) y[i] = y[i] < 0 ? 0 : y[i];   /* NaN passes, as Swift.max did */
}

CLONES void axmp_relu_backward(const float *restrict y, float *restrict dy, long count) {
    for (long i = 0; i < count; i++) dy[i] = y[i] > 0 ? dy[i] : 0;
}
