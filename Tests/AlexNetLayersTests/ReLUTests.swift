import AlexNetCore
import AlexNetLayers
import XCTest
import _TestSupport

final class ReLUTests: XCTestCase {
    /// Values with `|x| ≥ 0.05`, both signs: more than twice the gradient check's step from the kink.
    func awayFromZero(_ count: Int, seed: UInt64) -> [Float] {
        let magnitude = testValues(count, seed: seed, in: 0.05...1)
        let sign = testValues(count, seed: seed + 1)
        return zip(magnitude, sign).map { $1 < 0 ? -$0 : $0 }
    }

    func testShapesTouchOnlyCount() {
        let y = Tensor("y", [8]); y.copy(from: [-1, 2, -3, 4, -5, -6, -7, -8])
        ReLU.forward(y.data, count: 4)
        XCTAssertEqual(y.array, [0, 2, 0, 4, -5, -6, -7, -8])
        let dy = Tensor("dy", [8]); dy.copy(from: Array(repeating: 1, count: 8))
        ReLU.backward(y: y.data, dy: dy.data, count: 4)
        XCTAssertEqual(dy.array, [0, 1, 0, 1, 1, 1, 1, 1])
    }

    func testForwardMatchesNaive() {
        let x = awayFromZero(50, seed: 1) + [0, -0.0, 1e-30, -1e-30]
        let y = Tensor("relu.y", [x.count]); y.copy(from: x)
        ReLU.forward(y.data, count: y.count)
        assertClose(y, x.map { $0 > 0 ? $0 : 0 }, rtol: 0, atol: 0)
    }

    func testGradient() {
        let x = Tensor("relu.x", [40]); x.copy(from: awayFromZero(40, seed: 2))
        let y = Tensor("relu.y", [40]), r = randomTensor("r", [40], seed: 3)
        let loss = { () -> Double in
            y.copy(from: x.array)
            ReLU.forward(y.data, count: y.count)
            return weightedSum(y, r)
        }
        _ = loss()
        let dy = Tensor("relu.dy", [40]); dy.copy(from: r.array)
        ReLU.backward(y: y.data, dy: dy.data, count: 40)
        GradientCheck(step: 1e-2).check(x.name, values: x.data, analytic: dy.array, loss: loss)
    }
}
