#include "dnnl_conv.h"
#include <oneapi/dnnl/dnnl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* OpenMP's per-thread thread count (libgomp; omp.h is not on Swift's include path). */
extern void omp_set_num_threads(int);
extern int omp_get_max_threads(void);
extern void omp_set_dynamic(int);

/* One pass (forward or input gradient) at one chunk size: user chunk -> blocked copy ->
   convolution -> blocked result -> user chunk; the weights copied into the layout it wants. */
typedef struct {
    long images;
    dnnl_primitive_t conv, in_reorder, w_reorder, out_reorder, sum_reorder;
    dnnl_memory_t user_in, blk_in, user_w, blk_w, bias, blk_out, user_out, scratch;
} pass;
/* The weight gradient uses the same fields: in = x, out = dy (both copied in), w = the gradient
   (copied out: `w_reorder` overwrites the first chunk's, `sum_reorder` adds each next chunk's). */

struct axmp_dnnl_conv {
    long C, N, H, W, K, k, s, p, Ho, Wo, chunk, per_image;
    int backward_data, weights_gradient;
    pass fwd[2], bwd[2], wgt[2];  /* [0]: chunks of `chunk` images; [1]: the remainder, if any */
    long w_off, in_off, out_off, scratch_off, floats;
    char impl[64];
};

static int threads = 1;
void axmp_dnnl_set_threads(int n) { threads = n > 0 ? n : 1; }
const char *axmp_dnnl_version(void) {
    static char v[32];
    const dnnl_version_t *d = dnnl_version();
    snprintf(v, sizeof v, "%d.%d.%d", d->major, d->minor, d->patch);
    return v;
}

#define TRY(x) do { dnnl_status_t s_ = (x); if (s_ != dnnl_success) { snprintf(why, why_len, "%s failed (status %d)", #x, (int)s_); goto fail; } } while (0)

static long floats_of(const dnnl_memory_desc_t *md) { return (long)((dnnl_memory_desc_get_size(md) + 63) / 64 * 16); }

/* [C][N][H][W] maps, `images` of them from any image on: dims (n, c, h, w) in oneDNN's order. */
static dnnl_status_t chunk_md(dnnl_memory_desc_t *md, long images, long N, long C, long H, long W) {
    dnnl_dims_t d = {images, C, H, W}, st = {H * W, N * H * W, W, 1};
    return dnnl_memory_desc_init_by_strides(md, 4, d, dnnl_f32, st);
}

static dnnl_status_t reorder(dnnl_primitive_t *out, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to, dnnl_engine_t eng) {
    dnnl_primitive_desc_t pd;
    dnnl_status_t s = dnnl_reorder_primitive_desc_create(&pd, from, eng, to, eng, NULL);
    if (s != dnnl_success) return s;
    s = dnnl_primitive_create(out, pd);
    dnnl_primitive_desc_destroy(pd);
    return s;
}

static dnnl_engine_t the_engine;
static void find_counter(void);
static void create_engine(void) {
    find_counter();
    if (dnnl_engine_create(&the_engine, dnnl_cpu, 0) != dnnl_success) the_engine = NULL;
}
static dnnl_engine_t engine(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, create_engine);
    return the_engine;
}

static dnnl_stream_t stream(void) {
    static _Thread_local dnnl_stream_t st;
    if (!st && dnnl_stream_create(&st, engine(), dnnl_stream_default_flags) != dnnl_success) st = NULL;
    return st;
}

/* The calling thread's OpenMP thread count, set only when it differs (the first call on a thread
   allocates libgomp's per-thread state once). */
static void use_threads(void) {
    if (omp_get_max_threads() != threads) {
        omp_set_dynamic(0);   /* the kernels' partition is fixed at creation: never a smaller team */
        omp_set_num_threads(threads);
    }
}

/* With libAllocCounter.so preloaded (measurements only), oneDNN's allocations are counted apart:
   its C API allocates each primitive call's argument list, and nothing else in a step may. */
