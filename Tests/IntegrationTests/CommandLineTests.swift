import XCTest

/// The command tree as a user meets it: `--help` names every command, and `summary` prints the paper's totals.
final class CommandLineTests: XCTestCase {
    func testHelpListsEveryCommand() throws {
        let r = try Run.alexnet(["--help"], timeout: 30)
        XCTAssertEqual(r.status, 0)
        for command in ["train", "eval", "export", "prepare", "summary", "lint", "bench", "compare", "report"] {
            XCTAssertTrue(r.stdout.contains("  \(command) "), "--help does not list \(command):\n\(r.stdout)")
        }
        XCTAssertTrue(r.stdout.contains("mpirun -np 2 alexnet-mp train"), r.stdout)
    }

    func testSummaryOfThePaperModel() throws {
        let r = try Run.alexnet(["summary", "--config", "configs/alexnet.yaml", "--ranks", "2"], timeout: 30)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("60,965,224 parameters; 724.4 M multiply-adds"), r.stdout)
        XCTAssertTrue(r.stdout.contains("rank 1 of 2: group 1, 30,482,612 parameters"), r.stdout)
    }

    /// `lint` exits 0 when nothing is refused (declared departures and choices only), 1 on an error.
    func testLintExitsNonZeroOnlyOnAnError() throws {
        let r = try Run.alexnet(["lint", "--config", "configs/fashion-mnist.yaml"], timeout: 30)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasSuffix("configs/fashion-mnist.yaml: 4 departures from the paper: 0 errors, 0 undeclared choices, 4 declared\n"), r.stdout)
        let dir = Run.tempDir("lint")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let text = try String(contentsOfFile: Run.packageRoot.path + "/configs/fashion-mnist.yaml", encoding: .utf8)
        try text.replacingOccurrences(of: "  untiled: \"pool1", with: "  # untiled: \"pool1").write(toFile: dir + "/u.yaml", atomically: true, encoding: .utf8)
        let u = try Run.alexnet(["lint", "--config", dir + "/u.yaml"], timeout: 30)
        XCTAssertEqual(u.status, 1, u.stderr)
        XCTAssertTrue(u.stdout.hasPrefix("error [untiled] model.layers[0] (conv1).pool: "), u.stdout)
        XCTAssertEqual(u.stderr, "")
    }
}
