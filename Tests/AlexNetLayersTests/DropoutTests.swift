import AlexNetCore
import AlexNetLayers
import XCTest
import _TestSupport

final class DropoutTests: XCTestCase {
    func mask(count: Int, p: Double, seed: UInt64 = 7, layer: Int = 5, group: Int = 0, step: Int = 0) -> [Float] {
        let y = Tensor("y", [count]); y.copy(from: Array(repeating: 1, count: count))
        let m = Tensor("mask", [count])
        Dropout.forward(y.data, mask: m.data, count: count, p: p, seed: seed, layer: layer, group: group, step: step)
        return m.array
    }

    func testShapesTouchOnlyCount() {
        let y = Tensor("y", [20]), m = Tensor("mask", [20])
        y.copy(from: Array(repeating: 3, count: 20)); m.copy(from: Array(repeating: -1, count: 20))
        Dropout.forward(y.data, mask: m.data, count: 16, p: 0.5, seed: 1, layer: 5, group: 0, step: 0)
        for i in 16..<20 { XCTAssertEqual(y[i], 3); XCTAssertEqual(m[i], -1) }
        for i in 0..<16 { XCTAssert(m[i] == 0 || m[i] == 2, "mask[\(i)] = \(m[i]), expected 0 or 2") }
    }

    /// Kept units are multiplied by 1/(1 − p), dropped ones zeroed; about 1 − p of them are kept.
    func testForwardKeptFractionAndScale() {
        for p in [0.5, 0.3] {
            let count = 100_000
            let x = testValues(count, seed: 2, in: 0.5...1.5)
            let y = Tensor("dropout.y", [count]); y.copy(from: x)
            let m = Tensor("mask", [count])
            Dropout.forward(y.data, mask: m.data, count: count, p: p, seed: 3, layer: 6, group: 1, step: 11)
            let keep = Float(1 / (1 - p))
            var kept = 0
            for e in 0..<count {
                if m[e] != 0 {
                    kept += 1
                    XCTAssertEqual(m[e], keep)
                    XCTAssertEqual(y[e], x[e] * keep, accuracy: 1e-6 * keep * x[e])
                } else {
                    XCTAssertEqual(y[e], 0)
                }
            }
            // Standard error √(p(1−p)/n) ≈ 0.0016.
            XCTAssertEqual(Double(kept) / Double(count), 1 - p, accuracy: 0.01, "kept fraction for p = \(p)")
        }
    }

    func testZeroProbabilityKeepsEverything() {
        XCTAssertEqual(mask(count: 1000, p: 0), Array(repeating: 1, count: 1000))
    }

    /// The mask is a function of (seed, layer, group, step) only.
    func testMaskIsKeyed() {
        let base = mask(count: 4096, p: 0.5)
        XCTAssertEqual(mask(count: 4096, p: 0.5), base, "same key, different mask")
        XCTAssertEqual(Array(mask(count: 1000, p: 0.5)), Array(base.prefix(1000)), "element e depends on e, not on count")
        func differing(_ other: [Float]) -> Int { zip(base, other).filter { $0 != $1 }.count }
        // Independent masks at p = 0.5 differ in about half the units.
        for (what, other) in [("step", mask(count: 4096, p: 0.5, step: 1)),
                              ("group", mask(count: 4096, p: 0.5, group: 1)),
                              ("layer", mask(count: 4096, p: 0.5, layer: 6)),
                              ("seed", mask(count: 4096, p: 0.5, seed: 8))] {
            let d = differing(other)
            XCTAssert((1600...2500).contains(d), "changing the \(what) changed \(d) of 4096 mask entries (expect about 2048)")
        }
    }

    func testBackwardEqualsMask() {
        let count = 64
        let m = Tensor("mask", [count]), y = randomTensor("y", [count], seed: 4)
        Dropout.forward(y.data, mask: m.data, count: count, p: 0.5, seed: 9, layer: 5, group: 0, step: 3)
        let dy = Tensor("dropout.dy", [count]); dy.copy(from: Array(repeating: 1, count: count))
        Dropout.backward(dy.data, mask: m.data, count: count)
        assertClose(dy, m.array, rtol: 0, atol: 0)
        XCTAssert(m.array.contains(0) && m.array.contains(2), "a 64-unit mask at p = 0.5 should both keep and drop")
    }

    func testGradient() {
        let count = 48
        let x = randomTensor("dropout.x", [count], seed: 5)
        let y = Tensor("y", [count]), m = Tensor("mask", [count]), r = randomTensor("r", [count], seed: 6)
        let loss = { () -> Double in
            y.copy(from: x.array)
            Dropout.forward(y.data, mask: m.data, count: count, p: 0.4, seed: 10, layer: 6, group: 1, step: 2)
            return weightedSum(y, r)
        }
        _ = loss()
        let dy = Tensor("dy", [count]); dy.copy(from: r.array)
        Dropout.backward(dy.data, mask: m.data, count: count)
        GradientCheck(step: 1e-2).check(x.name, values: x.data, analytic: dy.array, loss: loss)
    }

    /// A slice of the minibatch draws, for each of its images, the mask that image has in the
    /// whole minibatch: `[rows][images][inner]` cut into 2 slices of 3 images, against 6 at once.
    func testSlicesDrawTheWholeMinibatchsMask() {
        let rows = 5, inner = 4, total = 6
        let whole = Tensor("mask", [rows * total * inner]), y = Tensor("y", [rows * total * inner])
        Dropout.forward(y.data, mask: whole.data, count: whole.count, p: 0.5, seed: 2, layer: 6, group: 1, step: 9)
        for (offset, images) in [(0, 3), (3, 3), (2, 1)] {
            let m = Tensor("slice mask", [rows * images * inner]), ys = Tensor("ys", [rows * images * inner])
            Dropout.forward(ys.data, mask: m.data, count: m.count, p: 0.5, seed: 2, layer: 6, group: 1, step: 9,
                            slice: Dropout.Slice(images: images, inner: inner, offset: offset, total: total))
            for r in 0..<rows { for i in 0..<images { for q in 0..<inner {
                XCTAssertEqual(m[(r * images + i) * inner + q], whole[(r * total + offset + i) * inner + q], "row \(r) image \(offset + i) position \(q)")
            } } }
        }
    }
}
