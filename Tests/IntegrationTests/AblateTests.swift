import Foundation
import XCTest

/// `ablate` end to end on the small data set: both arms of each study with the same seeds, the
/// table, the report, a stop and a resume that skips what is done; a directory it did not make
/// is never touched.
final class AblateTests: XCTestCase {
    func ablate(_ out: String, ranks: Int, signals: [Run.Signal] = []) throws -> Run.Output {
        try Run.alexnet(["ablate", "--config", "configs/fashion-mnist.yaml", "--data", Run.smallData, "--study", "groups,lrn,views",
                         "--seeds", "2", "--epochs", "1", "--out", out], ranks: ranks, timeout: 600, signals: signals)
    }

    func testAStudyTrainsBothArmsStopsResumesAndPrintsTheTable() throws {
        let out = Run.tempDir("ablate")
        // On 1 rank, stopped while the second arm of the first seed trains (an epoch of the small
        // data: 8 steps); then resumed on 2 ranks.
        let started = Run.Signal(signal: SIGTERM) { FileManager.default.fileExists(atPath: out + "/no-groups-seed1/run.yaml") }
        let first = try ablate(out, ranks: 0, signals: [started])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("ablate: stopped; run the same command again"), first.stdout)
        XCTAssertTrue(first.stdout.contains("fashion-mnist-onegroup: 1 group × 2 replicas on 1 rank"), first.stdout)
        XCTAssertNil(try? String(contentsOfFile: out + "/ablation.txt", encoding: .utf8), "no table before the study is done")
        // Again: the finished arm is skipped, the stopped one resumed, the rest trained.
        let second = try ablate(out, ranks: 2)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stdout.contains("ablate: paper-seed1 is done"), second.stdout)
        XCTAssertTrue(second.stdout.contains("ablate: resuming no-groups-seed1") || second.stdout.contains("ablate: training no-groups-seed1"),
                      second.stdout)
        XCTAssertTrue(second.stdout.contains("ablate: training no-lrn-seed2"), second.stdout)
        XCTAssertTrue(second.stdout.contains("with ten views"), second.stdout)
        let table = try String(contentsOfFile: out + "/ablation.txt", encoding: .utf8)
        for study in ["groups", "lrn", "views"] {
            let row = table.split(separator: "\n").first { $0.hasPrefix(study + " ") }
            XCTAssertNotNil(row, "no \(study) row:\n\(table)")
            XCTAssertTrue(row?.contains("  2  ") == true, "\(study) is not over 2 seeds: \(row ?? "")")
        }
        XCTAssertTrue(table.contains("−1.7 / −1.2") && table.contains("2,187,530 / 1,886,410"), table)
        let report = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        XCTAssertTrue(report.contains("<svg") && report.contains("The paper&#39;s claims") || report.contains("The paper's claims"), "report")
        // Done: a third time trains nothing.
        let third = try ablate(out, ranks: 0)
        XCTAssertEqual(third.status, 0, third.stderr)
        XCTAssertFalse(third.stdout.contains("ablate: training") || third.stdout.contains("ablate: resuming"), third.stdout)
    }

    func testADirectoryAblateDidNotMakeIsRefusedAndKept() throws {
        let out = Run.tempDir("ablate-mine")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try "my notes".write(toFile: out + "/notes.txt", atomically: true, encoding: .utf8)
        let r = try ablate(out, ranks: 0)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("is not a study that ablate started"), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["notes.txt"])
        XCTAssertEqual(try String(contentsOfFile: out + "/notes.txt", encoding: .utf8), "my notes")
    }
}
