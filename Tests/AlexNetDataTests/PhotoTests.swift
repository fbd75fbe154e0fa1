import AlexNetCore
import AlexNetData
import XCTest

final class PhotoTests: XCTestCase {
    func testPNGRoundTripIsExactAndJPEGIsClose() throws {
        let (w, h) = (40, 30)
        let px = smoothImage(w, h)
        let png = try Photo.decode(try PhotoEncoder.png(px, width: w, height: h))
        XCTAssertEqual([png.width, png.height], [w, h])
        XCTAssertEqual(png.rgb, px)
        let jpg = try Photo.decode(try PhotoEncoder.jpeg(px, width: w, height: h, quality: 100))
        XCTAssertEqual([jpg.width, jpg.height], [w, h])
        let worst = zip(jpg.rgb, px).map { abs(Int($0) - Int($1)) }.max()!
        XCTAssertLessThanOrEqual(worst, 8, "JPEG quality 100 of a smooth ramp")
    }

    func testGreyscaleBecomesRGB() throws {
        let (w, h) = (17, 9)
        let grey = (0..<(w * h)).map { UInt8($0 * 255 / (w * h)) }
        let png = try Photo.decode(try PhotoEncoder.png(grey, width: w, height: h, components: 1))
        for i in 0..<(w * h) { XCTAssertEqual(Array(png.rgb[(3 * i)..<(3 * i + 3)]), [grey[i], grey[i], grey[i]]) }
        let jpg = try Photo.decode(try PhotoEncoder.jpeg(grey, width: w, height: h, components: 1, quality: 100))
        for i in 0..<(w * h) { XCTAssertEqual(jpg.rgb[3 * i], jpg.rgb[3 * i + 1]); XCTAssertEqual(jpg.rgb[3 * i], jpg.rgb[3 * i + 2]) }
    }

    func testCMYKJPEGIsConverted() throws {
        // libjpeg writes an Adobe marker with CMYK, so readers take the values as Adobe's
        // inverted CMYK (255 = no ink): RGB = (C', M', Y') · K' / 255.
        let (w, h) = (16, 16)
        var cmyk: [UInt8] = []
        for _ in 0..<(w * h) { cmyk += [200, 100, 50, 128] }
        let p = try Photo.decode(try PhotoEncoder.jpeg(cmyk, width: w, height: h, components: 4, quality: 100))
        let expected = [200 * 128 / 255, 100 * 128 / 255, 50 * 128 / 255]
        for c in 0..<3 { XCTAssertEqual(Double(p.rgb[(8 * w + 8) * 3 + c]), Double(expected[c]), accuracy: 3, "channel \(c)") }
    }

    func testEXIFOrientationIsApplied() throws {
        let (w, h) = (40, 20)
        let jpeg = try PhotoEncoder.jpeg(halvesImage(w, h), width: w, height: h, quality: 95)
        func colour(_ p: Photo, _ x: Int, _ y: Int) -> String {
            let o = (y * p.width + x) * 3
            return p.rgb[o] > 200 && p.rgb[o + 2] < 60 ? "red" : p.rgb[o + 2] > 200 && p.rgb[o] < 60 ? "blue" : "?"
        }
        let plain = try Photo.decode(jpeg)
        XCTAssertEqual([plain.width, plain.height, 0], [w, h, 0])
        XCTAssertEqual(colour(plain, 5, 10), "red")
        // 6: display rotated 90° clockwise — the left edge becomes the top.
        for bigEndian in [true, false] {
            let r = try Photo.decode(withEXIFOrientation(jpeg, 6, bigEndian: bigEndian))
            XCTAssertEqual([r.width, r.height], [h, w], "orientation 6 swaps the sides")
            XCTAssertEqual(colour(r, 10, 5), "red"); XCTAssertEqual(colour(r, 10, 34), "blue")
        }
        // 8: 90° counter-clockwise — the left edge becomes the bottom.
        let r8 = try Photo.decode(withEXIFOrientation(jpeg, 8))
        XCTAssertEqual([r8.width, r8.height], [h, w])
        XCTAssertEqual(colour(r8, 10, 34), "red"); XCTAssertEqual(colour(r8, 10, 5), "blue")
        // 3: 180° — the left edge goes right.
        let r3 = try Photo.decode(withEXIFOrientation(jpeg, 3))
        XCTAssertEqual([r3.width, r3.height], [w, h])
        XCTAssertEqual(colour(r3, 34, 10), "red"); XCTAssertEqual(colour(r3, 5, 10), "blue")
        // 1: as stored.
        XCTAssertEqual(try Photo.decode(withEXIFOrientation(jpeg, 1)).rgb, plain.rgb)
    }

