import AlexNetParallel
import AlexNetTraining
import XCTest

/// `summaryTable` totals, and what each rank holds.
final class SummaryTests: XCTestCase {
    func testAlexNetSummaryStatesTheParameterCount() throws {
        let spec = try RunConfig.load(configPath("alexnet")).model.spec()
        let table = try summaryTable(spec, name: "alexnet")
        XCTAssertTrue(table.contains("60,965,224"), table)
        XCTAssertTrue(table.contains("724.4 M multiply-adds"), table)
        for layer in ["conv1", "conv5", "fc8"] { XCTAssertTrue(table.contains(layer), "no row for \(layer):\n\(table)") }
    }

    func testTwoRanksEachHoldHalfOfAlexNet() throws {
        let spec = try RunConfig.load(configPath("alexnet")).model.spec()
        let table = try summaryTable(spec, name: "alexnet", ranks: 2)
        let rankLines = table.split(separator: "\n").filter { $0.hasPrefix("rank ") }
        XCTAssertEqual(rankLines.count, 2, table)
        XCTAssertTrue(rankLines.first?.contains("rank 0 of 2: groups 0,") == true, table)
        XCTAssertTrue(rankLines.last?.contains("rank 1 of 2: groups 1,") == true, table)
        for line in rankLines { XCTAssertTrue(line.contains("30,482,612 parameters"), String(line)) }
    }

    func testOneRankHoldsBothGroups() throws {
        let spec = try RunConfig.load(configPath("alexnet")).model.spec()
        let rankLines = try summaryTable(spec, name: "alexnet", ranks: 1).split(separator: "\n").filter { $0.hasPrefix("rank ") }
        XCTAssertEqual(rankLines.count, 1)
        XCTAssertTrue(rankLines.first?.contains("groups 0, 1, 60,965,224 parameters") == true, "\(rankLines)")
    }

    func testThreeRanksAreRefused() throws {
        let spec = try RunConfig.load(configPath("alexnet")).model.spec()
        XCTAssertThrowsError(try summaryTable(spec, name: "alexnet", ranks: 3)) { error in
            XCTAssertTrue("\(error)".contains("--ranks 3"), "\(error)")
        }
    }
}

/// Which group runs where: one rank for every group, or one rank per group.
final class PlacementTests: XCTestCase {
    func testTwoGroupsOnOneOrTwoRanks() throws {
        let one = try Placement(groups: 2, ranks: 1, rank: 0)
        XCTAssertEqual(one.localGroups, [0, 1])
        XCTAssertEqual(one.groupsPerRank, 2)
        XCTAssertEqual(one.rank(of: 1), 0)
        let first = try Placement(groups: 2, ranks: 2, rank: 0), second = try Placement(groups: 2, ranks: 2, rank: 1)
        XCTAssertEqual(first.localGroups, [0])
        XCTAssertEqual(second.localGroups, [1])
        XCTAssertEqual(second.rank(of: 0), 0)
        XCTAssertEqual(second.rank(of: 1), 1)
        XCTAssertEqual(try Placement(groups: 1, ranks: 1, rank: 0).localGroups, [0])
    }

    func testThreeRanksForTwoGroupsAreRefusedNamingTheValidChoices() {
        XCTAssertThrowsError(try Placement(groups: 2, ranks: 3, rank: 0)) { error in
            XCTAssertTrue(error is PlacementError)
            let message = "\(error)"
            XCTAssertTrue(message.contains("3 ranks"), message)
            XCTAssertTrue(message.contains("1 rank"), message)
            XCTAssertTrue(message.contains("2 ranks"), message)
            XCTAssertFalse(message.contains("\n"), message)
        }
    }

    func testOneGroupOnTwoRanksIsRefused() {
        XCTAssertThrowsError(try Placement(groups: 1, ranks: 2, rank: 0)) { error in
            XCTAssertTrue(error is PlacementError)
            let message = "\(error)"
            XCTAssertTrue(message.contains("1-group"), message)
            XCTAssertTrue(message.contains("1 rank"), message)
        }
    }
}
