import _TestSupport
import AlexNetCore
@testable import AlexNetReport
import AlexNetTraining
import XCTest

/// The features the nearest-neighbour search reads (`Network.output(layer:group:)`, every
/// group's in group order) are the last hidden layer's whole output: the last layer applied to
/// them by hand, in a loop written here, gives back the probabilities the report computed.
final class FeatureTests: XCTestCase {
    func testFeaturesAreTheLastHiddenLayer() throws {
        let root = try makeScratchDirectory(self)
        let run = try TinyRun.make(in: root)
        let config = try RunConfig.load(run + "/config.yaml")
        let model = try TrainedModel(run: run, config: config, dataDir: nil, cores: 1)
        XCTAssertEqual(model.network.plans[model.featureLayer].spec.name, "fc4")
        let out = try model.outputs(of: model.batcher.test, features: true)
        XCTAssertEqual(out.featureSize, 16)
        XCTAssertEqual(out.count, 12)
        XCTAssertEqual(out.features.count, 12 * 16)
        XCTAssertTrue(out.features.allSatisfy { $0 >= 0 }, "after ReLU")
        let G = 2, K = 4, F = 16, perGroup = K / G
        for n in 0..<out.count {
            var logits = [Double](repeating: 0, count: K)
            for g in 0..<G {
                let p = model.network.parameters(group: g)
                let w = p[p.count - 2].value, b = p[p.count - 1].value   // fc5 of group g: [K/G][F], [K/G]
                for k in 0..<perGroup {
                    var s = Double(b.data[k])
                    for f in 0..<F { s += Double(w.data[k * F + f]) * Double(out.features[n * F + f]) }
                    logits[g * perGroup + k] = s
                }
            }
            let mx = logits.max()!, e = logits.map { Foundation.exp($0 - mx) }, sum = e.reduce(0, +)
            for k in 0..<K {
                XCTAssertEqual(Double(out.probabilities[n * K + k]), e[k] / sum, accuracy: 1e-5, "image \(n) class \(k)")
            }
        }
        // The top guesses are sorted and come from those probabilities.
        let top = out.top(3, of: 0)
        XCTAssertEqual(top.count, 3)
        XCTAssertGreaterThanOrEqual(top[0].probability, top[1].probability)
    }

    func testEvenSample() throws {
        let root = try makeScratchDirectory(self)
        let run = try TinyRun.make(in: root)
        let model = try TrainedModel(run: run, config: try RunConfig.load(run + "/config.yaml"), dataDir: nil, cores: 1)
        let s = model.batcher.train.evenSample(8)   // 40 images: every 5th
        XCTAssertEqual(s.indices, [0, 5, 10, 15, 20, 25, 30, 35])
        XCTAssertEqual(s.set.labels, s.indices.map { model.batcher.train.labels[$0] })
        XCTAssertEqual(s.set.bitmap(1), model.batcher.train.bitmap(5))
    }
}
