import XCTest

/// The command tree as a user meets it: `--help` names every command, and `summary` prints the paper's totals.
final class CommandLineTests: XCTestCase {
    func testHelpListsEveryCommand() throws {
        let r = try Run.alexnet(["--help"], timeout: 30)
        XCTAssertEqual(r.status, 0)
        for command in ["train", "eval", "export", "prepare", "summary", "bench", "compare", "report"] {
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
}
