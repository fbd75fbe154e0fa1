import AlexNetParallel
import XCTest


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
