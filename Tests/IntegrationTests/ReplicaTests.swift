import Foundation
import XCTest

/// Replicas of the paper's split (`model.replicas`, `--replicas`): the same model gives the same
/// losses and weights, bit for bit, on 1 rank (every group and replica), on G ranks (one per
/// group, the replicas in turn) and on G×R ranks (one per group per replica). 4 ranks run
/// oversubscribed on this machine's cores: correctness only.
final class ReplicaTests: XCTestCase {
    static let steps = 50

    func train(_ out: String, ranks: Int, config: String = "configs/fashion-mnist.yaml", extra: [String] = [],
               env: [String: String] = [:]) throws -> Run.Output {
        try Run.alexnet(["train", "--config", config, "--data", Run.smallData, "--replicas", "2", "--log-every", "1",
                         "--out", out] + extra, ranks: ranks, env: env, timeout: 300)
    }

    func assertSame(_ a: String, _ b: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let la = try Run.losses(a), lb = try Run.losses(b)
        XCTAssertGreaterThan(la.count, 0, file: file, line: line)
        XCTAssertEqual(la, lb, "\(what): the losses differ", file: file, line: line)
        for g in 0..<2 where FileManager.default.fileExists(atPath: a + "/model/group\(g).bin") {
            XCTAssertNotNil(Run.shardTensors(a + "/model/group\(g).bin"), file: file, line: line)
            XCTAssertEqual(Run.shardTensors(a + "/model/group\(g).bin"), Run.shardTensors(b + "/model/group\(g).bin"),
                           "\(what): group \(g)'s final weights differ", file: file, line: line)
        }
    }

    func testTwoGroupsTimesTwoReplicasAreTheSameOnOneTwoAndFourRanks() throws {
        let one = Run.tempDir("replicas-1"), two = Run.tempDir("replicas-2"), four = Run.tempDir("replicas-4")
        for (dir, ranks) in [(one, 0), (two, 2), (four, 4)] {
            let r = try train(dir, ranks: ranks, extra: ["--steps", String(Self.steps)])
            XCTAssertEqual(r.status, 0, "\(ranks) ranks: \(r.stderr)")
            if ranks == 4 {
                XCTAssertTrue(r.stdout.contains("2 groups × 2 replicas on 4 ranks"), r.stdout)
                XCTAssertTrue(r.stdout.contains("rank 3 holds") && r.stdout.contains("(group 1, replica 1)"), r.stdout)
            }
        }
        let losses = try Run.losses(one)
        XCTAssertEqual(losses.count, Self.steps)
        XCTAssertLessThan(losses.suffix(5).reduce(0, +), losses.prefix(5).reduce(0, +), "the loss must move, or equality proves little")
        try assertSame(one, two, "1 rank against 2")
        try assertSame(one, four, "1 rank against 4")
        // Replica 0's ranks wrote the shards; the run records its replicas.
        XCTAssertTrue(try String(contentsOfFile: four + "/config.yaml", encoding: .utf8).contains("replicas: 2"))
    }

    /// Pure data parallelism: one group, two replicas, on 2 ranks against 1.
    func testOneGroupTimesTwoReplicasOnTwoRanksIsTheSameAsOnOne() throws {
        let one = Run.tempDir("dp-1"), two = Run.tempDir("dp-2")
        for (dir, ranks) in [(one, 0), (two, 2)] {
            let r = try train(dir, ranks: ranks, config: "configs/fashion-mnist-onegroup.yaml", extra: ["--steps", String(Self.steps)])
            XCTAssertEqual(r.status, 0, "\(ranks) ranks: \(r.stderr)")
        }
        try assertSame(one, two, "data parallel, 1 rank against 2")
    }

