import AlexNetCore
import AlexNetLayers
import XCTest
import _TestSupport

final class SoftmaxCrossEntropyTests: XCTestCase {
    /// `[classes][N]` from one row of logits per image.
    func layout(_ perImage: [[Float]]) -> [Float] {
        let K = perImage[0].count, N = perImage.count
        var out = [Float](repeating: 0, count: K * N)
        for n in 0..<N { for k in 0..<K { out[k * N + n] = perImage[n][k] } }
        return out
    }

    func run(_ logits: [Float], _ labels: [Int32], classes K: Int, valid: Int? = nil,
             dlogits: UnsafeMutablePointer<Float>? = nil, probabilities: UnsafeMutablePointer<Float>? = nil)
        -> SoftmaxCrossEntropy.Result {
        logits.withUnsafeBufferPointer { l in
            labels.withUnsafeBufferPointer { y in
                SoftmaxCrossEntropy.forward(logits: l.baseAddress!, labels: y.baseAddress!, classes: K, batch: labels.count,
                                            valid: valid, dlogits: dlogits, probabilities: probabilities)
            }
        }
    }

    func testShapes() {
        let K = 4, N = 3
        let logits = testValues(K * N, seed: 1, in: -2...2)
        let d = Tensor("dlogits", [K * N + 4]), p = Tensor("probabilities", [K * N + 4])
        for i in (K * N)..<(K * N + 4) { d[i] = 99; p[i] = 99 }
        let result = run(logits, [0, 3, 1], classes: K, dlogits: d.data, probabilities: p.data)
        XCTAssertEqual(result.images, N)
        for i in (K * N)..<(K * N + 4) { XCTAssertEqual(d[i], 99); XCTAssertEqual(p[i], 99) }
        for n in 0..<N {
            var sum = 0.0, dsum = 0.0
            for k in 0..<K { sum += Double(p[k * N + n]); dsum += Double(d[k * N + n]) }
            XCTAssertEqual(sum, 1, accuracy: 1e-6, "probabilities of image \(n) do not sum to 1")
            XCTAssertEqual(dsum, 0, accuracy: 1e-6, "dlogits of image \(n) do not sum to 0")
        }
    }

    /// Six classes, six images, checkable by hand. Ties go to the lower class index.
    /// - image 0: all logits equal, label 2. Loss log 6; classes 0 and 1 tie and come first → top-1 error only.
    /// - image 1: logits 1…6, label 5 (the largest) → correct.
    /// - image 2: logits 6…1, label 5 (the smallest): five classes above → top-1 and top-5 errors.
    /// - image 3: class 1 at 10, the rest 0, label 4: class 1 above, and 0, 2, 3 tie before it → 4 above, top-1 error only.
    /// - image 4: the same logits, label 0: only class 1 above (2…5 tie after it) → top-1 error only.
    /// - image 5: all logits equal, label 0: first of the tie → correct.
    func testLossAndErrorsByHand() {
        let images: [[Float]] = [[0, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1],
                                 [0, 10, 0, 0, 0, 0], [0, 10, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]
        let labels: [Int32] = [2, 5, 5, 4, 0, 0]
        let result = run(layout(images), labels, classes: 6)
        XCTAssertEqual(result.errorsTop1, 4, "images 0, 2, 3 and 4")
        XCTAssertEqual(result.errorsTop5, 1, "image 2")
        XCTAssertEqual(result.images, 6)
        let e16 = (1...6).reduce(0.0) { $0 + exp(Double($1)) }
        let perImage = [log(6.0),
                        log(e16) - 6,
                        log(e16) - 1,
                        log(exp(10.0) + 5) - 0,
                        log(exp(10.0) + 5) - 0,
                        log(6.0)]
        XCTAssertEqual(result.loss, perImage.reduce(0, +) / 6, accuracy: 1e-9)
    }

    /// Loss against `log Σ exp − logit[label]` with large logits (the max shift must not change it).
    func testLossMatchesNaive() {
        let K = 9, N = 5
        let logits = testValues(K * N, seed: 2, in: 40...60)
        let labels: [Int32] = [0, 8, 3, 3, 7]
        let result = run(logits, labels, classes: K)
        var expected = 0.0
        var top1 = 0, top5 = 0
        for n in 0..<N {
            let z = (0..<K).map { Double(logits[$0 * N + n]) }
            let mx = z.max()!
            expected += log(z.reduce(0) { $0 + exp($1 - mx) }) + mx - z[Int(labels[n])]
            let rank = z.enumerated().filter { $0.element > z[Int(labels[n])] }.count  // no ties in random logits
            if rank >= 1 { top1 += 1 }
            if rank >= 5 { top5 += 1 }
        }
        XCTAssertEqual(result.loss, expected / Double(N), accuracy: 1e-9 * abs(expected))
        XCTAssertEqual(result.errorsTop1, top1)
        XCTAssertEqual(result.errorsTop5, top5)
    }

    func testGradientAgainstFiniteDifferences() {
        let K = 7, N = 3
        let logits = Tensor("logits", [K, N]); logits.copy(from: testValues(K * N, seed: 3, in: -2...2))
        let labels: [Int32] = [1, 6, 0]
        let d = randomTensor("dlogits", [K, N], seed: 4, in: 50...60)
        _ = run(logits.array, labels, classes: K, dlogits: d.data)
        let loss = { () -> Double in self.run(logits.array, labels, classes: K).loss }
        GradientCheck(step: 1e-3, relativeTolerance: 2e-2, absoluteTolerance: 1e-5)
            .check(logits.name, values: logits.data, analytic: d.array, loss: loss)
    }

    /// Padding columns (images past `valid`) count for nothing and get a zero gradient.
    func testPaddingColumns() {
        let K = 5, N = 4, V = 2
        let logits = Tensor("logits(valid 2 of 4)", [K, N]); logits.copy(from: testValues(K * N, seed: 5, in: -2...2))
        let labels: [Int32] = [4, 0, 2, 2]
        let d = randomTensor("dlogits", [K, N], seed: 6, in: 50...60)
        let result = run(logits.array, labels, classes: K, valid: V, dlogits: d.data)
        XCTAssertEqual(result.images, V)
        let firstTwo = run(layout((0..<V).map { n in (0..<K).map { logits[$0 * N + n] } }), Array(labels.prefix(V)), classes: K)
        XCTAssertEqual(result.loss, firstTwo.loss, accuracy: 1e-12)
        XCTAssertEqual(result.errorsTop1, firstTwo.errorsTop1)
        for k in 0..<K { for n in V..<N { XCTAssertEqual(d[k * N + n], 0, "dlogits[\(k)][\(n)] of a padding column") } }
        let loss = { () -> Double in self.run(logits.array, labels, classes: K, valid: V).loss }
        GradientCheck(step: 1e-3, relativeTolerance: 2e-2, absoluteTolerance: 1e-5)
            .check(logits.name, values: logits.data, analytic: d.array, loss: loss)
    }
}
