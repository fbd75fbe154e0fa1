import CImage
import Foundation

/// A decoded photograph: interleaved 8-bit RGB, `[height][width][3]`, upright (EXIF
/// orientation applied).
public struct Photo: Sendable {
    public var width: Int, height: Int
    public var rgb: [UInt8]
    public init(width: Int, height: Int, rgb: [UInt8]) {
        precondition(rgb.count == width * height * 3)
        self.width = width; self.height = height; self.rgb = rgb
    }

    /// Decodes JPEG or PNG bytes (recognised by their magic, not the file name): greyscale
    /// and CMYK become RGB, the EXIF orientation of a JPEG is applied. Throws a one-line reason.
    public static func decode(_ bytes: [UInt8]) throws -> Photo {
        var out: UnsafeMutablePointer<UInt8>?
        var w: Int32 = 0, h: Int32 = 0, orientation: Int32 = 1
        var err = [CChar](repeating: 0, count: 256)
        let status: Int32
        if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF {
            status = cimage_decode_jpeg(bytes, bytes.count, &out, &w, &h, &orientation, &err, err.count)
        } else if bytes.count >= 8 && bytes[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            status = cimage_decode_png(bytes, bytes.count, &out, &w, &h, &err, err.count)
        } else {
            throw DataError(bytes.isEmpty ? "empty file" : "neither a JPEG nor a PNG (unknown magic bytes)")
        }
        guard status == 0, let px = out else {
            throw DataError(String(cString: err).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        defer { cimage_free(px) }
        guard w > 0, h > 0 else { throw DataError("image has no pixels") }
        if orientation != 1 {
            var turned: UnsafeMutablePointer<UInt8>?
            var tw: Int32 = 0, th: Int32 = 0
            guard cimage_orient(px, w, h, orientation, &turned, &tw, &th) == 0, let t = turned else { throw DataError("out of memory") }
            defer { cimage_free(t) }
            return Photo(width: Int(tw), height: Int(th), rgb: Array(UnsafeBufferPointer(start: t, count: Int(tw * th * 3))))
        }
        return Photo(width: Int(w), height: Int(h), rgb: Array(UnsafeBufferPointer(start: px, count: Int(w * h * 3))))
    }

    /// The paper's storage transform: rescale so that the shorter side is `size` (the longer
    /// side rounded to the nearest pixel), then take the central `size × size` patch; written
    /// planar, `[3][size][size]`, into `out`.
    ///
    /// The filter is a triangle (tent) whose support grows with the downscale factor f —
    /// weight `max(0, 1 − |d| / max(f, 1))` for a source pixel centre at distance d (in source
    /// pixels) from the output pixel's centre — separable, rows then columns. When shrinking it
    /// averages over 2f source pixels, so no aliasing; when enlarging it is bilinear
    /// interpolation. This is Pillow's antialiased BILINEAR resize.
    public func centreSquare(_ size: Int, into out: UnsafeMutablePointer<UInt8>) {
        let scale = Double(size) / Double(min(width, height))
        let newW = width <= height ? size : max(size, Int((Double(width) * scale).rounded()))
        let newH = height < width ? size : max(size, Int((Double(height) * scale).rounded()))
        let ox = (newW - size) / 2, oy = (newH - size) / 2
        let cols = Photo.weights(input: width, output: newW, first: ox, count: size)
        let rows = Photo.weights(input: height, output: newH, first: oy, count: size)
        // Horizontal pass over the source rows the vertical taps need.
        let rowLo = rows.map(\.start).min()!, rowHi = rows.map { $0.start + $0.weights.count }.max()!
        var tmp = [Float](repeating: 0, count: (rowHi - rowLo) * size * 3)
        rgb.withUnsafeBufferPointer { src in
            tmp.withUnsafeMutableBufferPointer { t in
                for y in rowLo..<rowHi {
                    let s = src.baseAddress! + y * width * 3
                    let d = t.baseAddress! + (y - rowLo) * size * 3
                    for (x, tap) in cols.enumerated() {
                        var r: Float = 0, g: Float = 0, b: Float = 0
                        for (k, w) in tap.weights.enumerated() {
                            let p = s + (tap.start + k) * 3
                            r += w * Float(p[0]); g += w * Float(p[1]); b += w * Float(p[2])
                        }
                        d[x * 3] = r; d[x * 3 + 1] = g; d[x * 3 + 2] = b
                    }
                }
                let plane = size * size
                for (y, tap) in rows.enumerated() {
                    for x in 0..<size {
                        var r: Float = 0, g: Float = 0, b: Float = 0
                        for (k, w) in tap.weights.enumerated() {
                            let p = t.baseAddress! + ((tap.start + k - rowLo) * size + x) * 3
                            r += w * p[0]; g += w * p[1]; b += w * p[2]
                        }
                        let o = y * size + x
                        out[o] = Photo.byte(r); out[plane + o] = Photo.byte(g); out[2 * plane + o] = Photo.byte(b)
                    }
                }
            }
        }
    }

    @inline(__always) static func byte(_ v: Float) -> UInt8 { UInt8(max(0, min(255, v.rounded()))) }

    /// The taps of output pixels `first ..< first+count` of a resize from `input` to `output`
    /// pixels: the first source pixel and the normalised weights.
    static func weights(input: Int, output: Int, first: Int, count: Int) -> [(start: Int, weights: [Float])] {
        let f = Double(input) / Double(output)
        let support = max(f, 1)
        return (first..<(first + count)).map { o in
            let centre = (Double(o) + 0.5) * f
            let lo = max(0, Int((centre - support).rounded(.down))), hi = min(input - 1, Int((centre + support).rounded(.up)))
            var w: [Double] = []
            for x in lo...hi { w.append(max(0, 1 - abs(Double(x) + 0.5 - centre) / support)) }
            var total = w.reduce(0, +)
            if total <= 0 { w = w.map { _ in 1 }; total = Double(w.count) }
            return (lo, w.map { Float($0 / total) })
        }
    }
}

/// Encoders for tests and tools: the same libraries that decode.
public enum PhotoEncoder {
    /// `components` 1 (grey), 3 (RGB) or 4 (CMYK) interleaved bytes as a JPEG.
    public static func jpeg(_ pixels: [UInt8], width: Int, height: Int, components: Int = 3, quality: Int = 95) throws -> [UInt8] {
        precondition(pixels.count == width * height * components)
        var out: UnsafeMutablePointer<UInt8>?, size = 0
        var err = [CChar](repeating: 0, count: 256)
        guard cimage_encode_jpeg(pixels, Int32(width), Int32(height), Int32(components), Int32(quality), &out, &size, &err, err.count) == 0,
              let p = out else { throw DataError(String(cString: err)) }
        defer { cimage_free(p) }
        return Array(UnsafeBufferPointer(start: p, count: size))
    }

    /// `components` 1 (grey), 3 (RGB) or 4 (RGBA) interleaved bytes as a PNG.
    public static func png(_ pixels: [UInt8], width: Int, height: Int, components: Int = 3) throws -> [UInt8] {
        precondition(pixels.count == width * height * components)
        var out: UnsafeMutablePointer<UInt8>?, size = 0
        var err = [CChar](repeating: 0, count: 256)
        guard cimage_encode_png(pixels, Int32(width), Int32(height), Int32(components), &out, &size, &err, err.count) == 0,
              let p = out else { throw DataError(String(cString: err)) }
        defer { cimage_free(p) }
        return Array(UnsafeBufferPointer(start: p, count: size))
    }
}
