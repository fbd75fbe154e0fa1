#include "cimage.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

void cimage_free(void *p) { free(p); }

// MARK: - JPEG errors: longjmp back to the caller with libjpeg's message.

struct jerr {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

static void jerr_exit(j_common_ptr cinfo) {
    struct jerr *e = (struct jerr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->message);
    longjmp(e->jump, 1);
}

// A truncated file is only a warning to libjpeg, which fills the missing rows with grey: make
// the warnings that mean "the data ran out" errors, so such a file is skipped, not half-grey.
// Other warnings (extraneous bytes before a marker, and the like, which some ImageNet files
// have) leave a usable image and are ignored.
static void jerr_emit(j_common_ptr cinfo, int level) {
    if (level < 0 && (cinfo->err->msg_code == JWRN_JPEG_EOF || cinfo->err->msg_code == JWRN_HIT_MARKER)) jerr_exit(cinfo);
}

static void seterr(char *err, size_t len, const char *what, const char *msg) {
    if (err && len) snprintf(err, len, "%s%s", what, msg);
}

// MARK: - EXIF orientation

static unsigned rd16(const uint8_t *p, int le) { return le ? (unsigned)(p[0] | p[1] << 8) : (unsigned)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p, int le) {
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/// The orientation tag (0x0112) of IFD0 of an APP1 "Exif\0\0" payload; 1 when absent or malformed.
static int exif_orientation(const uint8_t *d, size_t n) {
    if (n < 14 || memcmp(d, "Exif\0\0", 6) != 0) return 1;
    const uint8_t *t = d + 6; size_t tn = n - 6;
    int le;
    if (t[0] == 'I' && t[1] == 'I') le = 1; else if (t[0] == 'M' && t[1] == 'M') le = 0; else return 1;
    if (rd16(t + 2, le) != 42) return 1;
    uint32_t ifd = rd32(t + 4, le);
    if ((size_t)ifd + 2 > tn) return 1;
    unsigned entries = rd16(t + ifd, le);
    for (unsigned i = 0; i < entries; i++) {
        size_t e = (size_t)ifd + 2 + 12 * (size_t)i;
        if (e + 12 > tn) return 1;
        if (rd16(t + e, le) == 0x0112) {
            unsigned v = rd16(t + e + 8, le);
            return v >= 1 && v <= 8 ? (int)v : 1;
        }
    }
    return 1;
}

// MARK: - JPEG

int cimage_decode_jpeg(const uint8_t *data, size_t size, uint8_t **rgb, int *width, int *height,
                       int *orientation, char *err, size_t errlen) {
    struct jpeg_decompress_struct cinfo;
    struct jerr e;
    uint8_t *volatile out = NULL;
    uint8_t *volatile row = NULL;
    *rgb = NULL; *orientation = 1;
    cinfo.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = jerr_exit;
    e.mgr.emit_message = jerr_emit;
    if (setjmp(e.jump)) {
        seterr(err, errlen, "not a readable JPEG: ", e.message);
        jpeg_destroy_decompress(&cinfo);
        free(out); free(row);
        return 1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);
    for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next) {
        if (m->marker == JPEG_APP0 + 1) {
            int o = exif_orientation(m->data, m->data_length);
            if (o != 1) { *orientation = o; break; }
        }
    }
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height, nc = cinfo.output_components;
    if ((size_t)w * (size_t)h > (size_t)1 << 28) {
        snprintf(e.message, sizeof e.message, "%dx%d pixels is too large", w, h);
        longjmp(e.jump, 1);
    }
    out = malloc((size_t)w * h * 3);
    row = malloc((size_t)w * nc);
    if (!out || !row) { snprintf(e.message, sizeof e.message, "out of memory"); longjmp(e.jump, 1); }
    while (cinfo.output_scanline < cinfo.output_height) {
        int y = (int)cinfo.output_scanline;
        JSAMPROW r = row;
        jpeg_read_scanlines(&cinfo, &r, 1);
        uint8_t *dst = out + (size_t)y * w * 3;
        if (nc == 3) memcpy(dst, row, (size_t)w * 3);
        else {
            // Adobe writes CMYK inverted (0 = full ink); others write it straight.
            int inverted = cinfo.saw_Adobe_marker;
            for (int x = 0; x < w; x++) {
                int c = row[4 * x], m = row[4 * x + 1], yy = row[4 * x + 2], k = row[4 * x + 3];
                if (!inverted) { c = 255 - c; m = 255 - m; yy = 255 - yy; k = 255 - k; }
                dst[3 * x] = (uint8_t)((c * k + 127) / 255);
                dst[3 * x + 1] = (uint8_t)((m * k + 127) / 255);
                dst[3 * x + 2] = (uint8_t)((yy * k + 127) / 255);
            }
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    *rgb = out; *width = w; *height = h;
    return 0;
}

int cimage_encode_jpeg(const uint8_t *pixels, int width, int height, int components, int quality,
                       uint8_t **out, size_t *out_size, char *err, size_t errlen) {
    struct jpeg_compress_struct cinfo;
    struct jerr e;
    unsigned char *buf = NULL;
    unsigned long len = 0;
    cinfo.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = jerr_exit;
    if (setjmp(e.jump)) {
        seterr(err, errlen, "JPEG encoding failed: ", e.message);
        jpeg_destroy_compress(&cinfo);
        free(buf);
        return 1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &buf, &len);
    cinfo.image_width = (JDIMENSION)width; cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = components;
    cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 4 ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW r = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * width * components);
        jpeg_write_scanlines(&cinfo, &r, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out = buf; *out_size = len;
    return 0;
}

// MARK: - PNG (libpng's simplified API)

int cimage_decode_png(const uint8_t *data, size_t size, uint8_t **rgb, int *width, int *height,
                      char *err, size_t errlen) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    *rgb = NULL;
    if (!png_image_begin_read_from_memory(&img, data, size)) {
        seterr(err, errlen, "not a readable PNG: ", img.message);
        png_image_free(&img);
        return 1;
    }
    // libpng's simplified API takes 16-bit samples for linear light and gamma-encodes them when
    // it makes 8-bit sRGB (grey 0x8080 would become 186). A 16-bit PNG is decoded like an 8-bit
    // one instead: read as 16-bit linear RGBA (no conversion of the samples), composite onto
    // white (libpng premultiplies the linear colours by alpha) and keep the top 8 bits, rounded.
    int wide = (img.format & PNG_FORMAT_FLAG_LINEAR) != 0;
    img.format = wide ? PNG_FORMAT_LINEAR_RGB_ALPHA : PNG_FORMAT_RGB;
    if ((size_t)img.width * img.height > (size_t)1 << 28) {
        seterr(err, errlen, "not a usable PNG: ", "too many pixels");
        png_image_free(&img);
        return 1;
    }
    size_t pixels = (size_t)img.width * img.height;
    void *read = malloc(PNG_IMAGE_SIZE(img));
    uint8_t *out = wide ? malloc(pixels * 3) : read;
    if (!read || !out) { seterr(err, errlen, "out of memory", ""); free(read); if (wide) free(out); png_image_free(&img); return 1; }
    png_color white = {255, 255, 255};
    if (!png_image_finish_read(&img, wide ? NULL : &white, read, 0, NULL)) {
        seterr(err, errlen, "not a readable PNG: ", img.message);
        free(read);
        if (wide) free(out);
        png_image_free(&img);
        return 1;
    }
    if (wide) {
        const uint16_t *w = read;
        for (size_t i = 0; i < pixels; i++) {
            uint32_t a = w[4 * i + 3];
            for (int c = 0; c < 3; c++) {
                uint32_t v = w[4 * i + c] + (65535 - a);          // premultiplied colour over white
                out[3 * i + c] = (uint8_t)((v * 255 + 32767) / 65535);
            }
        }
        free(read);
    }
    *rgb = out; *width = (int)img.width; *height = (int)img.height;
    return 0;
}

int cimage_encode_png(const uint8_t *pixels, int width, int height, int components,
                      uint8_t **out, size_t *out_size, char *err, size_t errlen) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)width; img.height = (png_uint_32)height;
    img.format = components == 1 ? PNG_FORMAT_GRAY : components == 4 ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB;
    png_alloc_size_t len = 0;
    if (!png_image_write_get_memory_size(img, len, 0, pixels, 0, NULL)) {
        seterr(err, errlen, "PNG encoding failed: ", img.message);
        return 1;
    }
    uint8_t *buf = malloc(len);
    if (!buf) { seterr(err, errlen, "out of memory", ""); return 1; }
    if (!png_image_write_to_memory(&img, buf, &len, 0, pixels, 0, NULL)) {
        seterr(err, errlen, "PNG encoding failed: ", img.message);
        free(buf);
        return 1;
    }
    *out = buf; *out_size = len;
    return 0;
}

