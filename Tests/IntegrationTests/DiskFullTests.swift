import AlexNetCore
import Foundation
import XCTest

/// A disk that fills while a checkpoint is written: the job stops with an error that says how
/// much space was needed, the previous checkpoint survives, and the run resumes from it once
/// there is room. The full disk is a small tmpfs (needs root; skipped where mount is refused).
final class DiskFullTests: XCTestCase {
    func mountSmallDisk(_ dir: String, mebibytes: Int) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/mount")
        p.arguments = ["-t", "tmpfs", "-o", "size=\(mebibytes)m", "tmpfs", dir]
        p.standardError = FileHandle.nullDevice
        try p.run(); p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw XCTSkip("cannot mount a tmpfs here (needs root): the full-disk test is skipped") }
        addTeardownBlock { _ = try? Self.mount(["-l", dir], command: "/bin/umount") }
    }

    @discardableResult
    static func mount(_ args: [String], command: String = "/bin/mount") throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: command)
        p.arguments = args
        try p.run(); p.waitUntilExit()
        return p.terminationStatus
    }

    func testAFullDiskDuringACheckpointKeepsThePreviousOne() throws {
        let disk = Run.tempDir("disk-full")
        // One checkpoint of the Fashion-MNIST model is 17.5 MB (values and momentum, two shards
        // of 8.75 MB). 30 MiB holds the first; the second does not fit. Either each rank sees
        // room for its own shard, both write, and one meets ENOSPC; or one rank has written its
        // shard before the other checks, and the other refuses before writing. Both messages
        // say what the whole checkpoint needs, and both keep the previous checkpoint.
        try mountSmallDisk(disk, mebibytes: 30)
        let run = disk + "/run"
        let a = try Run.alexnet(["train", "--config", "configs/fashion-mnist.yaml", "--steps", "25", "--log-every", "1",
                                 "--checkpoint-every", "10", "--out", run], ranks: 2, timeout: 180)
        XCTAssertFalse(a.timedOut, "the job hung on a full disk")
        XCTAssertNotEqual(a.status, 0)
        let line = a.stderr.split(separator: "\n").first { $0.contains("alexnet-mp: error:") }.map(String.init) ?? ""
        XCTAssertTrue(line.contains("the disk filled while writing the checkpoint of step 20") || line.contains("not enough disk space"), a.stderr)
        XCTAssertTrue(line.contains("it needs 16.7 MiB (2 shards of 8.3 MiB)"), "does not say how much space the checkpoint needs: \(line)")
        let latest = try String(contentsOfFile: run + "/checkpoints/latest", encoding: .utf8)
        XCTAssertEqual(latest.trimmingCharacters(in: .whitespacesAndNewlines), "step-00000010")

        // With room again, the run resumes from the surviving checkpoint and finishes.
        XCTAssertEqual(try Self.mount(["-o", "remount,size=200m", disk]), 0)
        let b = try Run.alexnet(["train", "--resume", run, "--steps", "25", "--log-every", "1"], timeout: 180)
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertTrue(b.stdout.contains("from \(run)/checkpoints/step-00000010"), b.stdout)
        XCTAssertEqual(try Run.losses(run).count, 25)
    }

    /// Fills the file system that holds `dir` (a file of zeros until ENOSPC): returns its path.
    static func fill(_ dir: String) -> String {
        let path = dir + "/filler"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(fd) }
        for chunk in [1 << 20, 4096, 1] {
            let zeros = [UInt8](repeating: 0, count: chunk)
            while write(fd, zeros, chunk) == chunk {}
        }
        return path
    }

    /// The disk fills while steps.csv gets a row per step: one line that names the file and the
    /// checkpoint that is kept, exit 1 (not a trap in Foundation's FileHandle.write), steps.csv
    /// left ending in a whole row, and the run resumes once there is room.
    func testAFullDiskWhileAppendingRowsIsOneLineAndKeepsTheCheckpoint() throws {
        let disk = Run.tempDir("disk-rows")
        try mountSmallDisk(disk, mebibytes: 60)
        let run = disk + "/run"
        let common = ["train", "--config", "configs/fashion-mnist.yaml", "--data", Run.smallData, "--log-every", "1"]
        let a = try Run.alexnet(common + ["--steps", "5", "--checkpoint-every", "5", "--out", run], timeout: 120)
        XCTAssertEqual(a.status, 0, a.stderr)
        // Resumed, it logs every step with no checkpoint due; the disk is filled after two rows.
        // tmpfs gives a file a page at a time, so the row that first needs a new page fails.
        var filler = ""
        let b = try Run.alexnet(["train", "--resume", run, "--steps", "200", "--log-every", "1", "--checkpoint-every", "1000"], timeout: 180,
                                signals: [.when({ ((try? Run.losses(run))?.count ?? 0) >= 7 }) { filler = Self.fill(disk) }])
        XCTAssertFalse(b.timedOut, "the run did not stop on the full disk")
        XCTAssertFalse(filler.isEmpty, "the disk was never filled")
        XCTAssertEqual(b.status, 1, "not the one-line error's exit status: \(b.stderr)")
        let lines = b.stderr.split(separator: "\n").filter { $0.contains("alexnet-mp: error:") }
        XCTAssertEqual(lines.count, 1, b.stderr)
        let line = String(lines.first ?? "")
        XCTAssertTrue(line.contains("\(run)/steps.csv: the disk is full: a row of"), line)
        XCTAssertTrue(line.hasSuffix("the last checkpoint (step 5) is kept"), line)
        let text = try String(contentsOfFile: run + "/steps.csv", encoding: .utf8)
        XCTAssertTrue(text.hasSuffix("\n"), "steps.csv ends in half a row")

        try FileManager.default.removeItem(atPath: filler)
        let c = try Run.alexnet(["train", "--resume", run, "--steps", "7", "--log-every", "1"], timeout: 120)
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertTrue(c.stdout.contains("from \(run)/checkpoints/step-00000005-2"), c.stdout)
        XCTAssertEqual(try Run.losses(run), Array(try Run.losses(CheckpointCrashTests.straight).prefix(7)))
    }

    /// On one rank the checkpoint's size is known before writing: it is refused up front, the
    /// disk is left as it was.
    func testACheckpointThatCannotFitIsRefusedBeforeWriting() throws {
        let disk = Run.tempDir("disk-small")
        try mountSmallDisk(disk, mebibytes: 12)
        let run = disk + "/run"
        let a = try Run.alexnet(["train", "--config", "configs/fashion-mnist.yaml", "--steps", "5",
                                 "--checkpoint-every", "5", "--out", run], timeout: 120)
        XCTAssertNotEqual(a.status, 0)
        XCTAssertTrue(a.stderr.contains("not enough disk space for the checkpoint of step 5: it needs 16.7 MiB (2 shards of 8.3 MiB); "), a.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run + "/checkpoints/step-00000005.tmp"), "a refused checkpoint left its directory behind")
    }
}
