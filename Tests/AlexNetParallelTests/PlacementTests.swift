import AlexNetParallel
import _TestSupport
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

/// Replicas: 1 rank (every group of every replica, the replicas in turn), G ranks (one per
/// group, the replicas in turn) or G×R ranks (one per group per replica, replica-major).
final class ReplicaPlacementTests: XCTestCase {
    func testTheThreePlacementsOfTwoGroupsAndTwoReplicas() throws {
        let one = try Placement(groups: 2, replicas: 2, ranks: 1, rank: 0)
        XCTAssertEqual(one.localGroups, [0, 1]); XCTAssertEqual(one.localReplicas, [0, 1]); XCTAssertNil(one.replica)
        let perGroup = try Placement(groups: 2, replicas: 2, ranks: 2, rank: 1)
        XCTAssertEqual(perGroup.localGroups, [1]); XCTAssertEqual(perGroup.localReplicas, [0, 1]); XCTAssertNil(perGroup.replica)
        XCTAssertEqual(perGroup.ranksPerReplica, 2)
        // Rank = replica·G + group: a replica's groups are neighbours.
        let apart = try (0..<4).map { try Placement(groups: 2, replicas: 2, ranks: 4, rank: $0) }
        XCTAssertEqual(apart.map(\.localGroups), [[0], [1], [0], [1]])
        XCTAssertEqual(apart.map(\.replica), [0, 0, 1, 1])
        XCTAssertEqual(apart.map(\.rankInReplica), [0, 1, 0, 1])
        XCTAssertEqual(apart.map(\.writesShards), [true, true, false, false])
        XCTAssertEqual(apart[3].rank(of: 1, replica: 1), 3); XCTAssertEqual(apart[3].rank(of: 1), 1)
        XCTAssertEqual(apart.map(\.ranksPerReplica), [2, 2, 2, 2])
        // Pure data parallelism: one group, two replicas on two ranks.
        let dp = try (0..<2).map { try Placement(groups: 1, replicas: 2, ranks: 2, rank: $0) }
        XCTAssertEqual(dp.map(\.replica), [0, 1]); XCTAssertEqual(dp.map(\.localGroups), [[0], [0]]); XCTAssertEqual(dp[1].ranksPerReplica, 1)
    }

    func testOtherRankCountsAreRefusedNamingTheChoices() {
        XCTAssertThrowsError(try Placement(groups: 2, replicas: 2, ranks: 3, rank: 0)) { error in
            XCTAssertEqual("\(error)", "a 2-group, 2-replica model cannot run on 3 ranks: run it on 1 rank (every group and replica on one device), 2 ranks (one per group, the replicas in turn; or, with --ranks-per-replica 1, one whole replica each) or 4 ranks (one per group per replica)")
        }
        XCTAssertThrowsError(try Placement(groups: 1, replicas: 4, ranks: 2, rank: 0)) { error in
            XCTAssertEqual("\(error)", "a 1-group, 4-replica model cannot run on 2 ranks: run it on 1 rank (every group and replica on one device) or 4 ranks (one whole replica each)")
        }
        XCTAssertThrowsError(try Placement(groups: 2, replicas: 3, ranks: 4, rank: 0)) { error in
            XCTAssertEqual("\(error)", "a 2-group, 3-replica model cannot run on 4 ranks: run it on 1 rank (every group and replica on one device), 2 ranks (one per group, the replicas in turn), 3 ranks (one whole replica each) or 6 ranks (one per group per replica)")
        }
        XCTAssertThrowsError(try Placement(groups: 2, replicas: 3, ranks: 2, rank: 0, ranksPerReplica: 1)) { error in
            XCTAssertEqual("\(error)", "--ranks-per-replica 1: a 2-group, 3-replica model on 2 ranks has 2 ranks per replica")
        }
    }

    /// Pure data parallelism of the two-group model: each rank a whole replica (both groups).
    /// With G = R the rank count alone does not say which: the paper's split is taken unless asked.
    func testWholeReplicasPerRank() throws {
        let split = try Placement(groups: 2, replicas: 2, ranks: 2, rank: 1)
        XCTAssertEqual(split.ranksPerReplica, 2); XCTAssertNil(split.replica)
        let whole = try (0..<2).map { try Placement(groups: 2, replicas: 2, ranks: 2, rank: $0, ranksPerReplica: 1) }
        XCTAssertEqual(whole.map(\.replica), [0, 1])
        XCTAssertEqual(whole.map(\.localGroups), [[0, 1], [0, 1]])
        XCTAssertEqual(whole.map(\.rankInReplica), [0, 0])
        XCTAssertEqual(whole.map(\.writesShards), [true, false])
        XCTAssertEqual(whole[1].rank(of: 1, replica: 1), 1); XCTAssertEqual(whole[1].rank(of: 1), 0)
        // 2 groups × 3 replicas on 3 ranks: no ambiguity, one whole replica each.
        let three = try Placement(groups: 2, replicas: 3, ranks: 3, rank: 2)
        XCTAssertEqual(three.replica, 2); XCTAssertEqual(three.localGroups, [0, 1])
    }

