import AlexNetCore
import AlexNetLayers
import XCTest
import _TestSupport

final class MaxPoolTests: XCTestCase {
    func testShapes() {
        XCTAssertEqual(MaxPool.outputSize(55, size: 3, stride: 2), 27)
        XCTAssertEqual(MaxPool.outputSize(27, size: 3, stride: 2), 13)
        XCTAssertEqual(MaxPool.outputSize(13, size: 3, stride: 2), 6)
        XCTAssertEqual(MaxPool.outputSize(4, size: 2, stride: 2), 2)
        // Two planes of 5×5 → 2×2 each; nothing past the output is written.
        let x = randomTensor("x", [2, 5, 5], seed: 1)
        let y = Tensor("y", [8 + 4]), index = UnsafeMutablePointer<Int32>.allocate(capacity: 12)
        defer { index.deallocate() }
        for i in 8..<12 { y[i] = 999; index[i] = -7 }
        MaxPool.forward(x: x.data, y: y.data, index: index, planes: 2, height: 5, width: 5, size: 3, stride: 2)
        for i in 8..<12 { XCTAssertEqual(y[i], 999); XCTAssertEqual(index[i], -7) }
    }

    /// Hand-checkable 5×5 plane, 3×3 windows at stride 2 (overlapping by one row and column).
    func testForwardByHand() {
        let x = Tensor("x", [1, 5, 5])
        x.copy(from: [1, 2, 3, 4, 5,
                      6, 7, 8, 9, 10,
                      11, 12, 30, 14, 15,
                      16, 17, 18, 19, 20,
                      21, 22, 23, 24, 25])
        let y = Tensor("y", [1, 2, 2]), index = UnsafeMutablePointer<Int32>.allocate(capacity: 4)
        defer { index.deallocate() }
        MaxPool.forward(x: x.data, y: y.data, index: index, planes: 1, height: 5, width: 5, size: 3, stride: 2)
        XCTAssertEqual(y.array, [30, 30, 30, 30])
        XCTAssertEqual(Array(UnsafeBufferPointer(start: index, count: 4)), [12, 12, 12, 12])
        // The shared centre collects the gradient of all four windows.
        let dy = Tensor("dy", [1, 2, 2]); dy.copy(from: [1, 2, 3, 4])
        let dx = randomTensor("dx", [1, 5, 5], seed: 9, in: 50...60)
        MaxPool.backward(dy: dy.data, index: index, dx: dx.data, planes: 1, height: 5, width: 5, size: 3, stride: 2)
        XCTAssertEqual(dx.array, (0..<25).map { $0 == 12 ? 10 : 0 })
    }

    func testTieGoesToTheFirstMaximum() {
        let x = Tensor("x", [1, 3, 3]); x.copy(from: [0, 5, 5, 5, 1, 5, 5, 5, 5])
        let y = Tensor("y", [1]), index = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        defer { index.deallocate() }
        MaxPool.forward(x: x.data, y: y.data, index: index, planes: 1, height: 3, width: 3, size: 3, stride: 2)
        XCTAssertEqual(y[0], 5)
        XCTAssertEqual(index[0], 1)
    }

    func testForwardMatchesNaive() {
        let planes = 3, H = 9, W = 7, z = 3, s = 2
        let Ho = (H - z) / s + 1, Wo = (W - z) / s + 1
        let x = randomTensor("x", [planes, H, W], seed: 2)
        let y = Tensor("pool.y", [planes, Ho, Wo]), index = UnsafeMutablePointer<Int32>.allocate(capacity: y.count)
        defer { index.deallocate() }
        MaxPool.forward(x: x.data, y: y.data, index: index, planes: planes, height: H, width: W, size: z, stride: s)
        var expected = [Float](repeating: 0, count: y.count)
        for p in 0..<planes {
            for oy in 0..<Ho {
                for ox in 0..<Wo {
                    var m = -Float.infinity
                    for i in 0..<z { for j in 0..<z { m = max(m, x[(p * H + oy * s + i) * W + ox * s + j]) } }
                    expected[(p * Ho + oy) * Wo + ox] = m
                }
            }
        }
        assertClose(y, expected, rtol: 0, atol: 0)
        for o in 0..<y.count {
            let p = o / (Ho * Wo)
            XCTAssertEqual(x[p * H * W + Int(index[o])], y[o], "index[\(o)] does not point at the maximum")
        }
    }

    /// Inputs are a random permutation of values 0.1 apart; the step 0.01 never changes a winner.
    func testGradient() {
        let planes = 4, H = 7, W = 7, z = 3, s = 2
        let Ho = (H - z) / s + 1, Wo = (W - z) / s + 1
        let x = Tensor("pool.x", [planes, H, W])
        x.copy(from: separatedValues(x.count, spacing: 0.1, offset: -10, seed: 3))
        let y = Tensor("y", [planes, Ho, Wo]), r = randomTensor("r", y.shape, seed: 4)
        let index = UnsafeMutablePointer<Int32>.allocate(capacity: y.count)
        defer { index.deallocate() }
        let loss = { () -> Double in
            MaxPool.forward(x: x.data, y: y.data, index: index, planes: planes, height: H, width: W, size: z, stride: s)
            return weightedSum(y, r)
        }
        _ = loss()
        let dx = randomTensor("dx", x.shape, seed: 5, in: 50...60)
        MaxPool.backward(dy: r.data, index: index, dx: dx.data, planes: planes, height: H, width: W, size: z, stride: s)
        GradientCheck(step: 1e-2).check(x.name, values: x.data, analytic: dx.array, loss: loss)
    }
}
