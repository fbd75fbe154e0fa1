import Foundation
import XCTest

/// The simulator against this machine: `calibrate` measures the primitives (never the model),
/// `profile --compare-with` runs the model and prints what the calibration predicts beside what
/// it measured. Loose bounds: a broken model fails (a factor of 2 on the step, a layer missing),
/// the machine's noise does not. BENCHMARKS.md and docs/SIMULATOR.md hold the real figures.
final class CalibrationTests: XCTestCase {
    func testCalibrationPredictsTheStepOfFashionMNISTWithinAFactorOfTwo() throws {
        let dir = Run.tempDir("calibrate")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let c = try Run.alexnet(["calibrate", "--config", "configs/fashion-mnist.yaml", "--out", dir + "/m.yaml"], timeout: 120)
        XCTAssertEqual(c.status, 0, c.stderr)
        let text = try String(contentsOfFile: dir + "/m.yaml", encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("# alexnet-mp calibrate") && text.contains("measured:") && text.contains("forward_gflops"), text)
        let p = try Run.alexnet(["profile", "--config", "configs/fashion-mnist.yaml", "--synthetic", "--steps", "6", "--warmup", "2",
                                 "--compare-with", dir + "/m.yaml"], timeout: 300)
        XCTAssertEqual(p.status, 0, p.stderr)
        let lines = p.stdout.split(separator: "\n")
        for layer in ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"] {
            XCTAssertTrue(lines.contains { $0.hasPrefix(layer + " ") && $0.contains("%") }, "no prediction row for \(layer):\n\(p.stdout)")
        }
        let step = lines.last { $0.hasPrefix("step ") }.map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        let ratio = step.flatMap { $0.count > 3 ? Double($0[3]) : nil }
        XCTAssertNotNil(ratio, p.stdout)
        if let ratio { XCTAssertTrue((0.5...2.0).contains(ratio), "predicted ÷ measured step \(ratio):\n\(p.stdout)") }
        // The file is simulate's device too; a file calibrate did not write is never overwritten.
        XCTAssertEqual(try Run.alexnet(["simulate", "--config", "configs/fashion-mnist.yaml", "--device", dir + "/m.yaml"], timeout: 60).status, 0)
        try "mine".write(toFile: dir + "/mine.yaml", atomically: true, encoding: .utf8)
        let refused = try Run.alexnet(["calibrate", "--config", "configs/fashion-mnist.yaml", "--out", dir + "/mine.yaml"], timeout: 60)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertEqual(try String(contentsOfFile: dir + "/mine.yaml", encoding: .utf8), "mine")
    }
}