    func testTruncatedAndGarbageFilesThrowWithAReason() throws {
        let px = smoothImage(64, 48)
        let jpeg = try PhotoEncoder.jpeg(px, width: 64, height: 48)
        let png = try PhotoEncoder.png(px, width: 64, height: 48)
        var garbage = [UInt8](repeating: 0, count: 500)
        var rng = SystemRandomNumberGenerator()
        for i in garbage.indices { garbage[i] = UInt8.random(in: 0...255, using: &rng) }
        garbage[0] = 0x42
        let cases: [(String, [UInt8], String)] = [
            ("truncated JPEG", Array(jpeg[0..<(jpeg.count / 2)]), "JPEG"),
            ("truncated PNG", Array(png[0..<(png.count / 2)]), "PNG"),
            ("JPEG header only", Array(jpeg[0..<4]), "JPEG"),
            ("garbage", garbage, "neither a JPEG nor a PNG"),
            ("empty", [], "empty"),
        ]
        for (name, bytes, word) in cases {
            XCTAssertThrowsError(try Photo.decode(bytes), name) { e in
                XCTAssertTrue("\(e)".contains(word), "\(name): \(e)")
                XCTAssertFalse("\(e)".contains("\n"), "\(name): one line")
            }
        }
    }

    func testAWarningThatLeavesAWholeImageIsNotAnError() throws {
        // Bytes between two markers: libjpeg warns ("extraneous bytes before marker") and
        // decodes the whole image, as it does for some ImageNet files. Kept, not skipped.
        let px = smoothImage(48, 32)
        let jpeg = try PhotoEncoder.jpeg(px, width: 48, height: 32)
        let sos = (2..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xDA }!
        let odd = Array(jpeg[0..<sos]) + [0x00, 0x11, 0x22] + Array(jpeg[sos...])
        XCTAssertEqual(try Photo.decode(odd).rgb, try Photo.decode(jpeg).rgb)
    }

    func testA256SquareIsKeptExactly() throws {
        let px = rgbImage(256, 256) { x, y, c in (x * 7 + y * 13 + c * 50) % 256 }
        var out = [UInt8](repeating: 0, count: 3 * 256 * 256)
        Photo(width: 256, height: 256, rgb: px).centreSquare(256, into: &out)
        XCTAssertEqual(out, planar(px, 256, 256))
    }

    func testShorterSideAtSizeKeepsTheCentralColumns() throws {
        // 512×256: already 256 high, so the central 256 columns come out unchanged.
        let px = rgbImage(512, 256) { x, y, c in (x * 3 + y * 5 + c * 70) % 256 }
        var out = [UInt8](repeating: 0, count: 3 * 256 * 256)
        Photo(width: 512, height: 256, rgb: px).centreSquare(256, into: &out)
        for c in 0..<3 { for y in [0, 100, 255] { for x in [0, 1, 128, 255] {
            XCTAssertEqual(out[c * 65536 + y * 256 + x], px[(y * 512 + x + 128) * 3 + c], "c\(c) y\(y) x\(x)")
        } } }
    }

