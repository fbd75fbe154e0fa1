import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import AlexNetSimulator
import AlexNetTraining
import CZlib
import Foundation

/// An 8-bit image: `pixels` row-major, `channels` values per pixel (1: grey, 3: RGB, interleaved).
public struct Bitmap: Sendable, Equatable {
    public let width: Int, height: Int, channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, fill: UInt8 = 255) {
        precondition(channels == 1 || channels == 3, "a bitmap is grey (1 channel) or RGB (3)")
        self.width = width; self.height = height; self.channels = channels
        pixels = [UInt8](repeating: fill, count: width * height * channels)
    }

    /// Sets pixel (x, y) to `value` (one value per channel; a grey value is repeated for RGB).
    public mutating func set(_ x: Int, _ y: Int, _ value: [UInt8]) {
        let o = (y * width + x) * channels
        for c in 0..<channels { pixels[o + c] = value.count == 1 ? value[0] : value[c] }
    }

    public func pixel(_ x: Int, _ y: Int) -> [UInt8] {
        let o = (y * width + x) * channels
        return Array(pixels[o..<(o + channels)])
    }

    /// Copies `other` with its top-left corner at (x, y); grey into RGB is widened.
    public mutating func paste(_ other: Bitmap, x: Int, y: Int) {
        for j in 0..<other.height where y + j < height {
            for i in 0..<other.width where x + i < width { set(x + i, y + j, other.pixel(i, j)) }
        }
    }

    /// Each pixel repeated `factor`×`factor` times (nearest neighbour), for small images on screen.
    public func scaled(by factor: Int) -> Bitmap {
        var out = Bitmap(width: width * factor, height: height * factor, channels: channels)
        for y in 0..<out.height {
            for x in 0..<out.width { out.set(x, y, pixel(x / factor, y / factor)) }
        }
        return out
    }

    /// The image made to fit a `side`×`side` box on screen: a small one enlarged by the largest
    /// whole factor that fits (nearest neighbour, so its pixels stay sharp), a large one shrunk
    /// by the smallest whole factor that fits (`reduced`).
    public func fitted(_ side: Int) -> Bitmap {
        let longer = max(width, height, 1)
        return longer <= side ? scaled(by: max(1, side / longer)) : reduced(by: (longer + side - 1) / side)
    }

    /// Each `factor`×`factor` block averaged into one pixel (rounded to nearest); a remainder
    /// of fewer than `factor` rows or columns at the bottom or right is dropped.
    public func reduced(by factor: Int) -> Bitmap {
        precondition(factor >= 1)
        var out = Bitmap(width: max(1, width / factor), height: max(1, height / factor), channels: channels)
        let fy = min(factor, height), fx = min(factor, width), n = fy * fx
        for y in 0..<out.height {
            for x in 0..<out.width {
                for c in 0..<channels {
                    var sum = 0
                    for dy in 0..<fy { for dx in 0..<fx { sum += Int(pixels[((y * factor + dy) * width + x * factor + dx) * channels + c]) } }
                    out.pixels[(y * out.width + x) * channels + c] = UInt8((sum + n / 2) / n)
                }
            }
        }
        return out
    }

    /// The PNG file: 8-bit grey (colour type 0) or RGB (type 2), every row with filter type 0
    /// (none), the rows deflated by zlib's `compress2`, each chunk with its CRC-32.
    public func png() -> [UInt8] {
        var raw = [UInt8]()
        raw.reserveCapacity(height * (1 + width * channels))
        for y in 0..<height {
            raw.append(0)
            raw += pixels[(y * width * channels)..<((y + 1) * width * channels)]
        }
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        func u32(_ v: Int) -> [UInt8] { [UInt8((v >> 24) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
        func chunk(_ type: String, _ data: [UInt8]) {
            let body = Array(type.utf8) + data
            out += u32(data.count) + body
            out += u32(Int(body.withUnsafeBytes { AlexNetCore.crc32($0) }))
        }
        chunk("IHDR", u32(width) + u32(height) + [8, channels == 1 ? 0 : 2, 0, 0, 0])
        chunk("IDAT", deflate(raw))
        chunk("IEND", [])
        return out
    }

    /// `data:image/png;base64,…` for an `<img src>` or an SVG `<image href>`.
    public var dataURI: String { "data:image/png;base64," + Data(png()).base64EncodedString() }
}

/// A zlib stream (RFC 1950) of `bytes`, at the best compression.
func deflate(_ bytes: [UInt8]) -> [UInt8] {
    var size = compressBound(UInt(bytes.count))
    var out = [UInt8](repeating: 0, count: Int(size))
    let status = out.withUnsafeMutableBufferPointer { o in
        bytes.withUnsafeBufferPointer { i in compress2(o.baseAddress, &size, i.baseAddress, UInt(i.count), 9) }
    }
    precondition(status == Z_OK, "compress2 failed (\(status))")
    return Array(out[0..<Int(size)])
}
