#include "kernels.h"

/* Clones chosen by CPU feature, never by CPU model: "arch=haswell" dispatches on
   __builtin_cpu_is("haswell"), so every AVX2 CPU that is not an Intel Haswell (AMD Zen, later
   Intel cores without AVX-512) ran the baseline SSE2 clone (found on a Zen 3 EPYC: a Fashion-MNIST
   step about 5% slower, ReLU's backward 4x its share; BENCHMARKS.md). axmp_kernels_isa() names
   the clone that runs. */
#define AXMP_WIDE "avx512f"
#define AXMP_MID "avx2"
#define CLONES __attribute__((target_clones(AXMP_WIDE, AXMP_MID, "default")))

/* The same dispatch as CLONES, from the same target strings (multiversioning on them), so what
   it returns is the clone every kernel here runs; BLASTests compares it with /proc/cpuinfo. */
__attribute__((target(AXMP_WIDE))) static const char *kernels_isa(void) { return "AVX-512"; }
__attribute__((target(AXMP_MID))) static const char *kernels_isa(void) { return "AVX2"; }
__attribute__((target("default"))) static const char *kernels_isa(void) { return "baseline SSE2"; }
const char *axmp_kernels_isa(void) { return kernels_isa(); }

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

CLONES static void col2im_generic(const float *restrict col, float *restrict input, long C, long N, long H, long W, long k,
                                  long s, long p, long Ho, long Wo, long r0, long rows) {
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

/* Stride 1 with "same" padding (k = 2p + 1, so Ho = H and Wo = W; and W > 2p), every layer of
   both configs but the paper's conv1: the output rows of an image that read inside the map
   read one contiguous block of its input plane, shifted by (i - p)·W + (j - p). So one flat
   copy per run of rows, and then the |j - p| columns of each row that wrapped round to the
   neighbouring row set to zero, instead of a loop per output row (5 to 27 floats on these
   maps): 1.2-1.7x faster than the row loop (bench/im2col_bench.c). */
#define AXMP_SAME_RUNS(BODY) \
    long cols = rows * W; \
    for (long c = 0; c < C; c++) \
        for (long i = 0; i < k; i++) \
            for (long j = 0; j < k; j++) { \
                long row0 = ((c * k + i) * k + j) * cols, shift = j - p; \
                long x0 = shift < 0 ? -shift : 0, x1 = shift > 0 ? W - shift : W; \
                for (long r = 0; r < rows;) { \
                    long n = (r0 + r) / H, y = (r0 + r) % H; \
                    long run = H - y < rows - r ? H - y : rows - r; \
                    /* output rows [ya, yb) of this run read input rows ya + i - p ... inside the map */ \
                    long ya = y > p - i ? y : p - i, yb = y + run < H + p - i ? y + run : H + p - i; \
                    if (ya > y + run) ya = y + run; \
                    if (yb < ya) yb = ya; \
                    long before = ya - y, inside = yb - ya, after = run - before - inside; \
                    long plane = (c * N + n) * H * W + (ya + i - p) * W + shift; \
                    long out = row0 + (r + before) * W; \
                    BODY \
                    r += run; \
                } \
            }

CLONES static void im2col_same(const float *restrict input, float *restrict col, long C, long N, long H, long W, long k, long p,
                               long r0, long rows) {
    AXMP_SAME_RUNS({
        float *d = col + out;
        for (long t = -before * W; t < 0; t++) d[t] = 0;
        const float *src = input + plane;
        long count = inside * W;
        for (long t = x0; t < count - (W - x1); t++) d[t] = src[t];
        for (long q = 0; q < inside; q++) {
            for (long x = 0; x < x0; x++) d[q * W + x] = 0;
            for (long x = x1; x < W; x++) d[q * W + x] = 0;
        }
        for (long t = count; t < count + after * W; t++) d[t] = 0;
    })
}

/* Its adjoint. The wrapped columns of `col` are zeroed first (col is the caller's workspace), so
   the flat add puts nothing on the neighbouring rows' edges: every input position receives the
   same terms in the same order as from the generic loop. */
CLONES static void col2im_same(float *restrict col, float *restrict input, long C, long N, long H, long W, long k, long p,
                               long r0, long rows) {
    AXMP_SAME_RUNS({
        float *cc = col + out;
        for (long q = 0; q < inside; q++) {
            for (long x = 0; x < x0; x++) cc[q * W + x] = 0;
            for (long x = x1; x < W; x++) cc[q * W + x] = 0;
        }
        float *dst = input + plane;
        long count = inside * W;
        for (long t = x0; t < count - (W - x1); t++) dst[t] += cc[t];
        (void)after;
    })
}

static int same_allowed = 1;
void axmp_allow_same(int allowed) { same_allowed = allowed; }

void axmp_im2col(const float *input, float *col, long C, long N, long H, long W, long k, long s, long p, long Ho, long Wo,
                 long r0, long rows) {
    if (s == 1 && k == 2 * p + 1 && W > 2 * p && same_allowed) im2col_same(input, col, C, N, H, W, k, p, r0, rows);
    else im2col_generic(input, col, C, N, H, W, k, s, p, Ho, Wo, r0, rows);
}

void axmp_col2im(float *col, float *input, long C, long N, long H, long W, long k, long s, long p, long Ho, long Wo,
                 long r0, long rows) {
    if (s == 1 && k == 2 * p + 1 && W > 2 * p && same_allowed) col2im_same(col, input, C, N, H, W, k, p, r0, rows);
    else col2im_generic(col, input, C, N, H, W, k, s, p, Ho, Wo, r0, rows);
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