    /// A device (one group of one replica) computes with the same BLAS threads on every placement
    /// of the same cores: that is what keeps them bit-identical.
    func testEveryPlacementGivesAGroupTheSameBLASThreads() {
        // 2 cores: 2 groups × 2 replicas on 1 rank, on 2 ranks (1 core each) and on 4 (1 core each).
        XCTAssertEqual(ThreadPlan(cores: 2, localGroups: 2, localReplicas: 2).blasThreads, 1)
        XCTAssertEqual(ThreadPlan(cores: 1, localGroups: 1, localReplicas: 2).blasThreads, 1)
        XCTAssertEqual(ThreadPlan(cores: 1, localGroups: 1, localReplicas: 1).blasThreads, 1)
        // 1 group × 2 replicas on 2 cores: 1 rank (1 thread a replica) against 2 ranks of 1 core.
        XCTAssertEqual(ThreadPlan(cores: 2, localGroups: 1, localReplicas: 2).blasThreads, 1)
        // 32 cores, 2 × 2: 8 BLAS threads a device on every placement.
        XCTAssertEqual(ThreadPlan(cores: 32, localGroups: 2, localReplicas: 2).blasThreads, 8)
        XCTAssertEqual(ThreadPlan(cores: 16, localGroups: 1, localReplicas: 2).blasThreads, 8)
        XCTAssertEqual(ThreadPlan(cores: 8, localGroups: 1, localReplicas: 1).blasThreads, 8)
    }
}

/// The bytes a rank sends in a step of the paper's net, minibatch 128, worked out by hand from
/// the paper's layer sizes (not from the code's plans): what `summary --ranks` prints and what
/// BENCHMARKS.md's model- against data-parallel table quotes.
final class StepTrafficTests: XCTestCase {
    // Floats per image of what each exchange carries, one group's half (the input of the layer
    // that reads all groups): conv2 pooled 128×13×13, conv5 pooled 128×6×6, fc6 and fc7 2048.
    static let exchanged = [128 * 13 * 13, 128 * 6 * 6, 2048, 2048]
    // Parameters of one group per layer: kernels × (inputs × k²) + biases.
    static let perGroup = [48 * 3 * 121 + 48, 128 * 48 * 25 + 128, 192 * 256 * 9 + 192, 192 * 192 * 9 + 192,
                           128 * 192 * 9 + 128, 2048 * 9216 + 2048, 2048 * 4096 + 2048, 500 * 4096 + 500]

    func traffic(replicas: Int, ranks: Int, ranksPerReplica: Int? = nil) throws -> StepTraffic {
        var spec = paperAlexNet()
        spec.replicas = replicas
        let p = try Placement(groups: 2, replicas: replicas, ranks: ranks, rank: ranks - 1, ranksPerReplica: ranksPerReplica)
        return StepTraffic(spec: spec, plans: try spec.plan(), placement: p, batch: 128)
    }

    func testThePapersSplitOnTwoRanks() throws {
        XCTAssertEqual(Self.perGroup.reduce(0, +) * 2, 60_965_224)
        // Each exchange: the rank's half forward (all-gather) and the other half's gradient back
        // (reduce-scatter), 128 images of 4 bytes; then the logits' gather, 500 a group.
        let bytes = Self.exchanged.reduce(0) { $0 + 2 * $1 * 128 * 4 } + 500 * 128 * 4
        XCTAssertEqual(bytes, 31_320_064)
        XCTAssertEqual(try traffic(replicas: 1, ranks: 2), StepTraffic(exchanges: 31_320_064, gradientSums: 0))
    }

    func testDataParallelOnTwoRanks() throws {
        // Each rank a whole replica: no exchanges. Each layer's gradient sum sends the other
        // rank's half of the gradient (reduce-scatter), then its own summed half (all-gather):
        // every parameter's 4 bytes once, 60,965,224 × 4.
        XCTAssertEqual(try traffic(replicas: 2, ranks: 2, ranksPerReplica: 1), StepTraffic(exchanges: 0, gradientSums: 243_860_896))
    }

    func testGroupsTimesReplicasOnFourRanks() throws {
        // Half the images per replica: half the exchange bytes; one group's parameters summed.
        XCTAssertEqual(try traffic(replicas: 2, ranks: 4),
                       StepTraffic(exchanges: 15_660_032, gradientSums: 30_482_612 * 4))
    }

    func testReplicasInTurnSendOnlyExchanges() throws {
        // 2 ranks, one group each, both replicas in turn: the exchanges of both slices, no sums.
        XCTAssertEqual(try traffic(replicas: 2, ranks: 2), StepTraffic(exchanges: 31_320_064, gradientSums: 0))
    }
}