    func testHalvingAveragesWithTheWidenedTriangle() throws {
        // 512 → 256: the tent of half-width 2 source pixels centred between source pixels
        // 2o and 2o+1 weighs 2o−1, 2o, 2o+1, 2o+2 by 1/8, 3/8, 3/8, 1/8 (worked by hand).
        let px = rgbImage(512, 512) { x, y, c in c == 0 ? (x * 37 + y * 11) % 256 : c == 1 ? (x * x + y) % 256 : 255 - (y * 3) % 256 }
        var out = [UInt8](repeating: 0, count: 3 * 256 * 256)
        Photo(width: 512, height: 512, rgb: px).centreSquare(256, into: &out)
        let w: [Double] = [1, 3, 3, 1].map { $0 / 8 }
        var worst = 0.0
        for c in 0..<3 { for oy in stride(from: 1, to: 255, by: 7) { for ox in stride(from: 1, to: 255, by: 5) {
            var v = 0.0
            for (i, wy) in w.enumerated() { for (j, wx) in w.enumerated() {
                v += wy * wx * Double(px[((2 * oy - 1 + i) * 512 + (2 * ox - 1 + j)) * 3 + c])
            } }
            let got = Double(out[c * 65536 + oy * 256 + ox])
            worst = max(worst, abs(got - v))
        } } }
        XCTAssertLessThanOrEqual(worst, 0.5 + 1e-3, "largest difference from the hand-weighted average")
    }

    func testConstantImagesStayConstantAtAnySize() throws {
        for (w, h) in [(300, 200), (181, 523), (97, 64)] {
            let px = rgbImage(w, h) { _, _, c in [30, 140, 220][c] }
            var out = [UInt8](repeating: 0, count: 3 * 64 * 64)
            Photo(width: w, height: h, rgb: px).centreSquare(64, into: &out)
            for c in 0..<3 { XCTAssertEqual(Set(out[(c * 4096)..<((c + 1) * 4096)]), [UInt8([30, 140, 220][c])], "\(w)×\(h) channel \(c)") }
        }
    }
}

/// 16-bit PNGs, written here by hand (chunks, zlib stored blocks, CRC and Adler-32): their
/// samples are decoded like 8-bit ones (the top byte, rounded), not gamma-encoded as if they
/// were linear light, which made grey 0x8080 come out as 186.
final class SixteenBitPNGTests: XCTestCase {
    /// A PNG of `width`×`height`, colour type `colourType` (0 grey, 2 RGB, 4 grey+alpha, 6 RGBA),
    /// 16 bits per sample, from big-endian samples per row (no filter).
    func png16(width: Int, height: Int, colourType: UInt8, samples: [UInt16]) -> [UInt8] {
        func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            return be32(UInt32(data.count)) + body + be32(body.withUnsafeBytes { crc32($0) })
        }
        let perRow = samples.count / height
        var raw: [UInt8] = []
        for y in 0..<height {
            raw.append(0)   // filter: none
            for s in samples[(y * perRow)..<((y + 1) * perRow)] { raw += [UInt8(s >> 8), UInt8(s & 0xFF)] }
        }
        var z: [UInt8] = [0x78, 0x01]
        var at = 0
        repeat {
            let n = min(65535, raw.count - at), last: UInt8 = at + n == raw.count ? 1 : 0
            z += [last, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)] + raw[at..<(at + n)]
            at += n
        } while at < raw.count
        var a: UInt32 = 1, b: UInt32 = 0
        for x in raw { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        z += be32(b << 16 | a)
        let ihdr = be32(UInt32(width)) + be32(UInt32(height)) + [16, colourType, 0, 0, 0]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr) + chunk("IDAT", z) + chunk("IEND", [])
    }

    func testSixteenBitSamplesAreDecodedLikeEightBitOnes() throws {
        let grey = try Photo.decode(png16(width: 3, height: 2, colourType: 0, samples: [0x8080, 0x0000, 0xFFFF, 0x0101, 0x7F7F, 0xFEFE]))
        XCTAssertEqual(grey.rgb, [128, 128, 128, 0, 0, 0, 255, 255, 255, 1, 1, 1, 127, 127, 127, 254, 254, 254])
        let rgb = try Photo.decode(png16(width: 1, height: 1, colourType: 2, samples: [0x8080, 0x4040, 0xC0C0]))
        XCTAssertEqual(rgb.rgb, [128, 64, 192])
        // Alpha composites onto white, as for 8-bit PNGs: transparent is white, opaque is the colour.
        let rgba = try Photo.decode(png16(width: 2, height: 1, colourType: 6, samples: [0x1010, 0x2020, 0x3030, 0x0000, 0x1010, 0x2020, 0x3030, 0xFFFF]))
        XCTAssertEqual(rgba.rgb, [255, 255, 255, 16, 32, 48])
    }
}
