import Foundation
import XCTest

/// A crash (SIGKILL, as a power cut) at each point of a checkpoint's write leaves a complete
/// checkpoint that `latest` names, and the resumed run is the run that never crashed. The crash
/// comes from `ALEXNET_MP_CHECKPOINT_FAULT=POINT:N[:RANK]` (see `CheckpointFault`).
final class CheckpointCrashTests: XCTestCase {
    /// 8 steps per epoch on the small data set. With `--steps 10`, the checkpoint writes are:
    /// 1. step 5 (the cadence), 2. step 10 (the cadence), 3. step 10 again (the end of --steps,
    /// mid-epoch): a second checkpoint of the same step, under a new name.
    static let common = ["train", "--config", "configs/fashion-mnist.yaml", "--data", Run.smallData,
                         "--log-every", "1", "--checkpoint-every", "5"]

    /// The uninterrupted run, 12 steps on 1 rank (computed once).
    static let straight: String = {
        let dir = Run.tempDir("crash-straight")
        _ = try? Run.alexnet(common + ["--steps", "12", "--out", dir])
        return dir
    }()

    /// Crashes the run at `fault`, then resumes it to step 12 and compares it with the run that never crashed.
    func crashThenResume(_ fault: String, ranks: Int = 0, resumesFrom checkpoint: String,
                         file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = Run.tempDir("crash-" + fault.replacingOccurrences(of: ":", with: "-"))
        let a = try Run.alexnet(Self.common + ["--steps", "10", "--out", dir], ranks: ranks,
                                env: ["ALEXNET_MP_CHECKPOINT_FAULT": fault], timeout: 120)
        XCTAssertFalse(a.timedOut, "the job hung after the crash", file: file, line: line)
        XCTAssertNotEqual(a.status, 0, "the crash at \(fault) did not happen: \(a.stdout)", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/model/group0.bin"), "the run went on past the crash", file: file, line: line)
        // `latest` itself names a complete checkpoint (not only through latest()'s fallback).
        let latest = try String(contentsOfFile: dir + "/checkpoints/latest", encoding: .utf8)
        XCTAssertEqual(latest, checkpoint + "\n", file: file, line: line)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/checkpoints/\(checkpoint)/state.json"), file: file, line: line)

        let b = try Run.alexnet(["train", "--resume", dir, "--steps", "12", "--log-every", "1"], ranks: ranks, timeout: 120)
        XCTAssertEqual(b.status, 0, "resume after a crash at \(fault): \(b.stderr)", file: file, line: line)
        XCTAssertTrue(b.stdout.contains("resuming \(dir) from \(dir)/checkpoints/\(checkpoint):"), b.stdout, file: file, line: line)
        XCTAssertFalse(b.stderr.contains("/checkpoints/latest"), "resumed through latest()'s fallback: \(b.stderr)", file: file, line: line)
        XCTAssertEqual(try Run.losses(dir), try Run.losses(Self.straight), "losses differ from the run that never crashed", file: file, line: line)
        for g in 0..<2 {
            let x = Run.shardTensors(Self.straight + "/model/group\(g).bin")
            XCTAssertNotNil(x, file: file, line: line)
            XCTAssertEqual(x, Run.shardTensors(dir + "/model/group\(g).bin"), "group \(g)'s weights differ", file: file, line: line)
        }
        // What the crash left (a .tmp directory, a half-removed checkpoint) went with the resumed run's checkpoint.
        let left = try FileManager.default.contentsOfDirectory(atPath: dir + "/checkpoints").filter { $0.hasPrefix("step-") }
        for entry in left {
            XCTAssertFalse(entry.hasSuffix(".tmp"), "\(entry) left behind", file: file, line: line)
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/checkpoints/\(entry)/state.json"), "\(entry) left half removed", file: file, line: line)
        }
    }

    // The second checkpoint of step 10 (write 3): the first must stay whole until `latest` names the second.
    func testCrashAfterTheShardsOfASameStepRewrite() throws { try crashThenResume("shards:3", resumesFrom: "step-00000010") }
    func testCrashAfterStateJSONOfASameStepRewrite() throws { try crashThenResume("state:3", resumesFrom: "step-00000010") }
    func testCrashAfterTheRenameOfASameStepRewrite() throws { try crashThenResume("rename:3", resumesFrom: "step-00000010") }
    func testCrashAfterLatestOfASameStepRewrite() throws { try crashThenResume("latest:3", resumesFrom: "step-00000010-2") }
    func testCrashWhileRemovingAnOldCheckpoint() throws { try crashThenResume("prune:3", resumesFrom: "step-00000010-2") }

    // A new step's checkpoint (write 2): `latest` moves from step 5 to step 10 in one rename.
    func testCrashBeforeLatestNamesANewStep() throws { try crashThenResume("rename:2", resumesFrom: "step-00000005") }
    func testCrashAfterLatestNamesANewStep() throws { try crashThenResume("latest:2", resumesFrom: "step-00000010") }

    /// On 2 ranks: rank 1 dies with its shard of the rewrite on disk, rank 0 waiting at the barrier.
    func testCrashOfRankOneAfterItsShardOnTwoRanks() throws {
        try crashThenResume("shards:3:1", ranks: 2, resumesFrom: "step-00000010")
    }
}
