@testable import AlexNetReport
import XCTest

final class ConfusionMatrixTests: XCTestCase {
    /// Truth/prediction pairs counted by hand:
    /// truth 0: predicted 0, 0, 1 → row [2, 1, 0]; truth 1: 1 → [0, 1, 0]; truth 2: 0, 2, 2, 2 → [1, 0, 3].
    func testCountsByHand() {
        var cm = ConfusionMatrix(classes: 3)
        for (t, p) in [(0, 0), (2, 0), (0, 1), (1, 1), (2, 2), (0, 0), (2, 2), (2, 2)] { cm.add(truth: t, predicted: p) }
        XCTAssertEqual(cm.counts, [[2, 1, 0], [0, 1, 0], [1, 0, 3]])
        XCTAssertEqual(cm.total, 8)
        XCTAssertEqual(cm.correct, 6)
        XCTAssertEqual(cm.recall(0), 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(cm.recall(2), 0.75, accuracy: 1e-12)
        let svg = cm.svg(names: ["a", "b", "c"]).document()
        XCTAssertTrue(svg.contains("<title>true c, predicted a: 1</title>"), svg)
        XCTAssertTrue(svg.contains(">75.0%</text>"), svg)
    }
}
