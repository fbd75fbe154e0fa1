import AlexNetCore
import CKernels
import XCTest
import _TestSupport

/// `im2col` against the formula of its doc comment, and `col2im` as its adjoint.
final class Im2colTests: XCTestCase {
    /// `col[(c·k + i)·k + j][(r − r0)·Wo + x] = input[c][n][y·s − p + i][x·s − p + j]` for the
    /// output rows r of the chunk, image n = r / Ho, row y = r % Ho; zero outside the map;
    /// written from the output side, one entry at a time, over (image, row) pairs.
    func naiveIm2col(_ g: ConvGeometry, input: [Float], r0: Int, rows: Int) -> [Float] {
        let k = g.kernel, Ho = g.outHeight, Wo = g.outWidth
        let cols = rows * Wo
        var col = [Float](repeating: 0, count: g.colRows * cols)
        for c in 0..<g.channels {
            for i in 0..<k {
                for j in 0..<k {
                    for n in 0..<g.batch {
                        for y in 0..<Ho where (r0..<(r0 + rows)).contains(n * Ho + y) {
                            for x in 0..<Wo {
                                let iy = y * g.stride - g.pad + i, ix = x * g.stride - g.pad + j
                                let inside = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width
                                let v = inside ? input[((c * g.batch + n) * g.height + iy) * g.width + ix] : 0
                                col[((c * k + i) * k + j) * cols + (n * Ho + y - r0) * Wo + x] = v
                            }
                        }
                    }
                }
            }
        }
        return col
    }

    /// Whole images `n0 ..< n0+nChunk`.
    func checkIm2col(_ g: ConvGeometry, n0: Int, nChunk: Int, file: StaticString = #filePath, line: UInt = #line) {
        checkIm2col(g, r0: n0 * g.outHeight, rows: nChunk * g.outHeight, file: file, line: line)
    }

    /// Both versions of the C loops: the whole-run copies of "same" padding and the row loop.
    func checkIm2col(_ g: ConvGeometry, r0: Int, rows: Int, file: StaticString = #filePath, line: UInt = #line) {
        let x = randomTensor("x", [g.channels, g.batch, g.height, g.width], seed: 21)
        let expected = naiveIm2col(g, input: x.array, r0: r0, rows: rows)
        for runs in [true, false] {
            axmp_allow_same(runs ? 1 : 0)
            defer { axmp_allow_same(1) }
            // Garbage in the workspace first: every entry, the zeros of the padding included, must be written.
            let col = randomTensor("col(k\(g.kernel) s\(g.stride) p\(g.pad) rows \(r0)..<\(r0 + rows)\(runs ? "" : ", row loop"))",
                                   [g.colRows, rows * g.outWidth], seed: 22, in: 100...200)
            im2col(g, input: x.data, r0: r0, rows: rows, col: col.data)
            assertClose(col, expected, rtol: 0, atol: 0, file: file, line: line)
        }
    }

    /// Wider maps, the paper's conv1 stride, and "same" padding on maps shorter than the kernel.
    func testWideMapsAndMapsShorterThanTheKernel() {
        checkIm2col(ConvGeometry(channels: 2, height: 2, width: 5, batch: 3, kernel: 5, stride: 1, pad: 2), r0: 1, rows: 4)
        checkIm2col(ConvGeometry(channels: 1, height: 1, width: 7, batch: 2, kernel: 3, stride: 1, pad: 1), r0: 0, rows: 2)
        checkIm2col(ConvGeometry(channels: 2, height: 40, width: 37, batch: 2, kernel: 3, stride: 1, pad: 1), r0: 35, rows: 10)
        checkIm2col(ConvGeometry(channels: 1, height: 87, width: 87, batch: 2, kernel: 11, stride: 4, pad: 0), r0: 19, rows: 4)
        checkIm2col(ConvGeometry(channels: 1, height: 35, width: 35, batch: 1, kernel: 5, stride: 2, pad: 2), r0: 0, rows: 18)
    }

    func testOutputSizes() {
        XCTAssertEqual(outputSize(227, kernel: 11, stride: 4, pad: 0), 55)
        XCTAssertEqual(outputSize(27, kernel: 5, stride: 1, pad: 2), 27)
        XCTAssertEqual(outputSize(13, kernel: 3, stride: 1, pad: 1), 13)
        let g = ConvGeometry(channels: 3, height: 227, width: 227, batch: 128, kernel: 11, stride: 4, pad: 0)
        XCTAssertEqual(g.outHeight, 55); XCTAssertEqual(g.outWidth, 55)
        XCTAssertEqual(g.colRows, 363); XCTAssertEqual(g.outPlane, 3025)
    }

