import AlexNetCore
import XCTest
import _TestSupport

/// The helpers can fail: a checker that passes everything would make every gradient test vacuous.
final class TestSupportTests: XCTestCase {
    func testGradientCheckCatchesAWrongIndex() {
        // loss = Σ r[i]·x[i]², gradient 2·r[i]·x[i].
        let x = randomTensor("x", [12], seed: 1), r = randomTensor("r", [12], seed: 2)
        let loss = { () -> Double in (0..<12).reduce(0.0) { $0 + Double(r[$1]) * Double(x[$1]) * Double(x[$1]) } }
        var gradient = (0..<12).map { 2 * r[$0] * x[$0] }
        let check = GradientCheck()
        let before = x.array
        XCTAssertTrue(check.compare("x", values: x.data, analytic: gradient, loss: loss).passed)
        XCTAssertEqual(x.array, before, "the check did not restore the values")
        gradient.swapAt(3, 7)
        let report = check.compare("x", values: x.data, analytic: gradient, loss: loss)
        XCTAssertFalse(report.passed)
        XCTAssertEqual(report.failures, 2)
        XCTAssert([3, 7].contains(report.worstIndex))
    }

    func testCloseMismatchNamesTheTensorAndWorstEntry() {
        XCTAssertNil(closeMismatch([1, 2, 3], [1, 2, 3.000001], "t", rtol: 1e-5, atol: 0))
        let message = closeMismatch([1, 2, 3, 4], [1, 2.5, 3, 4], "conv1.y", rtol: 1e-5, atol: 1e-5)
        XCTAssertNotNil(message)
        XCTAssert(message?.contains("conv1.y") == true)
        XCTAssert(message?.contains("[1]") == true, message ?? "")
        XCTAssertNotNil(closeMismatch([.nan], [0], "nan", rtol: 1, atol: 1))
        XCTAssertNotNil(closeMismatch([1, 2], [1], "short", rtol: 1, atol: 1))
    }

    func testSeparatedValuesAreSeparated() {
        let v = separatedValues(50, spacing: 0.1, offset: -2, seed: 3).sorted()
        for i in 1..<v.count { XCTAssertGreaterThan(v[i] - v[i - 1], 0.09) }
    }
}