static void (*attribute)(int);
static void find_counter(void) { attribute = (void (*)(int))dlsym(RTLD_DEFAULT, "alexnet_mp_allocations_attribute"); }
static dnnl_status_t execute(dnnl_primitive_t p, int nargs, const dnnl_exec_arg_t *args) {
    if (attribute) attribute(1);
    dnnl_status_t s = dnnl_primitive_execute(p, stream(), nargs, args);
    if (attribute) attribute(0);
    return s;
}

static int generated(const char *impl) { return strncmp(impl, "jit", 3) == 0 || strncmp(impl, "brg", 3) == 0; }

static long max_l(long a, long b) { return a > b ? a : b; }

/* A pass's memory handles (their pointers are set at each call) and what its blocked copies and
   scratchpad add to the workspace: sizes[0] the weights, [1] the input side, [2] the output side,
   [3] the scratchpad. `in` is what the pass reads (x, or dy for the input gradient), `out` what it
   writes (y, dx), or for the weight gradient the second thing it reads (dy). */
static dnnl_status_t handles(pass *q, dnnl_engine_t eng, const dnnl_memory_desc_t *in_user, const dnnl_memory_desc_t *in_blk,
                             const dnnl_memory_desc_t *w_user, const dnnl_memory_desc_t *w_blk,
                             const dnnl_memory_desc_t *out_blk, const dnnl_memory_desc_t *out_user,
                             const dnnl_memory_desc_t *sp, long sizes[4]) {
    struct { dnnl_memory_t *m; const dnnl_memory_desc_t *md; } all[] = {
        {&q->user_in, in_user}, {&q->blk_in, in_blk}, {&q->user_w, w_user}, {&q->blk_w, w_blk},
        {&q->blk_out, out_blk}, {&q->user_out, out_user}, {&q->scratch, sp}};
    for (int i = 0; i < 7; i++) {
        dnnl_status_t s = dnnl_memory_create(all[i].m, all[i].md, eng, DNNL_MEMORY_NONE);
        if (s != dnnl_success) return s;
    }
    sizes[0] = max_l(sizes[0], floats_of(w_blk)); sizes[1] = max_l(sizes[1], floats_of(in_blk));
    sizes[2] = max_l(sizes[2], floats_of(out_blk)); sizes[3] = max_l(sizes[3], floats_of(sp));
    return dnnl_success;
}

