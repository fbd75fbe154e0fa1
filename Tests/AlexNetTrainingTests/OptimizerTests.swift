import AlexNetLayers
import AlexNetTraining
import XCTest
import _TestSupport

/// The paper's update, `v ← 0.9·v − 0.0005·ε·w − ε·g; w ← w + v`, worked out in Double.
final class SGDTests: XCTestCase {
    func parameter(_ name: String, decays: Bool, w: [Float], g: [Float], v: [Float]) -> Parameter {
        let p = Parameter(name, [w.count], decays: decays)
        p.value.copy(from: w); p.grad.copy(from: g); p.momentum.copy(from: v)
        return p
    }

    func testWeightUpdateMatchesThePaperFormula() {
        let w0: [Float] = [0.5, -1.25, 2.0, 0, 100]
        let g0: [Float] = [0.1, -0.2, 0.0, 0.3, 0.01]
        let v0: [Float] = [0.01, 0, -0.02, 0.05, 0]
        let p = parameter("w", decays: true, w: w0, g: g0, v: v0)
        let sgd = SGD(momentum: 0.9, weightDecay: 0.0005)
        let lr = 0.1
        sgd.update([p], learningRate: lr)
        var v = (0..<5).map { 0.9 * Double(v0[$0]) - 0.0005 * lr * Double(w0[$0]) - lr * Double(g0[$0]) }
        var w = (0..<5).map { Double(w0[$0]) + v[$0] }
        assertClose(p.momentum, v, rtol: 1e-6, atol: 1e-8)
        assertClose(p.value, w, rtol: 1e-6, atol: 1e-7)
        // Entry 0 by hand: v = 0.009 − 0.000025 − 0.01 = −0.001025; w = 0.498975.
        XCTAssertEqual(Double(p.momentum[0]), -0.001025, accuracy: 1e-8)
        XCTAssertEqual(Double(p.value[0]), 0.498975, accuracy: 1e-7)
        // Entry 4: the decay alone moves a weight of 100 by 0.0005·0.1·100 = 0.005.
        XCTAssertEqual(Double(p.value[4]), 100 - 0.005 - 0.001, accuracy: 1e-5)

        // A second step with new gradients carries the momentum.
        let g1: [Float] = [-0.3, 0.1, 0.2, 0, 0.05]
        p.grad.copy(from: g1)
        sgd.update([p], learningRate: lr)
        v = (0..<5).map { 0.9 * v[$0] - 0.0005 * lr * w[$0] - lr * Double(g1[$0]) }
        w = (0..<5).map { w[$0] + v[$0] }
        assertClose(p.momentum, v, rtol: 1e-5, atol: 1e-8)
        assertClose(p.value, w, rtol: 1e-6, atol: 1e-6)
    }

    func testBiasesGetNoWeightDecay() {
        let b = parameter("b", decays: false, w: [100, -2], g: [0.5, 0.25], v: [0.02, 0])
        SGD(momentum: 0.9, weightDecay: 0.0005).update([b], learningRate: 0.1)
        // v = 0.9·v − 0.1·g, with no −0.0005·0.1·b term (which would be −0.005 for the bias of 100).
        assertClose(b.momentum, [0.018 - 0.05, -0.025], rtol: 1e-6, atol: 1e-8)
        assertClose(b.value, [100 + 0.018 - 0.05, -2.025], rtol: 1e-7, atol: 1e-6)
    }

    func testUpdateTouchesEveryParameterGiven() {
        let a = parameter("a", decays: true, w: [1], g: [1], v: [0])
        let b = parameter("b", decays: false, w: [1], g: [1], v: [0])
        SGD(momentum: 0.9, weightDecay: 0).update([a, b], learningRate: 0.5)
        XCTAssertEqual(a.value[0], 0.5)
        XCTAssertEqual(b.value[0], 0.5)
    }
}

/// Learning-rate schedules: plateau, step and fixed, with at most `max_drops` drops.
final class ScheduleTests: XCTestCase {
    func config(_ type: ScheduleConfig.Kind, patience: Int = 3, every: Int = 30, maxDrops: Int = 3) -> ScheduleConfig {
        var c = ScheduleConfig()
        c.type = type; c.patience = patience; c.every = every; c.maxDrops = maxDrops; c.factor = 0.1
        return c
    }

    /// The epochs (1-based) at which the rate dropped, feeding `errors` one epoch at a time.
    func drops(_ schedule: inout Schedule, _ errors: [Double]) -> [Int] {
        var out: [Int] = []
        for (i, e) in errors.enumerated() where schedule.endEpoch(i + 1, validationError: e) { out.append(i + 1) }
        return out
    }

    func testPlateauDropsAfterPatienceEpochsWithoutImprovement() {
        var s = Schedule(config(.plateau, patience: 2, maxDrops: 2), initial: 0.01)
        // best 0.5, 0.4; no better at 3, 4 → drop at 4; no better at 5; better at 6; not better
        // (equal) at 7, worse at 8 → drop at 8; 9, 10 would drop again but max_drops is 2.
        let errors = [0.5, 0.4, 0.45, 0.41, 0.42, 0.39, 0.39, 0.4, 0.5, 0.5, 0.5, 0.5]
        XCTAssertEqual(drops(&s, errors), [4, 8])
        XCTAssertEqual(s.learningRate, 1e-4, accuracy: 1e-12)
        XCTAssertEqual(s.drops, 2)
        XCTAssertEqual(s.best, 0.39)
    }

    func testPlateauNeverDropsWhileImproving() {
        var s = Schedule(config(.plateau, patience: 1), initial: 0.01)
        XCTAssertEqual(drops(&s, [0.9, 0.8, 0.7, 0.6, 0.5]), [])
        XCTAssertEqual(s.learningRate, 0.01)
        // Patience 1: the first epoch without improvement drops.
        XCTAssertEqual(drops(&s, [0.5]), [1])
    }

    func testStepDropsEveryEveryEpochsAtMostMaxDrops() {
        var s = Schedule(config(.step, every: 3, maxDrops: 2), initial: 1)
        XCTAssertEqual(drops(&s, Array(stride(from: 0.9, to: 0.0, by: -0.08))), [3, 6])
        XCTAssertEqual(s.learningRate, 0.01, accuracy: 1e-12)
    }

    func testFixedNeverDrops() {
        var s = Schedule(config(.fixed, patience: 1, every: 1), initial: 0.05)
        XCTAssertEqual(drops(&s, [Double](repeating: 0.9, count: 20)), [])
        XCTAssertEqual(s.learningRate, 0.05)
    }

    func testZeroMaxDropsNeverDrops() {
        var s = Schedule(config(.plateau, patience: 1, maxDrops: 0), initial: 0.05)
        XCTAssertEqual(drops(&s, [0.5, 0.6, 0.7, 0.8]), [])
        XCTAssertEqual(s.learningRate, 0.05)
    }
}
