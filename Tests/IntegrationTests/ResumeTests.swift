import Foundation
import XCTest

/// Nothing lost: a run stopped (or killed) and resumed gives the same losses, step for step,
/// and the same weights as a run that never stopped — also when the resume uses another
/// number of ranks.
final class ResumeTests: XCTestCase {
    static let common = ["train", "--config", "configs/fashion-mnist.yaml", "--log-every", "1", "--checkpoint-every", "10"]

    /// The uninterrupted reference, 30 steps on 1 rank (computed once).
    static let straight: String = {
        let dir = Run.tempDir("resume-straight")
        _ = try? Run.alexnet(common + ["--steps", "30", "--out", dir])
        return dir
    }()

    func assertSameAsStraight(_ dir: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try Run.losses(Self.straight), b = try Run.losses(dir)
        XCTAssertEqual(a.count, 30, file: file, line: line)
        XCTAssertEqual(a, b, "losses differ from the uninterrupted run", file: file, line: line)
        for g in 0..<2 {
            let x = Run.shardTensors(Self.straight + "/model/group\(g).bin")
            let y = Run.shardTensors(dir + "/model/group\(g).bin")
            XCTAssertNotNil(x, file: file, line: line)
            XCTAssertEqual(x, y, "group \(g)'s final weights differ", file: file, line: line)
        }
    }

    func testStopOnTwoRanksResumeOnOne() throws {
        let dir = Run.tempDir("resume-2to1")
        let a = try Run.alexnet(Self.common + ["--steps", "15", "--out", dir], ranks: 2)
        XCTAssertEqual(a.status, 0, a.stderr)
        let b = try Run.alexnet(["train", "--resume", dir, "--steps", "30", "--log-every", "1"])
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertTrue(b.stdout.contains("resuming \(dir) from \(dir)/checkpoints/step-00000015"), b.stdout)
        try assertSameAsStraight(dir)
    }

    func testStopOnOneRankResumeOnTwo() throws {
        let dir = Run.tempDir("resume-1to2")
        let a = try Run.alexnet(Self.common + ["--steps", "12", "--out", dir])
        XCTAssertEqual(a.status, 0, a.stderr)
        let b = try Run.alexnet(["train", "--resume", dir, "--steps", "30", "--log-every", "1"], ranks: 2)
        XCTAssertEqual(b.status, 0, b.stderr)
        try assertSameAsStraight(dir)
    }

    /// A rank killed mid-run takes the job down; the last complete checkpoint survives and the
    /// resumed run is the run that never died.
    func testKillARankMidRunThenResume() throws {
        let dir = Run.tempDir("resume-kill")
        let a = try Run.alexnet(Self.common + ["--steps", "30", "--out", dir], ranks: 2,
                                env: ["ALEXNET_MP_FAULT": "1:25:kill"], timeout: 120)
        XCTAssertFalse(a.timedOut, "the job hung after rank 1 was killed")
        XCTAssertNotEqual(a.status, 0)
        let latest = try String(contentsOfFile: dir + "/checkpoints/latest", encoding: .utf8)
        XCTAssertEqual(latest.trimmingCharacters(in: .whitespacesAndNewlines), "step-00000020")
        let b = try Run.alexnet(["train", "--resume", dir, "--steps", "30", "--log-every", "1"], ranks: 2)
        XCTAssertEqual(b.status, 0, b.stderr)
        try assertSameAsStraight(dir)
    }

    func testACorruptShardIsRefusedNamingTheFile() throws {
        let dir = Run.tempDir("resume-corrupt")
        let a = try Run.alexnet(Self.common + ["--steps", "10", "--out", dir])
        XCTAssertEqual(a.status, 0, a.stderr)
        // The checkpoint a resume starts from: step-00000010-2, the second of step 10 (the cadence
        // wrote step-00000010, the end of --steps the second one).
        let latest = try String(contentsOfFile: dir + "/checkpoints/latest", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(latest, "step-00000010-2")
        let shard = dir + "/checkpoints/\(latest)/group1.bin"
        var bytes = try XCTUnwrap(FileManager.default.contents(atPath: shard))
        bytes[bytes.count / 2] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: shard))
        for ranks in [0, 2] {
            let b = try Run.alexnet(["train", "--resume", dir, "--steps", "20"], ranks: ranks, timeout: 120)
            XCTAssertFalse(b.timedOut)
            XCTAssertNotEqual(b.status, 0)
            XCTAssertTrue(b.stderr.contains("\(shard): checksum mismatch"), b.stderr)
        }
    }
}