/* Builds the forward pass (and the input gradient's, when asked) for chunks of `images`. */
static int build(axmp_dnnl_conv *c, long images, pass *f, pass *b, pass *g, long sizes[4], char *why, long why_len) {
    dnnl_engine_t eng = engine();
    dnnl_memory_desc_t x_user, y_user, w_user, bias_md, x_any, y_any, w_any;
    dnnl_dims_t wd = {c->K, c->C, c->k, c->k}, bd = {c->K}, sd = {c->s, c->s}, pl = {c->p, c->p};
    dnnl_dims_t pr = {(c->Ho - 1) * c->s + c->k - c->H - c->p, (c->Wo - 1) * c->s + c->k - c->W - c->p};
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
    dnnl_convolution_desc_t fd, bdd, wdd;
    dnnl_primitive_desc_t wpd = NULL;
    dnnl_primitive_attr_t sum_attr = NULL;
    dnnl_post_ops_t sum_ops = NULL;
    const char *impl = "";
    if (!eng) { snprintf(why, why_len, "no oneDNN CPU engine"); return -1; }
    TRY(chunk_md(&x_user, images, c->N, c->C, c->H, c->W));
    TRY(chunk_md(&y_user, images, c->N, c->K, c->Ho, c->Wo));
    TRY(dnnl_memory_desc_init_by_tag(&w_user, 4, wd, dnnl_f32, dnnl_oihw));
    TRY(dnnl_memory_desc_init_by_tag(&bias_md, 1, bd, dnnl_f32, dnnl_x));
    TRY(dnnl_memory_desc_init_by_tag(&x_any, 4, x_user.dims, dnnl_f32, dnnl_format_tag_any));
    TRY(dnnl_memory_desc_init_by_tag(&y_any, 4, y_user.dims, dnnl_f32, dnnl_format_tag_any));
    TRY(dnnl_memory_desc_init_by_tag(&w_any, 4, wd, dnnl_f32, dnnl_format_tag_any));
    TRY(dnnl_primitive_attr_create(&attr));
    TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    TRY(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &x_any, &w_any, &bias_md, &y_any, sd, pl, pr));
    TRY(dnnl_primitive_desc_create(&fpd, &fd, attr, eng, NULL));
    TRY(dnnl_primitive_desc_query(fpd, dnnl_query_impl_info_str, 0, &impl));
    /* Only oneDNN's generated kernels ("jit:...", "brg...") beat the im2col path; its reference
       loops are 1000x slower and its "gemm:" ones are im2col again. */
    if (!generated(impl)) { snprintf(why, why_len, "oneDNN has no jit kernel for it (it offers %s)", impl); goto fail; }
    snprintf(c->impl, sizeof c->impl, "%s", impl);
    {
        const dnnl_memory_desc_t *x = dnnl_primitive_desc_query_md(fpd, dnnl_query_src_md, 0);
        const dnnl_memory_desc_t *w = dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0);
        const dnnl_memory_desc_t *y = dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);
        const dnnl_memory_desc_t *sp = dnnl_primitive_desc_query_md(fpd, dnnl_query_scratchpad_md, 0);
        f->images = images;
        TRY(dnnl_primitive_create(&f->conv, fpd));
        TRY(reorder(&f->in_reorder, &x_user, x, eng));
        TRY(reorder(&f->w_reorder, &w_user, w, eng));
        TRY(reorder(&f->out_reorder, y, &y_user, eng));
        TRY(handles(f, eng, &x_user, x, &w_user, w, y, &y_user, sp, sizes));
        TRY(dnnl_memory_create(&f->bias, &bias_md, eng, DNNL_MEMORY_NONE));
    }
    if (b) {
        TRY(dnnl_convolution_backward_data_desc_init(&bdd, dnnl_convolution_direct, &x_any, &w_any, &y_any, sd, pl, pr));
        TRY(dnnl_primitive_desc_create(&bpd, &bdd, attr, eng, fpd));
        TRY(dnnl_primitive_desc_query(bpd, dnnl_query_impl_info_str, 0, &impl));
        if (!generated(impl)) { snprintf(why, why_len, "oneDNN has no jit kernel for its input gradient (it offers %s)", impl); goto fail; }
        const dnnl_memory_desc_t *dx = dnnl_primitive_desc_query_md(bpd, dnnl_query_diff_src_md, 0);
        const dnnl_memory_desc_t *w = dnnl_primitive_desc_query_md(bpd, dnnl_query_weights_md, 0);
        const dnnl_memory_desc_t *dy = dnnl_primitive_desc_query_md(bpd, dnnl_query_diff_dst_md, 0);
        const dnnl_memory_desc_t *sp = dnnl_primitive_desc_query_md(bpd, dnnl_query_scratchpad_md, 0);
        b->images = images;
        TRY(dnnl_primitive_create(&b->conv, bpd));
        TRY(reorder(&b->in_reorder, &y_user, dy, eng));
        TRY(reorder(&b->w_reorder, &w_user, w, eng));
        TRY(reorder(&b->out_reorder, dx, &x_user, eng));
        TRY(handles(b, eng, &y_user, dy, &w_user, w, dx, &x_user, sp, sizes));
        dnnl_primitive_desc_destroy(bpd);
        bpd = NULL;
    }
    /* The weight gradient, where oneDNN has a jit kernel for it (else im2col computes it). */
    if (g && c->weights_gradient) {
        TRY(dnnl_convolution_backward_weights_desc_init(&wdd, dnnl_convolution_direct, &x_any, &w_any, NULL, &y_any, sd, pl, pr));
        TRY(dnnl_primitive_desc_create(&wpd, &wdd, attr, eng, fpd));
        TRY(dnnl_primitive_desc_query(wpd, dnnl_query_impl_info_str, 0, &impl));
        if (!generated(impl)) { c->weights_gradient = 0; goto done; }
        const dnnl_memory_desc_t *x = dnnl_primitive_desc_query_md(wpd, dnnl_query_src_md, 0);
        const dnnl_memory_desc_t *dw = dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_weights_md, 0);
        const dnnl_memory_desc_t *dy = dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_dst_md, 0);
        const dnnl_memory_desc_t *sp = dnnl_primitive_desc_query_md(wpd, dnnl_query_scratchpad_md, 0);
        g->images = images;
        TRY(dnnl_primitive_create(&g->conv, wpd));
        TRY(reorder(&g->in_reorder, &x_user, x, eng));
        TRY(reorder(&g->out_reorder, &y_user, dy, eng));
        TRY(reorder(&g->w_reorder, dw, &w_user, eng));
        /* The next chunks' gradients are added: a reorder with a sum post-op (dst += src). */
        TRY(dnnl_post_ops_create(&sum_ops));
        TRY(dnnl_post_ops_append_sum(sum_ops, 1.0f));
        TRY(dnnl_primitive_attr_create(&sum_attr));
        TRY(dnnl_primitive_attr_set_post_ops(sum_attr, sum_ops));
        {
            dnnl_primitive_desc_t rpd;
            TRY(dnnl_reorder_primitive_desc_create(&rpd, dw, eng, &w_user, eng, sum_attr));
            dnnl_status_t st = dnnl_primitive_create(&g->sum_reorder, rpd);
            dnnl_primitive_desc_destroy(rpd);
            TRY(st);
        }
        TRY(handles(g, eng, &x_user, x, &w_user, dw, dy, &y_user, sp, sizes));
    }