// MARK: - Orientation

int cimage_orient(const uint8_t *rgb, int w, int h, int o, uint8_t **out, int *ow, int *oh) {
    int swap = o >= 5;
    int W = swap ? h : w, H = swap ? w : h;
    uint8_t *d = malloc((size_t)w * h * 3);
    if (!d) return 1;
    // For each output pixel (X, Y), the source pixel (x, y) per the EXIF definitions:
    // 2 mirror horizontal, 3 rotate 180, 4 mirror vertical, 5 transpose,
    // 6 rotate 90 CW, 7 transverse, 8 rotate 90 CCW (the transforms that display the image upright).
    for (int Y = 0; Y < H; Y++) {
        for (int X = 0; X < W; X++) {
            int x, y;
            switch (o) {
            case 2: x = w - 1 - X; y = Y; break;
            case 3: x = w - 1 - X; y = h - 1 - Y; break;
            case 4: x = X; y = h - 1 - Y; break;
            case 5: x = Y; y = X; break;
            case 6: x = Y; y = h - 1 - X; break;
            case 7: x = w - 1 - Y; y = h - 1 - X; break;
            case 8: x = w - 1 - Y; y = X; break;
            default: x = X; y = Y; break;
            }
            memcpy(d + ((size_t)Y * W + X) * 3, rgb + ((size_t)y * w + x) * 3, 3);
        }
    }
    *out = d; *ow = W; *oh = H;
    return 0;
}
