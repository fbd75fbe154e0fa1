@testable import AlexNetReport
import XCTest

final class KernelGridTests: XCTestCase {
    /// A 2×2 grey kernel [-1, 0, 1, 3] normalises to [0, 0.25, 0.5, 1] → bytes 0, 64, 128, 255.
    func testGreyKernelNormalisedOnItsOwn() {
        let b = KernelGrid.kernel([9, 9, 9, 9, -1, 0, 1, 3], index: 1, channels: 1, size: 2)
        XCTAssertEqual(b.channels, 1)
        XCTAssertEqual(b.pixels, [0, 64, 128, 255])
        XCTAssertEqual(KernelGrid.kernel([9, 9, 9, 9], index: 0, channels: 1, size: 2).pixels, [128, 128, 128, 128], "constant: mid grey")
        XCTAssertNil(KernelGrid.meanSaturation([1, 2, 3, 4], kernels: 1, channels: 1, size: 2), "no colour in grey input")
    }

    /// A 1×1 RGB kernel per test. (0, 1, 2) normalises to (0, 0.5, 1): saturation (1 − 0)/1 = 1.
    /// A grey-balanced kernel of 2×1… 1×1 kernels (r, g, b) = (5, 5, 5): constant → (0.5, 0.5, 0.5): 0.
    /// Two 2×2 kernels: kernel A r = g = b = [0, 1, 2, 3] (saturation 0 everywhere);
    /// kernel B r = [0, 0, 0, 0], g = [2, 2, 2, 2], b = [1, 1, 1, 1] → normalised (0, 1, 0.5): saturation 1.
    /// Mean over the 8 pixels: 0.5.
    func testSaturationByHand() {
        XCTAssertEqual(KernelGrid.meanSaturation([0, 1, 2], kernels: 1, channels: 3, size: 1)!, 1, accuracy: 1e-12)
        XCTAssertEqual(KernelGrid.meanSaturation([5, 5, 5], kernels: 1, channels: 3, size: 1)!, 0, accuracy: 1e-12)
        let a: [Float] = [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]
        let b: [Float] = [0, 0, 0, 0, 2, 2, 2, 2, 1, 1, 1, 1]
        XCTAssertEqual(KernelGrid.meanSaturation(a + b, kernels: 2, channels: 3, size: 2)!, 0.5, accuracy: 1e-12)
        let rgb = KernelGrid.kernel(a + b, index: 1, channels: 3, size: 2)
        XCTAssertEqual(rgb.pixel(1, 1), [0, 255, 128])
    }

    /// 3 kernels of 1×1 in 2 columns, zoom 2, gap 1: width 2·(2+1)+1 = 7, height 2·3+1 = 7; kernel 2 at (1, 4).
    func testGridLayout() {
        let g = KernelGrid.grid([1, 2, 3], kernels: 3, channels: 1, size: 1, columns: 2, zoom: 2, gap: 1, background: 7)
        XCTAssertEqual(g.width, 7); XCTAssertEqual(g.height, 7)
        XCTAssertEqual(g.pixel(0, 0), [7])
        XCTAssertEqual(g.pixel(1, 4), [128]); XCTAssertEqual(g.pixel(2, 5), [128])
        XCTAssertEqual(g.pixel(4, 4), [7], "no fourth kernel")
    }
}
