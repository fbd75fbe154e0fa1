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

    /// 2 groups × 2 replicas on 4 ranks: each rank's group, replica, and the bytes it sends to
    /// each communicator (31,320,064 B at 128 images, halved for a replica's 64: 14.9 MiB; every
    /// parameter of its group once: 30,482,612 × 4 B = 116.3 MiB).
    func testFourRanksShowGroupReplicaAndBytes() throws {
        var spec = try RunConfig.load(configPath("alexnet")).model
        spec.replicas = 2
        let lines = try summaryTable(spec, name: "alexnet", ranks: 4).split(separator: "\n").filter { $0.hasPrefix("rank ") }
        XCTAssertEqual(lines.count, 4)
        XCTAssertTrue(lines[2].hasPrefix("rank 2 of 4: group 0, replica 1, 30,482,612 parameters"), String(lines[2]))
        for line in lines {
            XCTAssertTrue(line.contains("sends 14.9 MiB a step to its replica's ranks"), String(line))
            XCTAssertTrue(line.contains("and 116.3 MiB to the other replicas"), String(line))
        }
        // A whole replica a rank: no exchanges, every parameter's gradient once.
        let whole = try summaryTable(spec, name: "alexnet", ranks: 2, ranksPerReplica: 1).split(separator: "\n").filter { $0.hasPrefix("rank ") }
        XCTAssertTrue(whole[1].hasPrefix("rank 1 of 2: groups 0, 1, replica 1, 60,965,224 parameters"), String(whole[1]))
        XCTAssertTrue(whole[1].contains("sends 0.0 MiB a step to its replica's ranks (exchanges, logits) and 232.6 MiB"), String(whole[1]))
    }
}