done:
    if (sum_ops) dnnl_post_ops_destroy(sum_ops);
    if (sum_attr) dnnl_primitive_attr_destroy(sum_attr);
    if (wpd) dnnl_primitive_desc_destroy(wpd);
    dnnl_primitive_desc_destroy(fpd);
    dnnl_primitive_attr_destroy(attr);
    return 0;
fail:
    if (sum_ops) dnnl_post_ops_destroy(sum_ops);
    if (sum_attr) dnnl_primitive_attr_destroy(sum_attr);
    if (wpd) dnnl_primitive_desc_destroy(wpd);
    if (bpd) dnnl_primitive_desc_destroy(bpd);
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return -1;
}

static void destroy_pass(pass *q) {
    dnnl_primitive_t *ps[] = {&q->conv, &q->in_reorder, &q->w_reorder, &q->out_reorder, &q->sum_reorder};
    for (int i = 0; i < 5; i++) if (*ps[i]) dnnl_primitive_destroy(*ps[i]);
    dnnl_memory_t ms[] = {q->user_in, q->blk_in, q->user_w, q->blk_w, q->bias, q->blk_out, q->user_out, q->scratch};
    for (int i = 0; i < 8; i++) if (ms[i]) dnnl_memory_destroy(ms[i]);
}

void axmp_dnnl_conv_destroy(axmp_dnnl_conv *c) {
    if (!c) return;
    for (int i = 0; i < 2; i++) { destroy_pass(&c->fwd[i]); destroy_pass(&c->bwd[i]); destroy_pass(&c->wgt[i]); }
    free(c);
}