    /// Pure data parallelism of the two-group model: each of 2 ranks a whole replica (both
    /// groups), against 1 rank; run.yaml records the placement and `compare` names it.
    func testAWholeReplicaOnEachRankIsTheSameAsOneRank() throws {
        let one = Run.tempDir("whole-1"), two = Run.tempDir("whole-2")
        XCTAssertEqual(try train(one, ranks: 0, extra: ["--steps", String(Self.steps)]).status, 0)
        let r = try train(two, ranks: 2, extra: ["--steps", String(Self.steps), "--ranks-per-replica", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("rank 1 holds 2,187,530 (groups 0, 1, replica 1)"), r.stdout)
        try assertSame(one, two, "a whole replica a rank, 1 rank against 2")
        XCTAssertTrue(try String(contentsOfFile: two + "/run.yaml", encoding: .utf8).contains("ranks_per_replica: 1"))
        // Without --ranks-per-replica the same 2 ranks run the paper's split, replicas in turn.
        let split = Run.tempDir("whole-split")
        let s = try train(split, ranks: 2, extra: ["--steps", "4"])
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertTrue(s.stdout.contains("rank 1 holds 1,093,765 (group 1)"), s.stdout)
    }

    /// `profile` on 4 ranks: each layer's gradient sum, per rank and step, moves the bytes its
    /// shape implies: a ring of 2 replicas sends half the group's gradients (reduce-scatter, the
    /// block padded to an even count) and then its summed half (all-gather), float32. Parameters
    /// of one group of configs/fashion-mnist.yaml, by hand: kernels × inputs × k² + biases.
    func testProfileOnFourRanksShowsTheGradientSums() throws {
        let perGroup = ["conv1": 32 * 25 + 32, "conv2": 64 * 32 * 25 + 64, "conv3": 96 * 128 * 9 + 96, "conv4": 96 * 96 * 9 + 96,
                        "conv5": 64 * 96 * 9 + 64, "fc6": 512 * 512 + 512, "fc7": 512 * 1024 + 512, "fc8": 5 * 1024 + 5]
        let dir = Run.tempDir("replicas-profile")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let steps = 3
        let r = try Run.alexnet(["profile", "--config", "configs/fashion-mnist.yaml", "--replicas", "2", "--steps", String(steps),
                                 "--warmup", "1", "--json", dir + "/p.json"], ranks: 4, timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("(replicas' sum)"), r.stdout)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/p.json"))) as! [String: Any]
        let ranks = json["ranks"] as! [[String: Any]]
        XCTAssertEqual(ranks.count, 4)
        for (rank, rec) in ranks.enumerated() {
            for layer in rec["layers"] as! [[String: Any]] {
                let name = layer["name"] as! String
                let sum = layer["gradientSum"] as? [String: Any]
                XCTAssertEqual(sum?["calls"] as? Int, steps, "rank \(rank) \(name)")
                XCTAssertEqual(sum?["bytesSent"] as? Int, steps * 2 * 4 * ((perGroup[name]! + 1) / 2), "rank \(rank) \(name)")
                // The exchanges carry one replica's slice: 64 images (see ProfileTests' blocks at 128).
                if let block = ProfileTests.handBlocks[name] {
                    XCTAssertEqual((layer["exchangeForward"] as? [String: Any])?["bytesSent"] as? Int, steps * block / 2, "rank \(rank) \(name)")
                }
            }
        }
    }

    /// Four replicas: the gradient sum of each layer is a left fold in replica order,
    /// ((g0 + g1) + g2) + g3, whether the replicas run in turn on one rank or apart on four, so
    /// the runs agree bit for bit here too (with 2 replicas a + b = b + a would hide a wrong order).
    func testFourReplicasSumInTheSameOrderOnEveryPlacement() throws {
        func run(_ name: String, ranks: Int, config: String, extra: [String] = []) throws -> String {
            let dir = Run.tempDir(name)
            let r = try Run.alexnet(["train", "--config", config, "--data", Run.smallData, "--replicas", "4", "--log-every", "1",
                                     "--steps", "20", "--out", dir] + extra, ranks: ranks, timeout: 300)
            XCTAssertEqual(r.status, 0, "\(name): \(r.stderr)")
            return dir
        }
        let dp1 = try run("four-dp-1", ranks: 0, config: "configs/fashion-mnist-onegroup.yaml")
        let dp4 = try run("four-dp-4", ranks: 4, config: "configs/fashion-mnist-onegroup.yaml")
        try assertSame(dp1, dp4, "1 group × 4 replicas, 1 rank against 4")
        let split = try run("four-split-2", ranks: 2, config: "configs/fashion-mnist.yaml")
        let whole = try run("four-whole-4", ranks: 4, config: "configs/fashion-mnist.yaml", extra: ["--ranks-per-replica", "1"])
        try assertSame(split, whole, "2 groups × 4 replicas, 2 ranks in turn against a replica on each of 4")
    }

    /// A run stopped on 4 ranks resumes on 1, and one stopped on 1 resumes on 4: both end as the
    /// run that never stopped.
    func testResumeFromFourRanksToOneAndBack() throws {
        let straight = Run.tempDir("replicas-straight")
        XCTAssertEqual(try train(straight, ranks: 0, extra: ["--steps", "24"]).status, 0)
        for (first, then) in [(4, 0), (0, 4)] {
            let dir = Run.tempDir("replicas-resume-\(first)-\(then)")
            let a = try train(dir, ranks: first, extra: ["--steps", "12", "--checkpoint-every", "4"])
            XCTAssertEqual(a.status, 0, a.stderr)
            let b = try Run.alexnet(["train", "--resume", dir, "--steps", "24", "--log-every", "1"], ranks: then, timeout: 300)
            XCTAssertEqual(b.status, 0, "resume on \(then) ranks: \(b.stderr)")
            try assertSame(straight, dir, "\(first) ranks, then \(then)")
        }
    }

    /// A rank killed in a 4-rank job ends the job within seconds, non-zero.
    func testAKilledRankEndsAFourRankJob() throws {
        let dir = Run.tempDir("replicas-kill")
        let r = try train(dir, ranks: 4, extra: ["--steps", "30"], env: ["ALEXNET_MP_FAULT": "3:6:kill"])
        XCTAssertFalse(r.timedOut, "the job hung after rank 3 was killed")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertLessThan(r.seconds, 120)
        XCTAssertTrue((r.stdout + r.stderr).contains("rank 3"), "mpirun's line names the killed rank: \(r.stderr)")
        XCTAssertTrue(Run.processes(mentioning: dir).isEmpty, "ranks left behind")
    }

    /// A rank that fails (throws) in a 4-rank job prints its line and aborts the communicator:
    /// the ranks waiting for it in a collective end too.
    func testAFailingRankEndsAFourRankJobWithItsLine() throws {
        let dir = Run.tempDir("replicas-throw")
        let r = try train(dir, ranks: 4, extra: ["--steps", "30"], env: ["ALEXNET_MP_FAULT": "2:6:throw"])
        XCTAssertFalse(r.timedOut, "the job hung after rank 2 failed")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("rank 2: injected fault before step 6"), r.stderr)
        XCTAssertTrue(Run.processes(mentioning: dir).isEmpty, "ranks left behind")
    }
}
