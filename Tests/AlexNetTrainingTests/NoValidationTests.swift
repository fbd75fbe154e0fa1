import _TestSupport
import AlexNetCore
import AlexNetData
import AlexNetParallel
import AlexNetTraining
import Foundation
import XCTest

/// Training on data without a validation split (a prepared directory without val/): every
/// epoch runs, the validation columns are nan, and the plateau schedule follows the epoch's
/// training top-1 error — checked against the rule applied here to the recorded errors.
final class NoValidationTests: XCTestCase {
    func testPlateauFollowsTheTrainingErrorWithoutAValidationSplit() throws {
        let config = try ColourNet.config()
        let train = ColourNet.images(8, seed: 5)
        let batcher = try Batcher(train: train, test: .empty(channels: 3, height: 8, width: 8),
                                  augmentation: config.data.augmentation, seed: 3)
        let network = try oneRankNetwork(config.model, batch: 4)
        let dir = try makeScratchDirectory(self)
        try FileManager.default.createDirectory(atPath: dir + "/model", withIntermediateDirectories: true)
        let trainer = Trainer(config: config, network: network, batcher: batcher, console: Console(rank: 1),
                              options: TrainOptions(outDir: dir))
        try trainer.run(epochs: 6)
        let h = trainer.history
        XCTAssertEqual(h.count, 6)
        XCTAssertTrue(h.allSatisfy { $0.validationErrorTop1.isNaN && $0.validationErrorTop5.isNaN }, "\(h)")
        XCTAssertTrue(h.allSatisfy { $0.loss.isFinite && $0.trainErrorTop1.isFinite })

        // The plateau rule (patience 1, factor 0.1, at most 3 drops), by hand, on a series of errors.
        func rates(_ errors: [Double]) -> [Double] {
            var lr = 0.05, best = Double.infinity, since = 0, drops = 0, out: [Double] = []
            for e in errors {
                out.append(lr)
                if e < best { best = e; since = 0 } else { since += 1 }
                if since >= 1 {
                    since = 0
                    if drops < 3 { lr *= 0.1; drops += 1 }
                }
            }
            return out
        }
        let recorded = h.map(\.learningRate)
        let fromTraining = rates(h.map(\.trainErrorTop1))
        for (a, b) in zip(recorded, fromTraining) { XCTAssertEqual(a, b, accuracy: 1e-12 * b, "rates \(recorded), expected \(fromTraining)") }
        XCTAssertNotEqual(fromTraining, rates(h.map(\.validationErrorTop1)),
                          "the training errors must improve at least once, or this test cannot tell them from the nan validation errors")

        // metrics.csv says nan (compare reads it and says there was no validation: CompareViewsTests).
        let csv = try String(contentsOfFile: dir + "/metrics.csv", encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").count, 7)
        XCTAssertEqual(csv.split(separator: "\n")[1].split(separator: ",")[5], "nan", csv)
    }
}