axmp_dnnl_conv *axmp_dnnl_conv_create(long C, long N, long H, long W, long K, long k, long s, long p,
                                      int backward_data, int weights_gradient, long budget_floats, char *why, long why_len) {
    /* oneDNN fixes a kernel's thread count when it creates it: the same count as the passes run with. */
    use_threads();
    axmp_dnnl_conv *c = calloc(1, sizeof *c);
    if (!c) { snprintf(why, why_len, "out of memory"); return NULL; }
    c->C = C; c->N = N; c->H = H; c->W = W; c->K = K; c->k = k; c->s = s; c->p = p;
    c->Ho = (H + 2 * p - k) / s + 1; c->Wo = (W + 2 * p - k) / s + 1;
    c->backward_data = backward_data;
    c->weights_gradient = weights_gradient;
    /* One image's blocked copies, as oneDNN lays them out for this shape (a probe at one image). */
    long sizes[4] = {0, 0, 0, 0};
    {
        axmp_dnnl_conv probe = *c;
        probe.chunk = 1;
        if (build(&probe, 1, &probe.fwd[0], backward_data ? &probe.bwd[0] : NULL, &probe.wgt[0], sizes, why, why_len) != 0) {
            destroy_pass(&probe.fwd[0]); destroy_pass(&probe.bwd[0]); destroy_pass(&probe.wgt[0]);
            goto fail;
        }
        destroy_pass(&probe.fwd[0]); destroy_pass(&probe.bwd[0]); destroy_pass(&probe.wgt[0]);
        c->weights_gradient = probe.weights_gradient;
        c->per_image = sizes[1] + sizes[2];
        sizes[0] = sizes[1] = sizes[2] = sizes[3] = 0;
    }
    c->chunk = budget_floats / c->per_image;
    if (c->chunk < 1) c->chunk = 1;
    if (c->chunk > N) c->chunk = N;
    if (build(c, c->chunk, &c->fwd[0], backward_data ? &c->bwd[0] : NULL, &c->wgt[0], sizes, why, why_len) != 0) goto fail;
    if (N % c->chunk && build(c, N % c->chunk, &c->fwd[1], backward_data ? &c->bwd[1] : NULL, &c->wgt[1], sizes, why, why_len) != 0)
        goto fail;
    /* Both chunk sizes must agree on the weight gradient (one without a jit kernel turns it off). */
    if (!c->weights_gradient) { destroy_pass(&c->wgt[0]); destroy_pass(&c->wgt[1]); memset(c->wgt, 0, sizeof c->wgt); }
    c->w_off = 0; c->in_off = sizes[0]; c->out_off = c->in_off + sizes[1]; c->scratch_off = c->out_off + sizes[2];
    c->floats = c->scratch_off + sizes[3] + 16;   /* + 16: room to align the caller's pointer to 64 bytes */
    return c;
fail:
    axmp_dnnl_conv_destroy(c);
    return NULL;
}

long axmp_dnnl_conv_workspace_floats(const axmp_dnnl_conv *c) { return c->floats; }
int axmp_dnnl_conv_has_weights_gradient(const axmp_dnnl_conv *c) { return c->weights_gradient; }
long axmp_dnnl_conv_chunk(const axmp_dnnl_conv *c) { return c->chunk; }
long axmp_dnnl_conv_per_image_floats(const axmp_dnnl_conv *c) { return c->per_image; }
const char *axmp_dnnl_conv_impl(const axmp_dnnl_conv *c) { return c->impl; }

static int exec2(dnnl_primitive_t p, dnnl_memory_t from, dnnl_memory_t to) {
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    return execute(p, 2, a) != dnnl_success;
}


/* Runs pass `q` (and the remainder's) over all N images: `in` and `out` are user [C][N][H][W]. */
static int run(axmp_dnnl_conv *c, pass q[2], const float *in, long in_plane, const float *w, const float *bias,
               float *out, long out_plane, float *workspace, int forward) {
    use_threads();
    float *ws = (float *)(((size_t)workspace + 63) & ~(size_t)63);
    int bad = 0;
    for (int i = 0; i < 2 && q[i].conv; i++) {
        pass *x = &q[i];
        bad |= dnnl_memory_set_data_handle(x->blk_w, ws + c->w_off) != dnnl_success;
        bad |= dnnl_memory_set_data_handle(x->user_w, (void *)w) != dnnl_success;
        bad |= dnnl_memory_set_data_handle(x->blk_in, ws + c->in_off) != dnnl_success;
        bad |= dnnl_memory_set_data_handle(x->blk_out, ws + c->out_off) != dnnl_success;
        bad |= dnnl_memory_set_data_handle(x->scratch, ws + c->scratch_off) != dnnl_success;
        if (bias) bad |= dnnl_memory_set_data_handle(x->bias, (void *)bias) != dnnl_success;
    }
    long full = c->N / c->chunk * c->chunk;
    for (long n0 = 0; n0 < c->N && !bad;) {
        pass *x = n0 < full ? &q[0] : &q[1];
        /* The weights in the layout this chunk size's kernel wants (the remainder's may differ). */
        if (n0 == 0 || n0 == full) bad |= exec2(x->w_reorder, x->user_w, x->blk_w);
        bad |= dnnl_memory_set_data_handle(x->user_in, (void *)(in + n0 * in_plane)) != dnnl_success;
        bad |= dnnl_memory_set_data_handle(x->user_out, out + n0 * out_plane) != dnnl_success;
        bad |= exec2(x->in_reorder, x->user_in, x->blk_in);
        if (forward) {
            dnnl_exec_arg_t a[5] = {{DNNL_ARG_SRC, x->blk_in}, {DNNL_ARG_WEIGHTS, x->blk_w}, {DNNL_ARG_BIAS, x->bias},
                                    {DNNL_ARG_DST, x->blk_out}, {DNNL_ARG_SCRATCHPAD, x->scratch}};
            bad |= execute(x->conv, 5, a) != dnnl_success;
        } else {
            dnnl_exec_arg_t a[4] = {{DNNL_ARG_DIFF_DST, x->blk_in}, {DNNL_ARG_WEIGHTS, x->blk_w},
                                    {DNNL_ARG_DIFF_SRC, x->blk_out}, {DNNL_ARG_SCRATCHPAD, x->scratch}};
            bad |= execute(x->conv, 4, a) != dnnl_success;
        }
        bad |= exec2(x->out_reorder, x->blk_out, x->user_out);
        n0 += x->images;
    }
    return bad;
}

