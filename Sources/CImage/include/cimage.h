// CImage: the C edge of the data pipeline. libjpeg(-turbo) and libpng decode and encode
// through this shim because libjpeg reports errors by calling error_exit, which must longjmp
// out of the library — something Swift cannot do. Every function returns 0 on success, or
// non-zero with a one-line reason in `err`; a returned buffer is malloc'd and freed with
// cimage_free.
#ifndef CIMAGE_H
#define CIMAGE_H
#include <stddef.h>
#include <stdint.h>

/// Decodes a JPEG to interleaved 8-bit RGB `[h][w][3]`: greyscale is replicated, CMYK and
/// YCCK (Adobe-inverted or not) converted. `orientation` gets the EXIF orientation tag (1–8),
/// 1 when there is none; the pixels are NOT rotated (see cimage_orient).
int cimage_decode_jpeg(const uint8_t *data, size_t size, uint8_t **rgb, int *width, int *height,
                       int *orientation, char *err, size_t errlen);

/// Decodes a PNG (any bit depth, palette, grey, alpha) to interleaved 8-bit RGB; alpha is
/// composited onto white.
int cimage_decode_png(const uint8_t *data, size_t size, uint8_t **rgb, int *width, int *height,
                      char *err, size_t errlen);

/// Applies EXIF orientation `o` (1–8) to an interleaved RGB image, returning a new buffer and
/// its size (sides swap for 5–8).
int cimage_orient(const uint8_t *rgb, int width, int height, int o, uint8_t **out, int *out_width, int *out_height);

/// Encodes `components` = 1 (grey), 3 (RGB) or 4 (CMYK) interleaved 8-bit pixels as a JPEG
/// of `quality` (1–100). For tests and tools.
int cimage_encode_jpeg(const uint8_t *pixels, int width, int height, int components, int quality,
                       uint8_t **out, size_t *out_size, char *err, size_t errlen);

/// Encodes `components` = 1 (grey), 3 (RGB) or 4 (RGBA) interleaved 8-bit pixels as a PNG.
int cimage_encode_png(const uint8_t *pixels, int width, int height, int components,
                      uint8_t **out, size_t *out_size, char *err, size_t errlen);

void cimage_free(void *p);
#endif
