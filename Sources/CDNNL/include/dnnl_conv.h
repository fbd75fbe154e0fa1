#ifndef AXMP_DNNL_CONV_H
#define AXMP_DNNL_CONV_H
#include <stddef.h>

/* A group's convolution on alexnet-mp's [C][N][H][W] maps through oneDNN's direct (jit)
   convolution: the forward pass (with its bias) and, when asked, the gradient with respect to
   the input. oneDNN wants its own blocked layouts (nChw8c / nChw16c), so each pass copies a
   chunk of images into them, convolves and copies the result back; the chunk is sized so that
   both blocked copies fit `budget_floats` (they stay in cache, and the workspace stays small).
   Every buffer lives in the caller's workspace: nothing is allocated by the passes except what
   oneDNN's primitive execution allocates for its argument list. */
typedef struct axmp_dnnl_conv axmp_dnnl_conv;

/* NULL when oneDNN has no jit implementation for this shape on this CPU (or fails); `why` then
   says why (at most `why_len` bytes). */
axmp_dnnl_conv *axmp_dnnl_conv_create(long C, long N, long H, long W, long K, long k, long s, long p,
                                      int backward_data, int weights_gradient, long budget_floats, char *why, long why_len);
/* Whether the weight gradient runs here (asked for, and oneDNN has a jit kernel for it). */
int axmp_dnnl_conv_has_weights_gradient(const axmp_dnnl_conv *c);
void axmp_dnnl_conv_destroy(axmp_dnnl_conv *c);
/* Floats of workspace the passes need (aligned to 64 bytes by the caller's pointer). */
long axmp_dnnl_conv_workspace_floats(const axmp_dnnl_conv *c);
/* Floats of one image's blocked input and output copies (what the budget counts). */
long axmp_dnnl_conv_per_image_floats(const axmp_dnnl_conv *c);
/* Images per chunk. */
long axmp_dnnl_conv_chunk(const axmp_dnnl_conv *c);
/* The implementation oneDNN chose for the forward pass ("jit:avx2", "jit:avx512_core"...). */
const char *axmp_dnnl_conv_impl(const axmp_dnnl_conv *c);

/* y = conv(x, w) + b, overwritten. 0 on success. */
int axmp_dnnl_conv_forward(axmp_dnnl_conv *c, const float *x, const float *w, const float *b, float *y, float *workspace);
/* dx = the gradient with respect to the input, overwritten. 0 on success. */
int axmp_dnnl_conv_backward_data(axmp_dnnl_conv *c, const float *dy, const float *w, float *dx, float *workspace);

/* dw = the weight gradient (no bias), overwritten: summed chunk by chunk in image order. 0 on success. */
int axmp_dnnl_conv_backward_weights(axmp_dnnl_conv *c, const float *x, const float *dy, float *dw, float *workspace);

/* The threads oneDNN uses on every thread that calls it (OpenMP's, set per calling thread). */
void axmp_dnnl_set_threads(int n);
/* oneDNN's version, "2.6.3". */
const char *axmp_dnnl_version(void);
#endif
