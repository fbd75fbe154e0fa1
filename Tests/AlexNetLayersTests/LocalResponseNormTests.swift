import AlexNetCore
import AlexNetLayers
import XCTest
import _TestSupport

final class LocalResponseNormTests: XCTestCase {
    /// The paper's formula, `b[i] = a[i] / (k + α·Σ_{j=max(0,i−n/2)}^{min(C−1,i+n/2)} a[j]²)^β`,
    /// α **not** divided by n, over layout `[C][M]`, in Double.
    func paperLRN(_ a: [Float], channels C: Int, positions M: Int, k: Double, n: Int, alpha: Double, beta: Double) -> [Double] {
        var b = [Double](repeating: 0, count: C * M)
        for i in 0..<C {
            for m in 0..<M {
                var sum = 0.0
                for j in max(0, i - n / 2)...min(C - 1, i + n / 2) { sum += Double(a[j * M + m]) * Double(a[j * M + m]) }
                b[i * M + m] = Double(a[i * M + m]) / pow(k + alpha * sum, beta)
            }
        }
        return b
    }

    /// Values of either sign with magnitude 10…50: `α·Σa²` is 0.05…1.25 against k = 2, so the
    /// normalisation changes the output by several percent, well beyond the tolerance.
    func largeInputs(_ count: Int, seed: UInt64) -> [Float] {
        zip(testValues(count, seed: seed, in: 10...50), testValues(count, seed: seed + 1)).map { $1 < 0 ? -$0 : $0 }
    }

    func testShapes() {
        let C = 3, M = 4, guardCount = 8
        let a = Tensor("a", [C, M]); a.copy(from: largeInputs(C * M, seed: 1))
        let b = Tensor("b", [C * M + guardCount]), scale = Tensor("scale", [C * M + guardCount])
        for i in (C * M)..<(C * M + guardCount) { b[i] = 777; scale[i] = 777 }
        LocalResponseNorm.forward(.paper, a: a.data, b: b.data, scale: scale.data, channels: C, positions: M)
        for i in (C * M)..<(C * M + guardCount) {
            XCTAssertEqual(b[i], 777, "forward wrote past b"); XCTAssertEqual(scale[i], 777, "forward wrote past scale")
        }
        XCTAssertEqual(LRNParameters.paper, LRNParameters(k: 2, n: 5, alpha: 1e-4, beta: 0.75))
        XCTAssertNoThrow(try LRNParameters.paper.validate())
        XCTAssertThrowsError(try LRNParameters(k: 2, n: 4, alpha: 1e-4, beta: 0.75).validate())
        XCTAssertThrowsError(try LRNParameters(k: 0, n: 5, alpha: 1e-4, beta: 0.75).validate())
    }

    /// Hand-checkable: one channel, a = 100: b = 100 / (2 + 1e-4·10⁴)^0.75 = 100 / 3^0.75.
    func testForwardByHand() {
        let a = Tensor("a", [1, 1]); a[0] = 100
        let b = Tensor("b", [1, 1]), scale = Tensor("scale", [1, 1])
        LocalResponseNorm.forward(.paper, a: a.data, b: b.data, scale: scale.data, channels: 1, positions: 1)
        XCTAssertEqual(scale[0], 3, accuracy: 1e-6)
        XCTAssertEqual(b[0], 100 / Float(pow(3.0, 0.75)), accuracy: 1e-4)
    }

