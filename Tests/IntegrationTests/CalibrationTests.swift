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
    /// Two replicas, a whole one a rank: the prediction is data parallel, and it prices the
    /// gradient sums (every layer's communication is predicted above zero), beside the measured
    /// ones; calibrate measured each replica's slice of the minibatch.
    func testDataParallelPredictionPricesTheGradientSums() throws {
        let dir = Run.tempDir("calibrate-dp")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let dp = ["--replicas", "2", "--ranks-per-replica", "1", "--batch", "32"]
        let c = try Run.alexnet(["calibrate", "--config", "configs/fashion-mnist.yaml", "--out", dir + "/dp.yaml"] + dp, ranks: 2, timeout: 120)
        XCTAssertEqual(c.status, 0, c.stderr)
        let text = try String(contentsOfFile: dir + "/dp.yaml", encoding: .utf8)
        XCTAssertTrue(text.contains("2 replicas of 16 images") && text.contains("batch: 16"), text)
        let p = try Run.alexnet(["profile", "--config", "configs/fashion-mnist.yaml", "--synthetic", "--steps", "3", "--warmup", "1",
                                 "--compare-with", dir + "/dp.yaml"] + dp, ranks: 2, timeout: 300)
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertTrue(p.stdout.contains("data parallel"), p.stdout)
        var predictedComm: [String: Double] = [:]
        for layer in ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"] {
            let table = p.stdout.components(separatedBy: "predicted by").last ?? ""
            let row = table.split(separator: "\n").first { $0.hasPrefix(layer + " ") && $0.contains("%") }
            let fields = row.map { $0.split(separator: " ", omittingEmptySubsequences: true) } ?? []
            // layer, fwd meas/pred/ratio, bwd meas/pred/ratio, comm meas/pred, share
            XCTAssertEqual(fields.count, 10, "row of \(layer):\n\(p.stdout)")
            if fields.count == 10 { predictedComm[layer] = Double(fields[8]) }
        }
        // fc6 holds 512 x 1024 weights: 2 MiB of gradients to sum, far above the printed 0.01 ms.
        XCTAssertGreaterThan(predictedComm["fc6"] ?? 0, 0, "no gradient sum predicted for fc6:\n\(p.stdout)")
    }
}
