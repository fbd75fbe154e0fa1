import XCTest

/// The central test of the project: the two-group model on one rank (both groups in one
/// process, the in-process communicator) and on two ranks (one group each, real MPI
/// collectives) gives the same losses step for step.
final class PlacementEquivalenceTests: XCTestCase {
    func testTwoGroupsOnOneRankAndOnTwoRanksGiveTheSameLosses() throws {
        let steps = 50
        let one = Run.tempDir("equiv-1rank"), two = Run.tempDir("equiv-2ranks")
        let common = ["train", "--config", "configs/fashion-mnist.yaml", "--steps", String(steps), "--log-every", "1"]
        let a = try Run.alexnet(common + ["--out", one])
        XCTAssertEqual(a.status, 0, "1 rank failed: \(a.stderr)")
        let b = try Run.alexnet(common + ["--out", two], ranks: 2)
        XCTAssertEqual(b.status, 0, "2 ranks failed: \(b.stderr)")
        let la = try Run.losses(one), lb = try Run.losses(two)
        XCTAssertEqual(la.count, steps)
        XCTAssertEqual(lb.count, steps)
        var worst = 0.0, identical = 0
        for (i, (x, y)) in zip(la, lb).enumerated() {
            let rel = abs(x - y) / max(abs(x), 1e-12)
            worst = max(worst, rel)
            if x == y { identical += 1 }
            XCTAssertLessThanOrEqual(rel, 1e-5, "step \(i + 1): 1 rank \(x), 2 ranks \(y)")
        }
        // The losses must actually move, or equality would prove nothing.
        XCTAssertLessThan(la.last!, la.first! * 0.8, "the loss did not fall over \(steps) steps: \(la.first!) → \(la.last!)")
        print("placement equivalence: \(identical)/\(steps) losses identical as printed (9 digits), worst relative difference \(worst)")
        // Each rank writes only its own group's shard.
        XCTAssertTrue(FileManager.default.fileExists(atPath: two + "/model/group0.bin"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: two + "/model/group1.bin"))
        XCTAssertTrue(b.stdout.contains("rank 0 holds") && b.stdout.contains("rank 1 holds"), b.stdout)
        // The other rank prints nothing but errors: one start-up line per kind, from rank 0 only.
        XCTAssertEqual(b.stdout.components(separatedBy: "model fashion-mnist:").count - 1, 1, b.stdout)

        // A model saved by 2 ranks evaluates on 1 rank and on 2 ranks to the same error.
        let e1 = try Run.alexnet(["eval", "--model", two])
        let e2 = try Run.alexnet(["eval", "--model", two], ranks: 2)
        XCTAssertEqual(e1.status, 0, e1.stderr)
        XCTAssertEqual(e2.status, 0, e2.stderr)
        let line1 = e1.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let line2 = e2.stdout.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(line1.contains("top-1 error"), line1)
        XCTAssertEqual(line1.replacingOccurrences(of: two, with: ""), line2.replacingOccurrences(of: two, with: ""))
    }
}