    func testForwardMatchesPaperFormula() {
        let C = 7, M = 6  // more channels than the window, so both ends are clipped
        let values = largeInputs(C * M, seed: 2)
        let a = Tensor("a", [C, M]); a.copy(from: values)
        let b = Tensor("lrn.b", [C, M]), scale = Tensor("lrn.scale", [C, M])
        LocalResponseNorm.forward(.paper, a: a.data, b: b.data, scale: scale.data, channels: C, positions: M)
        let expected = paperLRN(values, channels: C, positions: M, k: 2, n: 5, alpha: 1e-4, beta: 0.75)
        assertClose(b, expected, rtol: 1e-5, atol: 1e-5)

        // The test can tell: without normalisation, or with Caffe's α/n, the output is far off.
        let unnormalised = values.map { Double($0) / pow(2, 0.75) }
        let caffe = paperLRN(values, channels: C, positions: M, k: 2, n: 5, alpha: 1e-4 / 5, beta: 0.75)
        XCTAssertNotNil(closeMismatch(b.array, unnormalised, "unnormalised", rtol: 1e-3, atol: 1e-3),
                        "the inputs are too small for the normalisation to show")
        XCTAssertNotNil(closeMismatch(b.array, caffe, "alpha/n", rtol: 1e-3, atol: 1e-3),
                        "LRN output matches Caffe's alpha/n convention, not the paper's")

        // scale = k + α·Σ a², kept for the backward pass.
        var expectedScale = [Double](repeating: 0, count: C * M)
        for i in 0..<C {
            for m in 0..<M {
                var s = 0.0
                for j in max(0, i - 2)...min(C - 1, i + 2) { s += Double(values[j * M + m] * values[j * M + m]) }
                expectedScale[i * M + m] = 2 + 1e-4 * s
            }
        }
        assertClose(scale, expectedScale, rtol: 1e-5, atol: 1e-6)
    }

    /// A β other than 0.75 takes the `pow` path; n = 3.
    func testForwardOtherParameters() {
        let C = 5, M = 4
        let p = LRNParameters(k: 1, n: 3, alpha: 1e-3, beta: 0.6)
        let values = largeInputs(C * M, seed: 3)
        let a = Tensor("a", [C, M]); a.copy(from: values)
        let b = Tensor("lrn.b(n3 β0.6)", [C, M]), scale = Tensor("scale", [C, M])
        LocalResponseNorm.forward(p, a: a.data, b: b.data, scale: scale.data, channels: C, positions: M)
        assertClose(b, paperLRN(values, channels: C, positions: M, k: 1, n: 3, alpha: 1e-3, beta: 0.6),
                    rtol: 1e-5, atol: 1e-5)
    }

    func checkGradient(_ p: LRNParameters, channels C: Int, positions M: Int, seed: UInt64,
                       file: StaticString = #filePath, line: UInt = #line) {
        let a = Tensor("lrn.a(n\(p.n) α\(p.alpha))", [C, M]); a.copy(from: largeInputs(C * M, seed: seed))
        let b = Tensor("b", [C, M]), scale = Tensor("scale", [C, M])
        let r = randomTensor("r", [C, M], seed: seed + 2)
        let loss = { () -> Double in
            LocalResponseNorm.forward(p, a: a.data, b: b.data, scale: scale.data, channels: C, positions: M)
            return weightedSum(b, r)
        }
        _ = loss()
        let da = randomTensor("da", [C, M], seed: 90, in: 50...60)
        LocalResponseNorm.backward(p, a: a.data, b: b.data, scale: scale.data, db: r.data, da: da.data,
                                   channels: C, positions: M)
        GradientCheck(step: 1e-2, relativeTolerance: 2e-2, absoluteTolerance: 1e-4)
            .check(a.name, values: a.data, analytic: da.array, loss: loss, file: file, line: line)
    }

    func testGradientPaperParameters() {
        checkGradient(.paper, channels: 7, positions: 5, seed: 10)
    }

    /// A large α makes the cross-channel term dominate, so a wrong window index cannot hide.
    func testGradientStrongNormalisation() {
        checkGradient(LRNParameters(k: 2, n: 5, alpha: 1e-2, beta: 0.75), channels: 7, positions: 3, seed: 20)
        checkGradient(LRNParameters(k: 1, n: 3, alpha: 5e-3, beta: 0.6), channels: 6, positions: 3, seed: 30)
    }
}
