import Foundation
import XCTest

/// The binary against hostile input, as a user meets it: every class of the hostile-input audit
/// (docs/BAD-INPUT.md) ends within seconds, non-zero on every rank, with one line that names
/// the file, key or rank; nothing of the user's is changed and nothing is left behind.
final class HostileInputTests: XCTestCase {
    /// A small run of the small data set: config.yaml, model/ and a checkpoint (made once).
    static let run: String = {
        let dir = Run.tempDir("hostile-run")
        let r = try? Run.alexnet(["train", "--config", "configs/fashion-mnist.yaml", "--data", Run.smallData, "--steps", "3",
                                  "--out", dir], timeout: 120)
        precondition(r?.status == 0, "the fixture run failed: \(r?.stderr ?? "")")
        return dir
    }()

    /// Runs the binary and checks the common promises: it ended in time, non-zero, with
    /// exactly one `alexnet-mp: error:` line that contains every one of `says`.
    @discardableResult
    func refused(_ args: [String], ranks: Int = 0, says: [String], timeout: Double = 60,
                 file: StaticString = #filePath, line: UInt = #line) throws -> Run.Output {
        let r = try Run.alexnet(args, ranks: ranks, timeout: timeout)
        XCTAssertFalse(r.timedOut, "\(args) hung", file: file, line: line)
        XCTAssertNotEqual(r.status, 0, "\(args) exited 0: \(r.stdout)", file: file, line: line)
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("alexnet-mp: error:") }
        XCTAssertEqual(errors.count, 1, "\(args): \(r.stderr)", file: file, line: line)
        for s in says { XCTAssertTrue(errors.first?.contains(s) == true, "\(args): no \"\(s)\" in \(r.stderr)", file: file, line: line) }
        XCTAssertFalse(r.stderr.contains("Fatal error") || r.stderr.contains("Signal 11") || r.stderr.contains("crashed"), r.stderr,
                       file: file, line: line)
        return r
    }

    func config(_ edit: (String) -> String = { $0 }) throws -> String {
        let dir = Run.tempDir("hostile-config-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let text = try String(contentsOfFile: Run.packageRoot.path + "/configs/fashion-mnist.yaml", encoding: .utf8)
            .replacingOccurrences(of: "dir: /usr/share/datasets/fashion-mnist", with: "dir: \(Run.smallData)")
        try edit(text).write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        return dir + "/c.yaml"
    }

    /// A FIFO where a data, model, checkpoint or config file should be: refused at once (opening
    /// it to read would block forever).
    func testAFIFOIsRefusedNotWaitedOn() throws {
        let dir = Run.tempDir("hostile-fifo")
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        for f in try FileManager.default.contentsOfDirectory(atPath: Run.smallData) {
            try FileManager.default.copyItem(atPath: Run.smallData + "/" + f, toPath: dir + "/data/" + f)
        }
        try FileManager.default.removeItem(atPath: dir + "/data/t10k-labels-idx1-ubyte")
        XCTAssertEqual(mkfifo(dir + "/data/t10k-labels-idx1-ubyte", 0o644), 0)
        try refused(["train", "--config", try config(), "--data", dir + "/data", "--steps", "1", "--out", dir + "/r1"],
                    says: ["t10k-labels-idx1-ubyte", "FIFO"], timeout: 30)
        XCTAssertNil(fileType(dir + "/r1"), "a run directory was made")
        XCTAssertEqual(mkfifo(dir + "/c.yaml", 0o644), 0)
        try refused(["summary", "--config", dir + "/c.yaml"], says: ["c.yaml", "FIFO"], timeout: 30)
        XCTAssertEqual(mkfifo(dir + "/m.safetensors", 0o644), 0)
        try refused(["eval", "--model", dir + "/m.safetensors"], says: ["m.safetensors", "FIFO"], timeout: 30)
        // A model shard of a run, on 2 ranks: the rank that holds it says so; no rank waits.
        let run = Run.tempDir("hostile-fifo-run")
        try FileManager.default.copyItem(atPath: Self.run, toPath: run)
        try FileManager.default.removeItem(atPath: run + "/model/group1.bin")
        XCTAssertEqual(mkfifo(run + "/model/group1.bin", 0o644), 0)
        let r = try refused(["eval", "--model", run, "--data", Run.smallData], ranks: 2, says: ["group1.bin", "FIFO"], timeout: 60)
        XCTAssertFalse(r.stderr.contains("MPI_ABORT"), r.stderr)
    }

    /// A model with NaN weights scored 0.00% error (a NaN compares false, so it counted as a
    /// hit): now every image is an error and eval says the model is not usable, non-zero.
    func testEvalOfAModelWithNaNWeightsSaysSoAndFails() throws {
        let run = Run.tempDir("hostile-nan")
        try FileManager.default.copyItem(atPath: Self.run, toPath: run)
        try poisonShard(run + "/model/group1.bin")
        let r = try refused(["eval", "--model", run, "--data", Run.smallData], says: ["non-finite outputs", "256 of 256 test images"])
        XCTAssertTrue(r.stdout.contains("top-1 error 100.00%, top-5 error 100.00%"), r.stdout)
    }

    /// Sets the first weight of a shard to NaN and its checksum to match (an honest file of a broken model).
    func poisonShard(_ path: String) throws {
        var b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        // Header: magic 8, groups 4, group 4, fingerprint 8, run 8, step 8, tensors 4; the first tensor's
        // name length (2), name, rank (1) and dimensions (4 each), then its floats.
        var o = 44
        let nameLength = Int(b[o]) | Int(b[o + 1]) << 8
        o += 2 + nameLength
        let dims = Int(b[o]); o += 1 + 4 * dims
        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { b.replaceSubrange(o..<(o + 4), with: $0) }
        b.removeLast(4)
        var crc = UInt32(0xFFFF_FFFF)
        for byte in b { crc ^= UInt32(byte); for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 } }
        crc ^= 0xFFFF_FFFF
        withUnsafeBytes(of: crc.littleEndian) { b.append(contentsOf: $0) }
        try Data(b).write(to: URL(fileURLWithPath: path))
    }

    /// A minibatch that cannot fit in memory ended in Swift's "failed to allocate" in every command
    /// but train: now each refuses it with the figure and the limit.
    func testABatchThatCannotFitIsRefusedByEveryCommand() throws {
        let c = try config { $0.replacingOccurrences(of: "batch: 128", with: "batch: 1000000") }
        for args in [["bench", "--config", c, "--steps", "1"], ["profile", "--config", c, "--synthetic", "--steps", "1"]] {
            try refused(args, says: ["memory: a minibatch of 1000000 needs", "more than the"])
        }
        // train checks the modelled device (a GTX 580 by default) first, then this machine.
        try refused(["train", "--config", c, "--steps", "1", "--out", Run.tempDir("hostile-batch")],
                    says: ["device memory: this placement needs 1300929 MiB per device, more than the 3072 MiB"])
        try refused(["train", "--config", c, "--steps", "1", "--out", Run.tempDir("hostile-batch"), "--ignore-memory-limit"],
                    says: ["memory: a minibatch of 1000000 needs", "more than the"])
        try refused(["bench", "--config", try config(), "--batch", "1000000", "--steps", "1"], ranks: 2, says: ["memory:", "rank"])
        XCTAssertNil(fileType(Run.tempDir("hostile-batch")))
    }

    /// Refusals that came after the run directory was made left it behind, and a rerun with the
    /// same --out then said it held a run already.
    func testRefusalsLeaveNoRunDirectory() throws {
        let out = Run.tempDir("hostile-leftover")
        let big = try config { $0.replacingOccurrences(of: "batch: 128", with: "batch: 2000") }
        for _ in 0..<2 {
            try refused(["train", "--config", big, "--steps", "1", "--out", out], says: ["train.batch: 2000 is larger than the 1024 training images"])
        }
        try refused(["train", "--config", try config(), "--steps", "1", "--out", out, "--trace", "/nonexistent/dir/t.json"],
                    says: ["/nonexistent/dir/t.json", "does not exist"])
        XCTAssertNil(fileType(out), "a refused run left its directory")
        let parent = (out as NSString).deletingLastPathComponent
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: parent).filter { $0.hasPrefix((out as NSString).lastPathComponent + ".tmp") }
        XCTAssertEqual(leftovers, [])
    }

    /// Output paths that hold the user's files are refused, and the files keep every byte.
    func testOutputsNeverOverwriteWhatAlexNetMPDidNotWrite() throws {
        let dir = Run.tempDir("hostile-outputs")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let thesis = dir + "/thesis.txt"
        try "my thesis\n".write(toFile: thesis, atomically: true, encoding: .utf8)
        try refused(["train", "--config", try config(), "--steps", "1", "--out", thesis], says: ["thesis.txt", "not an empty directory"])
        try "my thesis\n".write(toFile: dir + "/thesis.npy", atomically: true, encoding: .utf8)
        try refused(["eval", "--model", Self.run, "--data", Run.smallData, "--logits", dir + "/thesis.npy"], says: ["thesis.npy", "not a logits file"])
        try refused(["profile", "--config", try config(), "--synthetic", "--steps", "1", "--trace", thesis], says: ["thesis.txt", "not a trace"])
        try refused(["export", Self.run, "--out", thesis], says: ["thesis.txt", "not an exported model"])
        try refused(["report", Self.run, "--out", thesis], says: ["thesis.txt", "not a report"])
        XCTAssertEqual(try String(contentsOfFile: thesis, encoding: .utf8), "my thesis\n")
        XCTAssertEqual(try String(contentsOfFile: dir + "/thesis.npy", encoding: .utf8), "my thesis\n")
    }

    /// Under mpirun with its output going to a file, progress is plain lines, no `\r` (Open MPI
    /// gives the ranks a pseudo-terminal; they ask mpirun what its own output is).
    func testProgressUnderMpirunToAFileIsPlainLines() throws {
        let r = try Run.alexnet(["train", "--config", try config(), "--steps", "4", "--out", Run.tempDir("hostile-progress")], ranks: 2, timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stdout.contains("\r") || r.stdout.contains("\u{1B}[K"), r.stdout.debugDescription)
    }

    /// The same with a wrapper script between mpirun and the ranks: the rank's parent is then a
    /// shell on Open MPI's pseudo-terminal, and only mpirun's own output says where lines go.
    func testProgressUnderMpirunThroughAWrapperIsPlainLines() throws {
        let dir = Run.tempDir("hostile-wrapper")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let wrapper = dir + "/wrap.sh"
        try "#!/bin/sh\n\"$@\"\nexit $?\n".write(toFile: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper, 0o755)
        let argv = ["mpirun", "-np", "2", "--oversubscribe"] + (getuid() == 0 ? ["--allow-run-as-root"] : [])
            + [wrapper, Run.binary, "train", "--config", try config(), "--steps", "4", "--out", dir + "/run"]
        let r = try Run.command(argv, timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("done: 4 steps"), r.stdout)
        XCTAssertFalse(r.stdout.contains("\r") || r.stdout.contains("\u{1B}[K"), r.stdout.debugDescription)
    }
}

private func fileType(_ path: String) -> mode_t? {
    var st = stat()
    return lstat(path, &st) == 0 ? st.st_mode & S_IFMT : nil
}
