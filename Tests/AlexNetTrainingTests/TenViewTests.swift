import _TestSupport
import AlexNetCore
import AlexNetData
import AlexNetParallel
import AlexNetTraining
import Foundation
import XCTest

/// A two-group net small enough to run by hand: 3×6×6 crops of 8×8 colour images, conv1 of
/// 1×1 kernels (2 per group, ReLU), then fc2, the logits (3 per group). `TenViewTests` and
/// `NoValidationTests` train or evaluate it on sets made here.
enum ColourNet {
    static let yaml = """
        name: tiny-colour
        model:
          input: {channels: 3, height: 6, width: 6}
          classes: 6
          groups: 2
          init: he
          layers:
            - {name: conv1, type: conv, kernels: 4, size: 1, stride: 1, pad: 0}
            - {name: fc2, type: fc, outputs: 6}
        data:
          source: cifar10
          dir: not-read-the-tests-build-the-batcher
          crop: 6
          flip: true
          scale: 0.00392156862745098
          mean_image: true
        train:
          batch: 4
          epochs: 6
          seed: 3
          lr: 0.05
          momentum: 0.9
          weight_decay: 0.0005
          schedule: {type: plateau, patience: 1, factor: 0.1, max_drops: 3}

        """
    static let side = 8, crop = 6, classes = 6

    /// `count` random 3×8×8 images with random labels.
    static func images(_ count: Int, seed: Int) -> ImageSet {
        var r = RandomStream(seed: 17, .test, seed)
        let px = (0..<(count * 3 * side * side)).map { _ in UInt8(r.below(256)) }
        return ImageSet(count: count, channels: 3, height: side, width: side, pixels: px,
                        labels: (0..<count).map { _ in Int32(r.below(classes)) })
    }

    static func config() throws -> RunConfig { try RunConfig.parse(yaml, file: "tiny-colour.yaml") }
}

