import Foundation
import XCTest

/// `alexnet-mp report` as a user runs it: on a real (short) run, and on directories that are not runs.
final class ReportCommandTests: XCTestCase {
    func testHelp() throws {
        let r = try Run.alexnet(["report", "--help"], timeout: 30)
        XCTAssertEqual(r.status, 0)
        for option in ["<runs> ...", "--out <out>", "--data <data>", "--neighbour-pool <neighbour-pool>", "--examples <examples>", "--threads <threads>"] {
            XCTAssertTrue(r.stdout.contains(option), "report --help lacks \(option):\n\(r.stdout)")
        }
    }

    func testMissingDirectoryIsOneLine() throws {
        let r = try Run.alexnet(["report", "/nonexistent/run-dir", "--out", "/tmp/alexnet-mp-never.html"], timeout: 30)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "alexnet-mp: error: /nonexistent/run-dir: no such run directory\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/alexnet-mp-never.html"))
    }

    func testDirectoryWithoutMetricsIsOneLine() throws {
        let dir = Run.tempDir("report-empty")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Run.alexnet(["report", dir], timeout: 30)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "alexnet-mp: error: \(dir): not a run directory with metrics (no metrics.csv)\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [], "nothing written")
    }

    /// A few real training steps on Fashion-MNIST, then the report of that run.
    func testReportOfAShortRealRun() throws {
        let data = "/usr/share/datasets/fashion-mnist"
        guard FileManager.default.fileExists(atPath: data) else { throw XCTSkip("no Fashion-MNIST at \(data)") }
        let dir = Run.tempDir("report-run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t = try Run.alexnet(["train", "--steps", "4", "--log-every", "2", "--checkpoint-every", "0", "--profile", "--out", dir], timeout: 300)
        XCTAssertEqual(t.status, 0, t.stderr)
        let r = try Run.alexnet(["report", dir, "--neighbour-pool", "200", "--examples", "4"], timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasSuffix("report: \(dir)/report.html\n"), r.stdout)
        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        for h in ["Learning curves", "conv1 kernels", "Top-5 guesses", "Nearest neighbours in fc7", "Confusion matrix", "Communication profile"] {
            XCTAssertTrue(html.contains(">\(h)</h"), "no section \(h)")
        }
        for name in ["T-shirt/top", "Ankle boot", "measured here, per step", "modelled: GeForce GTX 580 3 GB",
                     "mean colour saturation: not applicable"] {
            XCTAssertTrue(html.contains(name), name)
        }
        for f in ["conv1-kernels.png", "profile.svg", "confusion-matrix.svg", "top5.svg", "neighbours.svg", "learning-curves.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/report/\(f)"), f)
        }
    }
}
