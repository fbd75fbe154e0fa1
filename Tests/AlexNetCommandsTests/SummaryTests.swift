import _TestSupport
import AlexNetParallel
@testable import AlexNetCommands
import AlexNetTraining
import XCTest

/// `summaryTable` totals, and what each rank holds.
final class SummaryTests: XCTestCase {
    func testAlexNetSummaryStatesTheParameterCount() throws {
        let spec = try RunConfig.load(configPath("alexnet")).model
        let table = try summaryTable(spec, name: "alexnet")
        XCTAssertTrue(table.contains("60,965,224"), table)
        XCTAssertTrue(table.contains("724.4 M multiply-adds"), table)
        for layer in ["conv1", "conv5", "fc8"] { XCTAssertTrue(table.contains(layer), "no row for \(layer):\n\(table)") }
    }

    func testTwoRanksEachHoldHalfOfAlexNet() throws {
        let spec = try RunConfig.load(configPath("alexnet")).model
        let table = try summaryTable(spec, name: "alexnet", ranks: 2)
        let rankLines = table.split(separator: "\n").filter { $0.hasPrefix("rank ") }
        XCTAssertEqual(rankLines.count, 2, table)
        XCTAssertTrue(rankLines.first?.contains("rank 0 of 2: group 0,") == true, table)
        XCTAssertTrue(rankLines.last?.contains("rank 1 of 2: group 1,") == true, table)
        for line in rankLines { XCTAssertTrue(line.contains("30,482,612 parameters"), String(line)) }
    }

    func testOneRankHoldsBothGroups() throws {
        let spec = try RunConfig.load(configPath("alexnet")).model
        let rankLines = try summaryTable(spec, name: "alexnet", ranks: 1).split(separator: "\n").filter { $0.hasPrefix("rank ") }
        XCTAssertEqual(rankLines.count, 1)
        XCTAssertTrue(rankLines.first?.contains("groups 0, 1, 60,965,224 parameters") == true, "\(rankLines)")
    }

    func testThreeRanksAreRefused() throws {
        let spec = try RunConfig.load(configPath("alexnet")).model
        XCTAssertThrowsError(try summaryTable(spec, name: "alexnet", ranks: 3)) { error in
            XCTAssertTrue("\(error)".contains("--ranks 3"), "\(error)")
        }
    }
}