/// `Evaluator.run(views: 10)`: the softmax averaged over the paper's ten views, checked against
/// the same average computed here from the raw pixels — crops, mirrors, mean, the net's two
/// layers, softmax, ranking — in loops of this test's own.
final class TenViewTests: XCTestCase {
    func testTenViewAverageMatchesAHandComputation() throws {
        let config = try ColourNet.config()
        let train = ColourNet.images(8, seed: 1), test = ColourNet.images(11, seed: 2)   // 11: the last batch has 3
        let batcher = try Batcher(train: train, test: test, augmentation: config.data.augmentation, seed: 3)
        let network = try oneRankNetwork(config.model, batch: 4)
        // Weights and biases of our own, so the hand computation knows them.
        var r = RandomStream(seed: 9, .test, 1)
        for g in 0..<2 { for (k, p) in network.parameters(group: g).enumerated() {
            let span: Float = k < 2 ? 1 : 0.2
            for i in 0..<p.count { p.value.data[i] = (r.uniform() - 0.5) * span }
        } }
        let got = try XCTUnwrap(try Evaluator(network: network, batcher: batcher).run(views: 10))

        // By hand. conv1 of group g: w [2][3], b [2]; fc2 of group g: w [3][4·6·6] over the maps
        // of both groups in (channel, y, x) order, b [3]; logits g·3 + j.
        let S = ColourNet.crop, H = ColourNet.side, K = ColourNet.classes, scale = 1.0 / 255
        let params = (0..<2).map { g in network.parameters(group: g).map { p in (0..<p.count).map { Double(p.value.data[$0]) } } }
        var mean = [Double](repeating: 0, count: 3 * H * H)
        for i in 0..<train.count { for j in 0..<(3 * H * H) { mean[j] += Double(train.image(i)[j]) * scale / Double(train.count) } }
        func probabilities(_ image: Int, view: Int) -> [Double] {
            // Views: 0 the centre, 1–4 top-left, top-right, bottom-left, bottom-right; 5–9 mirrored.
            let corners = [(1, 1), (0, 0), (0, 2), (2, 0), (2, 2)]
            let (oy, ox) = corners[view % 5], mirrored = view >= 5
            let px = test.image(image)
            func input(_ c: Int, _ y: Int, _ x: Int) -> Double {
                let j = c * H * H + (oy + y) * H + ox + (mirrored ? S - 1 - x : x)
                return Double(px[j]) * scale - mean[j]
            }
            var maps = [Double](repeating: 0, count: 4 * S * S)   // [channel][y][x], channel g·2 + k
            for g in 0..<2 { for k in 0..<2 { for y in 0..<S { for x in 0..<S {
                var s = params[g][1][k]
                for c in 0..<3 { s += params[g][0][k * 3 + c] * input(c, y, x) }
                maps[((g * 2 + k) * S + y) * S + x] = max(0, s)
            } } } }
            var logits = [Double](repeating: 0, count: K)
            for g in 0..<2 { for j in 0..<3 {
                var s = params[g][3][j]
                for f in 0..<(4 * S * S) { s += params[g][2][j * 4 * S * S + f] * maps[f] }
                logits[g * 3 + j] = s
            } }
            let top = logits.max()!, e = logits.map { Foundation.exp($0 - top) }, sum = e.reduce(0, +)
            return e.map { $0 / sum }
        }
        var centre = (e1: 0, e5: 0, loss: 0.0), ten = (e1: 0, e5: 0, loss: 0.0)
        var largestViewEffect = 0.0
        for i in 0..<test.count {
            let label = Int(test.labels[i])
            let views = (0..<10).map { probabilities(i, view: $0) }
            let average = (0..<K).map { k in views.reduce(0) { $0 + $1[k] } / 10 }
            for (p, counts) in [(views[0], 0), (average, 1)] {
                let rank = (0..<K).filter { p[$0] > p[label] }.count   // classes ranked above the truth
                let e1 = rank >= 1 ? 1 : 0, e5 = rank >= 5 ? 1 : 0, loss = -Foundation.log(p[label])
                if counts == 0 { centre.e1 += e1; centre.e5 += e5; centre.loss += loss } else { ten.e1 += e1; ten.e5 += e5; ten.loss += loss }
            }
            largestViewEffect = max(largestViewEffect, zip(views[0], average).map { abs($0 - $1) }.max()!)
        }
        XCTAssertGreaterThan(largestViewEffect, 0.01, "the views must differ, or this test cannot tell 10 views from 1")
        let n = Double(test.count)
        XCTAssertEqual(got.centre.views, 1); XCTAssertEqual(got.averaged.views, 10)
        XCTAssertEqual(got.centre.top1, Double(centre.e1) / n, accuracy: 1e-12, "1 view top-1")
        XCTAssertEqual(got.centre.top5, Double(centre.e5) / n, accuracy: 1e-12, "1 view top-5")
        XCTAssertEqual(got.centre.loss, centre.loss / n, accuracy: 1e-4, "1 view loss")
        XCTAssertEqual(got.averaged.top1, Double(ten.e1) / n, accuracy: 1e-12, "10 views top-1")
        XCTAssertEqual(got.averaged.top5, Double(ten.e5) / n, accuracy: 1e-12, "10 views top-5")
        XCTAssertEqual(got.averaged.loss, ten.loss / n, accuracy: 1e-4, "10 views loss (of the averaged softmax)")
        XCTAssertNotEqual(got.averaged.loss, got.centre.loss, accuracy: 1e-3)
    }

    /// A model with NaN weights scores no hit: a NaN logit compares false with everything, so a
    /// rank test that only counts "above" would call every image a hit (0% error). Every image is
    /// an error at every k, and the evaluation says how many images had non-finite outputs.
    func testNonFiniteLogitsAreErrorsAtEveryK() throws {
        let config = try ColourNet.config()
        let train = ColourNet.images(8, seed: 1), test = ColourNet.images(11, seed: 2)
        let batcher = try Batcher(train: train, test: test, augmentation: config.data.augmentation, seed: 3)
        let network = try oneRankNetwork(config.model, batch: 4)
        network.parameters(group: 1)[2].value.data[0] = .nan      // one weight of one group's last layer
        for views in [1, 10] {
            let r = try XCTUnwrap(try Evaluator(network: network, batcher: batcher).run(views: views))
            for e in [r.centre, r.averaged] {
                XCTAssertEqual(e.top1, 1, "\(views) views: top-1"); XCTAssertEqual(e.top5, 1, "\(views) views: top-5")
                XCTAssertEqual(e.nonFinite, test.count)
            }
        }
        // The loss's own count, on one batch: every image of it.
        let valid = batcher.fillTest(start: 0, batch: 4, input: network.input.data, labels: network.labels, from: test)
        try network.forward(training: false, step: 0)
        let r = network.loss(valid: valid, gradient: false)
        XCTAssertEqual(r.errorsTop1, valid); XCTAssertEqual(r.errorsTop5, valid); XCTAssertEqual(r.nonFinite, valid)
    }
}
