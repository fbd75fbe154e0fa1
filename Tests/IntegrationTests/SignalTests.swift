import Foundation
import XCTest

/// Ctrl-C and SIGTERM: the ranks agree on a step, write a checkpoint and stop cleanly, and the run
/// resumes from it; a second signal ends the job at once and leaves the previous checkpoint as
/// `latest`. On 1 rank the signal comes to the process; under mpirun, to mpirun, which passes
/// SIGTERM on to the ranks only `odls_base_sigkill_timeout` seconds later (3 s here); through
/// `launch.sh mpirun`, the script passes it on at once.
final class SignalTests: XCTestCase {
    static let common = ["train", "--config", "configs/fashion-mnist.yaml", "--data", Run.smallData, "--log-every", "1"]

    func stoppedAt(_ r: Run.Output, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let said = r.stdout.range(of: #"stopped by a signal after step (\d+)"#, options: .regularExpression).map { String(r.stdout[$0]) }
        return try XCTUnwrap(said.flatMap { Int($0.split(separator: " ").last!) },
                             "no stop message: \(r.stdout) \(r.stderr)", file: file, line: line)
    }

    func latest(_ dir: String) throws -> String {
        try String(contentsOfFile: dir + "/checkpoints/latest", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Whether a checkpoint is being written with rank 0's shard on disk.
    func shardBeingWritten(_ dir: String) -> Bool {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/checkpoints")) ?? []
        return entries.contains { $0.hasSuffix(".tmp") && FileManager.default.fileExists(atPath: "\(dir)/checkpoints/\($0)/group0.bin") }
    }

    /// Resumes `dir` to `steps` on 1 rank: the losses are those of the run that never stopped (as
    /// far as its 12 steps go).
    func assertResumes(_ dir: String, from checkpoint: String, to steps: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let b = try Run.alexnet(["train", "--resume", dir, "--steps", String(steps), "--log-every", "1"], timeout: 120)
        XCTAssertEqual(b.status, 0, b.stderr, file: file, line: line)
        XCTAssertTrue(b.stdout.contains("from \(dir)/checkpoints/\(checkpoint):"), b.stdout, file: file, line: line)
        let straight = try Run.losses(CheckpointCrashTests.straight), losses = try Run.losses(dir)
        XCTAssertEqual(losses.count, steps, file: file, line: line)
        XCTAssertEqual(Array(losses.prefix(straight.count)), Array(straight.prefix(steps)), "losses differ from the run that never stopped", file: file, line: line)
    }

    /// The first signal on 1 rank: acknowledged at once, the step finished, a checkpoint, exit 0.
    func testCtrlCAndSIGTERMOnOneRankCheckpointAndStop() throws {
        for sig in [SIGINT, SIGTERM] {
            let dir = Run.tempDir("signal-1rank-\(sig)")
            let r = try Run.alexnet(Self.common + ["--steps", "5000", "--checkpoint-every", "0", "--out", dir], timeout: 120,
                                    signals: [.afterStep(3, of: dir, sig)])
            XCTAssertFalse(r.timedOut, "the run did not stop")
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stderr.contains("alexnet-mp: stopping after this step, then writing a checkpoint"), r.stderr)
            let step = try stoppedAt(r)
            XCTAssertLessThanOrEqual(step, 10, "stopped long after the signal")
            XCTAssertEqual(try latest(dir), String(format: "step-%08d", step))
            XCTAssertEqual(try Run.losses(dir).count, step, "steps.csv holds exactly the steps before the stop")
            try assertResumes(dir, from: String(format: "step-%08d", step), to: step + 2)
        }
    }

    /// Ctrl-C in a terminal on mpirun: SIGINT to mpirun's process group (the ranks are in groups
    /// of their own, so only mpirun gets it).
    func testCtrlCOnMpirunCheckpointsAndStops() throws {
        let dir = Run.tempDir("signal-mpirun-int")
        let r = try Run.alexnet(Self.common + ["--steps", "5000", "--checkpoint-every", "0", "--out", dir], ranks: 2,
                                env: ["OMPI_MCA_odls_base_sigkill_timeout": "3"], timeout: 120,
                                signals: [.afterStep(3, of: dir, SIGINT, toGroup: true)])
        XCTAssertFalse(r.timedOut, "the job did not stop")
        let step = try stoppedAt(r)
        XCTAssertLessThan(r.seconds - r.signalled[0], 15, "mpirun took more than 2 × 3 s and a step to end")
        XCTAssertEqual(try latest(dir), String(format: "step-%08d", step))
        XCTAssertEqual(try Run.losses(dir).count, step)
        try assertResumes(dir, from: String(format: "step-%08d", step), to: step + 2)
    }

    /// SIGTERM to mpirun alone (as `kill PID` or a batch system sends it).
    func testSIGTERMOnMpirunCheckpointsAndStops() throws {
        let dir = Run.tempDir("signal-mpirun-term")
        let r = try Run.alexnet(Self.common + ["--steps", "5000", "--checkpoint-every", "0", "--out", dir], ranks: 2,
                                env: ["OMPI_MCA_odls_base_sigkill_timeout": "3"], timeout: 120,
                                signals: [.afterStep(3, of: dir, SIGTERM)])
        XCTAssertFalse(r.timedOut, "the job did not stop")
        let step = try stoppedAt(r)
        XCTAssertEqual(try latest(dir), String(format: "step-%08d", step))
        XCTAssertEqual(try Run.losses(dir).count, step, "steps.csv holds exactly the steps before the stop")
    }

    /// A second signal while the stop's checkpoint is written (held there by the fault hook): the
    /// process exits at once, and the checkpoint before stays `latest`.
    func testASecondSignalOnOneRankExitsAtOnceKeepingThePreviousCheckpoint() throws {
        let dir = Run.tempDir("signal-twice")
        let r = try Run.alexnet(Self.common + ["--steps", "5000", "--checkpoint-every", "4", "--out", dir],
                                env: ["ALEXNET_MP_CHECKPOINT_FAULT": "shards:2:0:wait"], timeout: 120,
                                signals: [.afterStep(5, of: dir, SIGINT),
                                          Run.Signal(signal: SIGINT) { self.shardBeingWritten(dir) }])
        XCTAssertFalse(r.timedOut, "the second signal did not end the run")
        XCTAssertEqual(r.signalled.count, 2, r.stderr)
        XCTAssertEqual(r.status, 128 + SIGINT, r.stderr)
        XCTAssertLessThan(r.seconds - (r.signalled.last ?? 0), 3, "did not exit at once")
        XCTAssertTrue(r.stderr.contains("alexnet-mp: second signal: exiting now; the last complete checkpoint is kept"), r.stderr)
        XCTAssertEqual(try latest(dir), "step-00000004")
        XCTAssertTrue(shardBeingWritten(dir), "the interrupted checkpoint stays under its temporary name")
        try assertResumes(dir, from: "step-00000004", to: 8)
        XCTAssertFalse(shardBeingWritten(dir), "the resumed run's checkpoint removed what the interrupted one left")
    }

    /// A second Ctrl-C on mpirun within 5 s of the first: mpirun exits at once and its ranks die
    /// with it (they had not been signalled yet: a timeout of 10 s here).
    func testASecondCtrlCOnMpirunEndsTheJobAtOnce() throws {
        let dir = Run.tempDir("signal-mpirun-twice")
        let r = try Run.alexnet(Self.common + ["--steps", "5000", "--checkpoint-every", "4", "--out", dir], ranks: 2,
                                env: ["OMPI_MCA_odls_base_sigkill_timeout": "10"], timeout: 120,
                                signals: [.afterStep(5, of: dir, SIGINT, toGroup: true), .afterStep(6, of: dir, SIGINT, toGroup: true)])
        XCTAssertFalse(r.timedOut)
        XCTAssertEqual(r.signalled.count, 2)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertLessThan(r.seconds - (r.signalled.last ?? 0), 3, "mpirun did not exit at once")
        var left = Run.processes(mentioning: dir)
        for _ in 0..<100 where !left.isEmpty { usleep(100_000); left = Run.processes(mentioning: dir) }
        XCTAssertEqual(left, [], "ranks left running")
        let checkpoint = try latest(dir)
        XCTAssertTrue(["step-00000004", "step-00000008"].contains(checkpoint), checkpoint)
        try assertResumes(dir, from: checkpoint, to: 12)
    }

    /// Ctrl-C on `./launch.sh` (SIGINT to its process group, as a terminal sends it): the script
    /// passes SIGTERM to the ranks at once, not 30 s later as mpirun would; it exits 130. A
    /// second Ctrl-C during the checkpoint ends the ranks at once.
    func testCtrlCOnLaunchShReachesTheRanksAtOnce() throws {
        let dir = Run.tempDir("signal-launch")
        let r = try Run.command(["./launch.sh", "mpirun", "2", Run.binary] + Self.common + ["--steps", "5000", "--checkpoint-every", "0", "--out", dir],
                                timeout: 120, signals: [.afterStep(3, of: dir, SIGINT, toGroup: true)])
        XCTAssertFalse(r.timedOut, "the job did not stop")
        XCTAssertEqual(r.status, 130, r.stderr)
        XCTAssertLessThan(r.seconds - r.signalled[0], 15, "the ranks were not signalled at once")
        let step = try stoppedAt(r)
        XCTAssertEqual(try latest(dir), String(format: "step-%08d", step))

        let twice = Run.tempDir("signal-launch-twice")
        let t = try Run.command(["./launch.sh", "mpirun", "2", Run.binary] + Self.common + ["--steps", "5000", "--checkpoint-every", "4", "--out", twice],
                                env: ["ALEXNET_MP_CHECKPOINT_FAULT": "shards:2:0:wait"], timeout: 120,
                                signals: [.afterStep(5, of: twice, SIGINT, toGroup: true),
                                          Run.Signal(signal: SIGINT, toGroup: true) { self.shardBeingWritten(twice) }])
        XCTAssertFalse(t.timedOut, "the second Ctrl-C did not end the job")
        XCTAssertEqual(t.signalled.count, 2, t.stderr)
        XCTAssertEqual(t.status, 130, t.stderr)
        XCTAssertLessThan(t.seconds - (t.signalled.last ?? 0), 5, "did not exit at once")
        XCTAssertEqual(Run.processes(mentioning: twice), [], "ranks left running")
        XCTAssertEqual(try latest(twice), "step-00000004")
        try assertResumes(twice, from: "step-00000004", to: 8)
    }
}