int axmp_dnnl_conv_forward(axmp_dnnl_conv *c, const float *x, const float *w, const float *b, float *y, float *workspace) {
    return run(c, c->fwd, x, c->H * c->W, w, b, y, c->Ho * c->Wo, workspace, 1);
}

int axmp_dnnl_conv_backward_data(axmp_dnnl_conv *c, const float *dy, const float *w, float *dx, float *workspace) {
    if (!c->backward_data) return 1;
    return run(c, c->bwd, dy, c->Ho * c->Wo, w, NULL, dx, c->H * c->W, workspace, 0);
}

int axmp_dnnl_conv_backward_weights(axmp_dnnl_conv *c, const float *x, const float *dy, float *dw, float *workspace) {
    if (!c->weights_gradient) return 1;
    use_threads();
    float *ws = (float *)(((size_t)workspace + 63) & ~(size_t)63);
    int bad = 0;
    for (int i = 0; i < 2 && c->wgt[i].conv; i++) {
        pass *q = &c->wgt[i];
        bad |= dnnl_memory_set_data_handle(q->blk_w, ws + c->w_off) != dnnl_success;
        bad |= dnnl_memory_set_data_handle(q->user_w, dw) != dnnl_success;
        bad |= dnnl_memory_set_data_handle(q->blk_in, ws + c->in_off) != dnnl_success;
        bad |= dnnl_memory_set_data_handle(q->blk_out, ws + c->out_off) != dnnl_success;
        bad |= dnnl_memory_set_data_handle(q->scratch, ws + c->scratch_off) != dnnl_success;
    }
    long full = c->N / c->chunk * c->chunk;
    /* Chunk by chunk in image order: the first chunk's gradient is copied out, the next ones added. */
    for (long n0 = 0; n0 < c->N && !bad;) {
        pass *q = n0 < full ? &c->wgt[0] : &c->wgt[1];
        bad |= dnnl_memory_set_data_handle(q->user_in, (void *)(x + n0 * c->H * c->W)) != dnnl_success;
        bad |= dnnl_memory_set_data_handle(q->user_out, (void *)(dy + n0 * c->Ho * c->Wo)) != dnnl_success;
        bad |= exec2(q->in_reorder, q->user_in, q->blk_in);
        bad |= exec2(q->out_reorder, q->user_out, q->blk_out);
        dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, q->blk_in}, {DNNL_ARG_DIFF_DST, q->blk_out}, {DNNL_ARG_DIFF_WEIGHTS, q->blk_w},
                                {DNNL_ARG_SCRATCHPAD, q->scratch}};
        bad |= execute(q->conv, 4, a) != dnnl_success;
        bad |= exec2(n0 == 0 ? q->w_reorder : q->sum_reorder, q->blk_w, q->user_w);
        n0 += q->images;
    }
    return bad;
}
