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
        // of 8.75 MB). 30 MiB holds the first; during the second each rank sees room for its
        // own shard, both write, and one of them meets ENOSPC.
        try mountSmallDisk(disk, mebibytes: 30)
        let run = disk + "/run"
        let a = try Run.alexnet(["train", "--config", "configs/fashion-mnist.yaml", "--steps", "25", "--log-every", "1",
                                 "--checkpoint-every", "10", "--out", run], ranks: 2, timeout: 180)
        XCTAssertFalse(a.timedOut, "the job hung on a full disk")
        XCTAssertNotEqual(a.status, 0)
        let line = a.stderr.split(separator: "\n").first { $0.contains("alexnet-mp: error:") }.map(String.init) ?? ""
        XCTAssertTrue(line.contains("the disk filled while writing the checkpoint of step 20") || line.contains("not enough disk space"), a.stderr)
        XCTAssertTrue(line.contains("needs") && line.contains("MiB"), "does not say how much space was needed: \(line)")
        let latest = try String(contentsOfFile: run + "/checkpoints/latest", encoding: .utf8)
        XCTAssertEqual(latest.trimmingCharacters(in: .whitespacesAndNewlines), "step-00000010")

        // With room again, the run resumes from the surviving checkpoint and finishes.
        XCTAssertEqual(try Self.mount(["-o", "remount,size=200m", disk]), 0)
        let b = try Run.alexnet(["train", "--resume", run, "--steps", "25", "--log-every", "1"], timeout: 180)
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertTrue(b.stdout.contains("from \(run)/checkpoints/step-00000010"), b.stdout)
        XCTAssertEqual(try Run.losses(run).count, 25)
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
        XCTAssertTrue(a.stderr.contains("not enough disk space for the checkpoint of step 5: this rank's shards need 16.7 MiB"), a.stderr)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: run + "/checkpoints/step-00000005.tmp")) ?? []
        XCTAssertEqual(left, [], "a refused checkpoint left files behind")
    }
}
