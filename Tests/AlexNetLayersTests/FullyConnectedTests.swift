import AlexNetCore
import AlexNetLayers
import XCTest
import _TestSupport

final class FullyConnectedTests: XCTestCase {
    func makeLayer(_ name: String, inFeatures: Int, outFeatures: Int, batch: Int, seed: UInt64) -> FullyConnected {
        let fc = FullyConnected(name: name, inFeatures: inFeatures, outFeatures: outFeatures, batch: batch)
        fillRandom(fc.weight.value, seed: seed, in: -0.5...0.5)
        fillRandom(fc.bias.value, seed: seed + 1)
        return fc
    }

    func testShapes() {
        let fc = FullyConnected(name: "fc6", inFeatures: 36, outFeatures: 10, batch: 4)
        XCTAssertEqual(fc.weight.value.shape, [10, 36])
        XCTAssertEqual(fc.weight.grad.shape, [10, 36])
        XCTAssertEqual(fc.weight.momentum.shape, [10, 36])
        XCTAssertEqual(fc.bias.value.shape, [10])
        XCTAssertEqual(fc.bias.grad.shape, [10])
        XCTAssertEqual([fc.inFeatures, fc.outFeatures, fc.batch], [36, 10, 4])
        XCTAssertEqual(fc.weight.name, "fc6.weight")
        XCTAssertEqual(fc.bias.name, "fc6.bias")
        XCTAssertTrue(fc.weight.decays)
        XCTAssertFalse(fc.bias.decays)
    }

    /// Hand-checkable: w = [[1, 2], [3, 4], [0, −1]], b = [0.5, 0, 1], two images x = (1, 1), (2, −1).
    func testForwardByHand() {
        let fc = FullyConnected(name: "fc", inFeatures: 2, outFeatures: 3, batch: 2)
        fc.weight.value.copy(from: [1, 2, 3, 4, 0, -1]); fc.bias.value.copy(from: [0.5, 0, 1])
        let x = Tensor("x", [2, 2]); x.copy(from: [1, 2,    // feature 0 of images 0, 1
                                                   1, -1])  // feature 1
        let y = Tensor("y", [3, 2])
        fc.forward(x: x.data, y: y.data)
        XCTAssertEqual(y.array, [3.5, 0.5,   // 1 + 2 + 0.5,  2 − 2 + 0.5
                                 7, 2,       // 3 + 4,        6 − 4
                                 0, 2])      // −1 + 1,       1 + 1
    }

    /// `y[f][n] = b[f] + Σ_i w[f][i]·x[i][n]`, in Double.
    func testForwardMatchesNaive() {
        let Fi = 7, Fo = 5, N = 3
        let fc = makeLayer("fc", inFeatures: Fi, outFeatures: Fo, batch: N, seed: 1)
        let x = randomTensor("x", [Fi, N], seed: 3)
        let y = randomTensor("fc.y", [Fo, N], seed: 4, in: 100...200)  // overwritten, not accumulated
        fc.forward(x: x.data, y: y.data)
        var expected = [Double](repeating: 0, count: Fo * N)
        for f in 0..<Fo {
            for n in 0..<N {
                var s = Double(fc.bias.value[f])
                for i in 0..<Fi { s += Double(fc.weight.value[f * Fi + i]) * Double(x[i * N + n]) }
                expected[f * N + n] = s
            }
        }
        assertClose(y, expected, rtol: 1e-5, atol: 1e-6)
    }

    func checkGradients(inFeatures Fi: Int, outFeatures Fo: Int, batch N: Int, seed: UInt64,
                        file: StaticString = #filePath, line: UInt = #line) {
        let fc = makeLayer("fc", inFeatures: Fi, outFeatures: Fo, batch: N, seed: seed)
        let x = randomTensor("fc.x", [Fi, N], seed: seed + 2)
        let y = Tensor("fc.y", [Fo, N])
        let r = randomTensor("fc.r", y.shape, seed: seed + 3)
        let loss = { () -> Double in fc.forward(x: x.data, y: y.data); return weightedSum(y, r) }
        _ = loss()
        fillRandom(fc.weight.grad, seed: 90, in: 50...60)
        fillRandom(fc.bias.grad, seed: 91, in: 50...60)
        let dx = randomTensor("fc.dx", x.shape, seed: 92, in: 50...60)
        fc.backward(x: x.data, dy: r.data, dx: dx.data)
        let check = GradientCheck(step: 1e-2)
        check.check(fc.weight.value, gradient: fc.weight.grad, loss: loss, file: file, line: line)
        check.check(fc.bias.value, gradient: fc.bias.grad, loss: loss, file: file, line: line)
        check.check(x.name, values: x.data, analytic: dx.array, loss: loss, file: file, line: line)
    }

    func testGradients() { checkGradients(inFeatures: 7, outFeatures: 5, batch: 3, seed: 10) }
    func testGradientsOneImage() { checkGradients(inFeatures: 4, outFeatures: 6, batch: 1, seed: 20) }
}

final class FlattenTests: XCTestCase {
    func testShapesAndOrderByHand() {
        // Two channels, two images, 2×1 maps: x[c][n][p].
        let x = Tensor("x", [2, 2, 2]); x.copy(from: [1, 2,  3, 4,    // channel 0: image 0, image 1
                                                     5, 6,  7, 8])   // channel 1
        let y = Tensor("y", [4, 2])
        Flatten.forward(x.data, y.data, channels: 2, batch: 2, plane: 2)
        // Features c·P + p, one column per image: image 0 is (1, 2, 5, 6), image 1 is (3, 4, 7, 8).
        XCTAssertEqual(y.array, [1, 3, 2, 4, 5, 7, 6, 8])
    }

    /// Feature `c·H·W + h·W + w` of image `n` is `x[c][n][h][w]` (PyTorch's flatten of NCHW).
    func testForwardMatchesNaive() {
        let C = 3, N = 2, H = 2, W = 3
        let x = randomTensor("x", [C, N, H, W], seed: 1)
        let y = Tensor("flatten.y", [C * H * W, N])
        Flatten.forward(x.data, y.data, channels: C, batch: N, plane: H * W)
        var expected = [Float](repeating: .nan, count: y.count)
        for n in 0..<N {
            for c in 0..<C {
                for h in 0..<H {
                    for w in 0..<W { expected[(c * H * W + h * W + w) * N + n] = x[((c * N + n) * H + h) * W + w] }
                }
            }
        }
        assertClose(y, expected, rtol: 0, atol: 0)
    }

    func testRoundTrip() {
        let C = 3, N = 4, P = 5
        let x = randomTensor("x", [C, N, P], seed: 2)
        let y = Tensor("y", [C * P, N]), back = Tensor("flatten.roundtrip", [C, N, P])
        Flatten.forward(x.data, y.data, channels: C, batch: N, plane: P)
        Flatten.backward(y.data, back.data, channels: C, batch: N, plane: P)
        assertClose(back, x.array, rtol: 0, atol: 0)
    }

    func testGradient() {
        let C = 2, N = 3, P = 4
        let x = randomTensor("flatten.x", [C, N, P], seed: 3)
        let y = Tensor("y", [C * P, N]), r = randomTensor("r", [C * P, N], seed: 4)
        let loss = { () -> Double in Flatten.forward(x.data, y.data, channels: C, batch: N, plane: P); return weightedSum(y, r) }
        let dx = Tensor("dx", x.shape)
        Flatten.backward(r.data, dx.data, channels: C, batch: N, plane: P)
        GradientCheck().check(x.name, values: x.data, analytic: dx.array, loss: loss)
    }
}
