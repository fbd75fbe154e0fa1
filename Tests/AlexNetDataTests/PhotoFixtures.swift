import AlexNetData
import Foundation

// Test photographs: pixel patterns encoded with the same libraries the pipeline decodes with.

/// Interleaved RGB `[h][w][3]` from a function of (x, y, channel).
func rgbImage(_ w: Int, _ h: Int, _ f: (Int, Int, Int) -> Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: w * h * 3)
    for y in 0..<h { for x in 0..<w { for c in 0..<3 { out[(y * w + x) * 3 + c] = UInt8(clamping: f(x, y, c)) } } }
    return out
}

/// A smooth pattern that JPEG keeps well.
func smoothImage(_ w: Int, _ h: Int) -> [UInt8] {
    rgbImage(w, h) { x, y, c in c == 0 ? 255 * x / max(w - 1, 1) : c == 1 ? 255 * y / max(h - 1, 1) : 128 }
}

/// Left half red, right half blue: shows where the left edge of the picture went.
func halvesImage(_ w: Int, _ h: Int) -> [UInt8] {
    rgbImage(w, h) { x, _, c in x < w / 2 ? (c == 0 ? 255 : 0) : (c == 2 ? 255 : 0) }
}

/// A JPEG with an EXIF APP1 segment carrying orientation `o`, inserted right after SOI.
func withEXIFOrientation(_ jpeg: [UInt8], _ o: UInt16, bigEndian: Bool = true) -> [UInt8] {
    func u16(_ v: UInt16) -> [UInt8] { bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)] }
    func u32(_ v: UInt32) -> [UInt8] { bigEndian ? [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
                                                 : [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)] }
    var tiff: [UInt8] = bigEndian ? Array("MM".utf8) : Array("II".utf8)
    tiff += u16(42) + u32(8)                       // magic, offset of IFD0
    tiff += u16(1)                                 // one entry
    tiff += u16(0x0112) + u16(3) + u32(1) + u16(o) + [0, 0]   // Orientation, SHORT, count 1, value
    tiff += u32(0)                                 // no next IFD
    let payload = Array("Exif".utf8) + [0, 0] + tiff
    let length = payload.count + 2
    let segment: [UInt8] = [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload
    return Array(jpeg[0..<2]) + segment + Array(jpeg[2...])
}

/// Interleaved `[h][w][3]` to planar `[3][h][w]`.
func planar(_ rgb: [UInt8], _ w: Int, _ h: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: rgb.count)
    for y in 0..<h { for x in 0..<w { for c in 0..<3 { out[c * w * h + y * w + x] = rgb[(y * w + x) * 3 + c] } } }
    return out
}
