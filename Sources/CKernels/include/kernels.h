#ifndef ALEXNET_MP_KERNELS_H
#define ALEXNET_MP_KERNELS_H
/* Element-wise loops the Swift compiler leaves scalar (it targets baseline x86-64: SSE2, and
   lowers SIMD16 lane by lane). Each is compiled for AVX-512, AVX2 and baseline, and the
   loader picks the best the CPU has by its features (target_clones). Layout and meaning:
   LocalResponseNorm.swift. */

/* "AVX-512", "AVX2" or "baseline SSE2": the clone of these kernels that this CPU runs. */
const char *axmp_kernels_isa(void);

/* s <- k + alpha*max(s, 0);  b <- a * s^-0.75   (M positions) */
void axmp_lrn_forward_finish75(const float *a, float *s, float *b, long M, float k, float alpha);
/* d <- db * s^-0.75 - c2 * a * d   (M positions) */
void axmp_lrn_backward_finish75(const float *db, const float *a, const float *s, float *d, long M, float c2);

/* ReLU: y <- max(y, 0);  backward: dy <- y > 0 ? dy : 0 (Swift left the select scalar: 6% of a step). */
void axmp_relu_forward(float *y, long count);
void axmp_relu_backward(const float *y, float *dy, long count);

/* im2col and col2im for the [C][N][H][W] layout, for `rows` output rows from row r0 of the
   minibatch (row r = image r / Ho, row r % Ho): see Im2col.swift for the matrix they build.
   Short rows (Fashion-MNIST's 24, 11 and 5) made memmove calls and scalar adds the cost. */
void axmp_im2col(const float *input, float *col, long C, long N, long H, long W, long k, long s, long p,
                 long Ho, long Wo, long r0, long rows);
/* col2im may overwrite col's padding entries with zeros (col is a workspace). */
void axmp_col2im(float *col, float *input, long C, long N, long H, long W, long k, long s, long p,
                 long Ho, long Wo, long r0, long rows);

/* Stride 1 with "same" padding (k = 2p + 1) takes a path of whole-run copies; 0 here forces the
   row-by-row loops (the tests check both against the same naive loop). */
void axmp_allow_same(int allowed);

/* Bias of a [K][M] output: y[k][.] += b[k]; and db[k] = sum of dy[k][.] (16 partial sums). */
void axmp_add_bias(float *y, const float *b, long K, long M);
void axmp_sum_rows(const float *dy, float *db, long K, long M);
#endif
