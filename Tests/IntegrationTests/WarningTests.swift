import Foundation
import XCTest

/// A run that does not learn says so: the loss at ln(classes) for a whole epoch warns.
final class WarningTests: XCTestCase {
    /// Writes a tiny MNIST-style directory: `count` random 28×28 images with random labels.
    static func tinyIDX(_ dir: String, count: Int) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var rng = SystemRandomNumberGenerator()
        func header(_ magic: UInt8, _ dims: [Int]) -> [UInt8] {
            [0, 0, 8, magic] + dims.flatMap { d in [24, 16, 8, 0].map { UInt8((d >> $0) & 0xFF) } }
        }
        for (stem, n) in [("train", count), ("t10k", count / 2)] {
            let images = header(3, [n, 28, 28]) + (0..<(n * 784)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let labels = header(1, [n]) + (0..<n).map { _ in UInt8.random(in: 0...9, using: &rng) }
            try Data(images).write(to: URL(fileURLWithPath: "\(dir)/\(stem)-images-idx3-ubyte"))
            try Data(labels).write(to: URL(fileURLWithPath: "\(dir)/\(stem)-labels-idx1-ubyte"))
        }
    }

    func testChanceLevelForAWholeEpochWarns() throws {
        let dir = Run.tempDir("chance")
        try Self.tinyIDX(dir + "/data", count: 512)
        let text = try String(contentsOfFile: Run.packageRoot.path + "/configs/fashion-mnist.yaml", encoding: .utf8)
            .replacingOccurrences(of: "  init: he", with: "  init: paper")
        try text.write(toFile: dir + "/paper.yaml", atomically: true, encoding: .utf8)
        let r = try Run.alexnet(["train", "--config", dir + "/paper.yaml", "--data", dir + "/data", "--epochs", "1",
                                 "--out", dir + "/run"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("warning: the training loss stayed at ln(10) = 2.303 or above for all of epoch 1"), r.stderr)
        // And the model it saved evaluates, named by a shard's path.
        let e = try Run.alexnet(["eval", "--model", dir + "/run/model/group0.bin", "--data", dir + "/data"], timeout: 60)
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stdout.contains("256 test images, top-1 error"), e.stdout)
    }
}
