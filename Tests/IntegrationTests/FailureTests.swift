import XCTest

/// Bad placements and failing ranks end the whole job quickly, non-zero, with a clear line.
final class FailureTests: XCTestCase {
    func testThreeRanksForTwoGroupsIsRefusedBeforeAnyWork() throws {
        let r = try Run.alexnet(["train", "--config", "configs/fashion-mnist.yaml", "--steps", "1",
                                 "--out", Run.tempDir("refuse")], ranks: 3, timeout: 60)
        XCTAssertFalse(r.timedOut, "mpirun hung")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("cannot run on 3 ranks") && r.stderr.contains("1 rank") && r.stderr.contains("2 ranks"), r.stderr)
        XCTAssertEqual(r.stderr.components(separatedBy: "alexnet-mp: error:").count - 1, 1, "printed once, by rank 0: \(r.stderr)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: Run.tempDir("refuse-never") + "/metrics.csv"))
    }

    func testOneGroupModelOnTwoRanksIsRefused() throws {
        let r = try Run.alexnet(["train", "--config", "configs/fashion-mnist-onegroup.yaml", "--steps", "1",
                                 "--out", Run.tempDir("refuse1")], ranks: 2, timeout: 60)
        XCTAssertFalse(r.timedOut, "mpirun hung")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("1-group model cannot run on 2 ranks"), r.stderr)
    }

    /// The paper's check runs before any work: an undeclared refusal stops every rank with one
    /// line and leaves no run directory; an undeclared choice is one warning, printed by rank 0.
    func testTrainChecksTheConfigAgainstThePaperFirst() throws {
        let dir = Run.tempDir("fidelity")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let text = try String(contentsOfFile: Run.packageRoot.path + "/configs/fashion-mnist.yaml", encoding: .utf8)
            .replacingOccurrences(of: "dir: /usr/share/datasets/fashion-mnist", with: "dir: \(Run.smallData)")
        try text.replacingOccurrences(of: "  untiled: \"pool1", with: "  # untiled: \"pool1").write(toFile: dir + "/untiled.yaml", atomically: true, encoding: .utf8)
        for ranks in [0, 2] {
            let r = try Run.alexnet(["train", "--config", dir + "/untiled.yaml", "--steps", "1", "--out", dir + "/run"], ranks: ranks, timeout: 60)
            XCTAssertFalse(r.timedOut)
            XCTAssertNotEqual(r.status, 0)
            XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.contains("alexnet-mp:") },
                           ["alexnet-mp: error: config \(dir)/untiled.yaml: model.layers[0] (conv1).pool: a 3×3 pool at stride 2 leaves the last row and column of its 24×24 map unread (11×11 out); the paper: every window tiles its map exactly, 227 → 55 → 27 → 13 → 6 (the paper's 224 only as 227: (227 − 11)/4 + 1 = 55, Caffe's convention) — refused unless declared (departures: {untiled: \"why\"})"],
                           "\(ranks) ranks: \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/run"), "a refused run made its directory")
        }
        try text.replacingOccurrences(of: "  init: \"He init", with: "  # init: \"He init").write(toFile: dir + "/he.yaml", atomically: true, encoding: .utf8)
        let r = try Run.alexnet(["train", "--config", dir + "/he.yaml", "--steps", "1", "--checkpoint-every", "0", "--out", dir + "/he"], ranks: 2, timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.contains("alexnet-mp: warning:") },
                       ["alexnet-mp: warning: model.init: he: He-normal weights N(0, 2/fan-in), biases of 1 set to 0.1; the paper: weights N(0, 0.01), biases 1 in conv2, conv4, conv5, fc6 and fc7, 0 elsewhere — not declared (departures: {init: \"why\"})"],
                       r.stderr)
    }

    func testAnExceptionOnOneRankBringsTheJobDown() throws {
        let r = try Run.alexnet(["train", "--config", "configs/fashion-mnist.yaml", "--steps", "40",
                                 "--out", Run.tempDir("throw")], ranks: 2, env: ["ALEXNET_MP_FAULT": "1:5:throw"], timeout: 90)
        XCTAssertFalse(r.timedOut, "the job hung after rank 1 failed")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("rank 1: injected fault before step 5"), r.stderr)
    }

    func testAKilledRankBringsTheJobDown() throws {
        let r = try Run.alexnet(["train", "--config", "configs/fashion-mnist.yaml", "--steps", "40",
                                 "--out", Run.tempDir("kill")], ranks: 2, env: ["ALEXNET_MP_FAULT": "0:5:kill"], timeout: 90)
        XCTAssertFalse(r.timedOut, "the job hung after rank 0 was killed")
        XCTAssertNotEqual(r.status, 0)
    }

    func testABadConfigKeyIsNamedOnOneLine() throws {
        let dir = Run.tempDir("badcfg")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var text = try String(contentsOfFile: Run.packageRoot.path + "/configs/fashion-mnist.yaml", encoding: .utf8)
        text = text.replacingOccurrences(of: "  lr: 0.01", with: "  lr: 0.01\n  learning_rate: 0.1")
        try text.write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        for ranks in [0, 2] {
            let r = try Run.alexnet(["train", "--config", dir + "/bad.yaml", "--out", dir + "/run"], ranks: ranks, timeout: 60)
            XCTAssertFalse(r.timedOut)
            XCTAssertNotEqual(r.status, 0)
            let lines = r.stderr.split(separator: "\n").filter { $0.contains("alexnet-mp: error") }
            XCTAssertEqual(lines.count, 1, r.stderr)
            XCTAssertTrue(lines.first?.contains("train.learning_rate: unknown key") ?? false, r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/run"), "nothing is written for a bad config")
        }
    }

    func testMissingDataDirectoryIsNamed() throws {
        let r = try Run.alexnet(["train", "--data", "/nonexistent/fmnist", "--steps", "1", "--out", Run.tempDir("nodata")], timeout: 60)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("/nonexistent/fmnist: data directory does not exist"), r.stderr)
    }

    func testANaNLossStopsNamingTheStepAndTheLayer() throws {
        let dir = Run.tempDir("nan")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let text = try String(contentsOfFile: Run.packageRoot.path + "/configs/fashion-mnist.yaml", encoding: .utf8)
            .replacingOccurrences(of: "  lr: 0.01", with: "  lr: 10")
        try text.write(toFile: dir + "/nan.yaml", atomically: true, encoding: .utf8)
        let r = try Run.alexnet(["train", "--config", dir + "/nan.yaml", "--steps", "50", "--out", dir + "/run"], ranks: 2, timeout: 120)
        XCTAssertFalse(r.timedOut)
        XCTAssertNotEqual(r.status, 0)
        let line = r.stderr.split(separator: "\n").first { $0.contains("the loss became") }.map(String.init) ?? ""
        XCTAssertTrue(line.range(of: #"at step \d+ \(epoch 1\); the first non-finite values are in .*(conv|fc)\d"#, options: .regularExpression) != nil, r.stderr)
        XCTAssertTrue(line.contains("try a smaller train.lr (now 10.0)"), line)
        // Every rank has the same loss: one line, printed by rank 0, and no abort.
        XCTAssertTrue(line.hasPrefix("alexnet-mp: error: the loss became"), line)
        XCTAssertEqual(r.stderr.components(separatedBy: "alexnet-mp: error:").count - 1, 1, r.stderr)
        XCTAssertFalse(r.stderr.contains("MPI_ABORT"), r.stderr)
    }

    /// Errors that every rank meets alike are printed once, by rank 0, without Open MPI's abort
    /// banner, and every rank exits non-zero.
    func testAnErrorEveryRankMeetsIsPrintedOnce() throws {
        let dir = Run.tempDir("alike")
        try FileManager.default.createDirectory(atPath: dir + "/empty-run", withIntermediateDirectories: true)
        let config = try String(contentsOfFile: Run.packageRoot.path + "/configs/fashion-mnist.yaml", encoding: .utf8)
            .replacingOccurrences(of: "dir: /usr/share/datasets/fashion-mnist", with: "dir: \(Run.smallData)")
        try config.write(toFile: dir + "/empty-run/config.yaml", atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["train", "--resume", dir + "/empty-run"], "alexnet-mp: error: \(dir)/empty-run: no complete checkpoint to resume from"),
            (["train", "--config", dir + "/empty-run/config.yaml", "--out", dir + "/empty-run"],
             "alexnet-mp: error: \(dir)/empty-run: holds a run already (config.yaml): continue it with --resume \(dir)/empty-run, or choose another --out"),
            (["train", "--steps", "0"], "alexnet-mp: error: --steps must be at least 1, got 0."),
            (["train", "--checkpoint-every", "x"], "alexnet-mp: error: --checkpoint-every takes a number of steps (500) or epochs (1e), or 0 for none; got x."),
            (["train", "--resume", dir + "/empty-run", "--seed", "2"], "alexnet-mp: error: --resume continues a run with its own seed and directory: drop --seed and --out."),
        ]
        for (args, message) in cases {
            for ranks in [0, 2] {
                let r = try Run.alexnet(args, ranks: ranks, timeout: 60)
                XCTAssertFalse(r.timedOut, "\(args) hung on \(ranks) ranks")
                XCTAssertNotEqual(r.status, 0)
                XCTAssertEqual(r.stderr.components(separatedBy: message).count - 1, 1, "\(args) on \(ranks) ranks: \(r.stderr)")
                XCTAssertFalse(r.stderr.contains("rank 0:") || r.stderr.contains("rank 1:"), r.stderr)
                XCTAssertFalse(r.stderr.contains("MPI_ABORT"), r.stderr)
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/empty-run/checkpoints"), "the refused run wrote into the other run")
    }
}
