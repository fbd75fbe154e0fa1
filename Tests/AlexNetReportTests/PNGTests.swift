@testable import AlexNetReport
import _TestSupport
import XCTest

/// Our PNG writer, checked by decoding its files with an independent decoder (Python's zlib
/// plus the unfiltering written in `pythonPNGDecoder`).
final class PNGTests: XCTestCase {
    func testRGBRoundTrip() throws {
        let dir = try makeScratchDirectory(self)
        var b = Bitmap(width: 7, height: 5, channels: 3, fill: 0)
        for y in 0..<5 { for x in 0..<7 { b.set(x, y, [UInt8(x * 36), UInt8(y * 60), UInt8((x * 31 + y * 17) % 256)]) } }
        let path = dir + "/rgb.png"
        try Data(b.png()).write(to: URL(fileURLWithPath: path))
        let d = try decodePNGIndependently(path, in: dir)
        XCTAssertEqual([d.width, d.height, d.channels], [7, 5, 3])
        XCTAssertEqual(d.pixels, b.pixels)
    }

    func testGreyRoundTripLargeAndScaled() throws {
        let dir = try makeScratchDirectory(self)
        var b = Bitmap(width: 33, height: 20, channels: 1)
        for y in 0..<20 { for x in 0..<33 { b.set(x, y, [UInt8((x * y * 7 + x) % 256)]) } }
        let s = b.scaled(by: 3)
        XCTAssertEqual(s.pixel(5, 7), b.pixel(1, 2))
        let path = dir + "/grey.png"
        try Data(s.png()).write(to: URL(fileURLWithPath: path))
        let d = try decodePNGIndependently(path, in: dir)
        XCTAssertEqual([d.width, d.height, d.channels], [99, 60, 1])
        XCTAssertEqual(d.pixels, s.pixels)
    }

    func testDataURIIsBase64OfTheFile() {
        let b = Bitmap(width: 1, height: 1, channels: 1, fill: 9)
        XCTAssertEqual(b.dataURI, "data:image/png;base64," + Data(b.png()).base64EncodedString())
        XCTAssertEqual(Array(b.png().prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }
}