    /// Hand-checkable: one 3×3 map 1…9, a 2×2 kernel, stride 1, no padding.
    func testByHand() {
        let g = ConvGeometry(channels: 1, height: 3, width: 3, batch: 1, kernel: 2, stride: 1, pad: 0)
        let x = Tensor("x", [1, 1, 3, 3]); x.copy(from: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let col = Tensor("col", [4, 4])
        im2col(g, input: x.data, r0: 0, rows: 2, col: col.data)
        XCTAssertEqual(col.array, [1, 2, 4, 5,   // (i, j) = (0, 0)
                                   2, 3, 5, 6,   // (0, 1)
                                   4, 5, 7, 8,   // (1, 0)
                                   5, 6, 8, 9])  // (1, 1)
    }

    func testStride1Pad1() {
        checkIm2col(ConvGeometry(channels: 2, height: 5, width: 6, batch: 2, kernel: 3, stride: 1, pad: 1), n0: 0, nChunk: 2)
    }

    func testStride1Pad2Kernel5() {
        checkIm2col(ConvGeometry(channels: 3, height: 4, width: 5, batch: 1, kernel: 5, stride: 1, pad: 2), n0: 0, nChunk: 1)
    }

    /// A kernel wider than the map: whole rows of the column matrix are padding.
    func testStride1KernelLargerThanMap() {
        checkIm2col(ConvGeometry(channels: 1, height: 2, width: 1, batch: 2, kernel: 5, stride: 1, pad: 2), n0: 0, nChunk: 2)
    }

    func testStride4Pad2() {
        checkIm2col(ConvGeometry(channels: 2, height: 13, width: 11, batch: 2, kernel: 5, stride: 4, pad: 2), n0: 0, nChunk: 2)
    }

    func testStride4NoPadConv1Shape() {
        checkIm2col(ConvGeometry(channels: 3, height: 19, width: 19, batch: 1, kernel: 11, stride: 4, pad: 0), n0: 0, nChunk: 1)
    }

    /// A chunk of images from the middle of the minibatch.
    func testChunkOffset() {
        checkIm2col(ConvGeometry(channels: 2, height: 6, width: 5, batch: 4, kernel: 3, stride: 1, pad: 1), n0: 1, nChunk: 2)
        checkIm2col(ConvGeometry(channels: 2, height: 9, width: 9, batch: 4, kernel: 3, stride: 2, pad: 1), n0: 3, nChunk: 1)
    }

    /// Chunks in the middle of images, crossing from one image into the next.
    func testRowRangesInsideAndAcrossImages() {
        let g = ConvGeometry(channels: 2, height: 6, width: 5, batch: 3, kernel: 3, stride: 1, pad: 1)
        checkIm2col(g, r0: 2, rows: 3)     // rows 2…4 of image 0
        checkIm2col(g, r0: 4, rows: 5)     // image 0's last two rows, image 1's first three
        checkIm2col(g, r0: 17, rows: 1)    // the last row of the minibatch
        let g4 = ConvGeometry(channels: 3, height: 19, width: 19, batch: 3, kernel: 11, stride: 4, pad: 0)
        checkIm2col(g4, r0: 2, rows: 5)    // Ho = 3: image 0's last row, image 1's three, image 2's first
    }

    /// Whole images `n0 ..< n0+nChunk`.
    func checkAdjoint(_ g: ConvGeometry, n0: Int, nChunk: Int, file: StaticString = #filePath, line: UInt = #line) {
        checkAdjoint(g, r0: n0 * g.outHeight, rows: nChunk * g.outHeight, file: file, line: line)
    }

    /// `⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩` for random `x` and `c`; both versions of col2im add
    /// exactly the same.
    func checkAdjoint(_ g: ConvGeometry, r0: Int, rows: Int, file: StaticString = #filePath, line: UInt = #line) {
        let x = randomTensor("x", [g.channels, g.batch, g.height, g.width], seed: 31)
        let c = randomTensor("c", [g.colRows, rows * g.outWidth], seed: 32)
        let col = Tensor("col", c.shape)
        im2col(g, input: x.data, r0: r0, rows: rows, col: col.data)
        // The row loop's col2im, from a copy (col2im may zero the padding entries of its col).
        let rowLoop = Tensor("dx (row loop)", x.shape), c2 = Tensor("c2", c.shape)
        c2.copy(from: c.array)
        axmp_allow_same(0)
        col2im(g, col: c2.data, r0: r0, rows: rows, input: rowLoop.data)
        axmp_allow_same(1)
        let dx = Tensor("dx", x.shape)
        col2im(g, col: c.data, r0: r0, rows: rows, input: dx.data)
        assertClose(dx, rowLoop.array, rtol: 0, atol: 0, file: file, line: line)
        let lhs = dot(col.data, c.data, count: c.count), rhs = dot(x.data, dx.data, count: x.count)
        // dx sums up to k² floats per entry in Float: a relative error of a few ulps.
        XCTAssertEqual(lhs, rhs, accuracy: 1e-5 * max(1, abs(lhs)),
                       "col2im is not the adjoint of im2col for \(g), rows \(r0)..<\(r0 + rows)", file: file, line: line)
        // Input rows that no output row of the chunk reads receive nothing.
        let Ho = g.outHeight, k = g.kernel
        for ch in 0..<g.channels {
            for n in 0..<g.batch {
                for iy in 0..<g.height {
                    let read = (0..<Ho).contains { y in
                        (r0..<(r0 + rows)).contains(n * Ho + y) && iy >= y * g.stride - g.pad && iy < y * g.stride - g.pad + k
                    }
                    if read { continue }
                    for ix in 0..<g.width where dx[((ch * g.batch + n) * g.height + iy) * g.width + ix] != 0 {
                        XCTFail("col2im wrote outside its chunk at channel \(ch), image \(n), row \(iy)", file: file, line: line)
                        return
                    }
                }
            }
        }
    }

    func testCol2imIsAdjointForRowsWiderThanAVector() {
        checkAdjoint(ConvGeometry(channels: 2, height: 40, width: 37, batch: 2, kernel: 3, stride: 1, pad: 1), r0: 35, rows: 10)
        checkAdjoint(ConvGeometry(channels: 1, height: 87, width: 87, batch: 2, kernel: 11, stride: 4, pad: 0), r0: 19, rows: 4)
        checkAdjoint(ConvGeometry(channels: 1, height: 35, width: 35, batch: 1, kernel: 5, stride: 2, pad: 2), r0: 0, rows: 18)
        checkAdjoint(ConvGeometry(channels: 2, height: 2, width: 5, batch: 3, kernel: 5, stride: 1, pad: 2), r0: 1, rows: 4)
    }

    func testCol2imIsAdjointInsideAndAcrossImages() {
        let g = ConvGeometry(channels: 2, height: 6, width: 5, batch: 3, kernel: 3, stride: 1, pad: 1)
        checkAdjoint(g, r0: 2, rows: 3)
        checkAdjoint(g, r0: 4, rows: 5)
        checkAdjoint(ConvGeometry(channels: 3, height: 19, width: 19, batch: 3, kernel: 11, stride: 4, pad: 0), r0: 2, rows: 5)
    }

    func testCol2imIsAdjointStride1() {
        checkAdjoint(ConvGeometry(channels: 2, height: 5, width: 6, batch: 2, kernel: 3, stride: 1, pad: 1), n0: 0, nChunk: 2)
        checkAdjoint(ConvGeometry(channels: 2, height: 4, width: 4, batch: 3, kernel: 5, stride: 1, pad: 2), n0: 1, nChunk: 2)
    }

    func testCol2imIsAdjointStride4() {
        checkAdjoint(ConvGeometry(channels: 2, height: 13, width: 11, batch: 2, kernel: 5, stride: 4, pad: 2), n0: 0, nChunk: 2)
        checkAdjoint(ConvGeometry(channels: 3, height: 19, width: 19, batch: 3, kernel: 11, stride: 4, pad: 0), n0: 2, nChunk: 1)
    }

    /// col2im adds: what is already in `input` stays.
    func testCol2imAccumulates() {
        let g = ConvGeometry(channels: 1, height: 3, width: 3, batch: 1, kernel: 2, stride: 1, pad: 0)
        let col = Tensor("col", [4, 4]); col.copy(from: Array(repeating: 1, count: 16))
        let dx = Tensor("dx", [1, 1, 3, 3]); dx.copy(from: Array(repeating: 10, count: 9))
        col2im(g, col: col.data, r0: 0, rows: 2, input: dx.data)
        // Each input position is read by as many windows as cover it: corners 1, edges 2, centre 4.
        XCTAssertEqual(dx.array, [11, 12, 11, 12, 14, 12, 11, 12, 11])
    }
}
