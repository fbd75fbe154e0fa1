import AlexNetCore
import AlexNetData
import XCTest
import _TestSupport

/// The mean image, centre crops for testing, keyed random crops and flips for training.
/// Expected values are worked out by hand on 6×6 images with a 4×4 crop.
final class BatcherTests: XCTestCase {
    /// Three 1×6×6 training images: pixel j of image i is j + 10·i, so the mean of pixel j is j + 10.
    let handTrain = ImageSet(count: 3, channels: 1, height: 6, width: 6,
                             pixels: (0..<3).flatMap { i in (0..<36).map { j in UInt8(j + 10 * i) } }, labels: [0, 1, 2])
    /// Two 1×6×6 test images: pixel j of image t is 3j + 50t.
    let handTest = ImageSet(count: 2, channels: 1, height: 6, width: 6,
                            pixels: (0..<2).flatMap { t in (0..<36).map { j in UInt8(3 * j + 50 * t) } }, labels: [4, 5])

    /// `count` 1×6×6 images of random bytes (no mirror symmetry), labels `i mod 10`.
    func randomSet(count: Int, seed: UInt64) -> ImageSet {
        var s = RandomStream(seed: seed, .test, 99)
        let px = (0..<(count * 36)).map { _ in UInt8(truncatingIfNeeded: s.next()) }
        return ImageSet(count: count, channels: 1, height: 6, width: 6, pixels: px, labels: (0..<count).map { Int32($0 % 10) })
    }

    func fillTraining(_ b: Batcher, epoch: Int, step: Int, batch: Int) -> (input: [Float], labels: [Int32]) {
        var input = [Float](repeating: .nan, count: b.train.channels * batch * b.augmentation.crop * b.augmentation.crop)
        var labels = [Int32](repeating: -1, count: batch)
        input.withUnsafeMutableBufferPointer { i in
            labels.withUnsafeMutableBufferPointer { l in
                b.fillTraining(epoch: epoch, step: step, batch: batch, input: i.baseAddress!, labels: l.baseAddress!)
            }
        }
        return (input, labels)
    }

    func fillTest(_ b: Batcher, start: Int, batch: Int, from set: ImageSet? = nil) -> (input: [Float], labels: [Int32], valid: Int) {
        let channels = (set ?? b.test).channels
        var input = [Float](repeating: .nan, count: channels * batch * b.augmentation.crop * b.augmentation.crop)
        var labels = [Int32](repeating: -1, count: batch)
        var valid = -1
        input.withUnsafeMutableBufferPointer { i in
            labels.withUnsafeMutableBufferPointer { l in
                valid = b.fillTest(start: start, batch: batch, input: i.baseAddress!, labels: l.baseAddress!, from: set)
            }
        }
        return (input, labels, valid)
    }

    // MARK: Mean image and test batches

    func testMeanImageMatchesHandComputation() throws {
        let b = try Batcher(train: handTrain, test: handTest,
                            augmentation: Augmentation(crop: 4, flip: false, scale: 0.5, subtractMean: true), seed: 1)
        XCTAssertEqual(b.mean.count, 36)
        // mean of (j, j + 10, j + 20) is j + 10, scaled by 0.5.
        assertClose(b.mean, (0..<36).map { 0.5 * Double($0 + 10) }, "mean", rtol: 0, atol: 1e-6)
        XCTAssertEqual(b.mean[0], 5)
        XCTAssertEqual(b.mean[35], 22.5)
    }

    func testTestBatchIsTheCentreCropMinusTheMean() throws {
        let b = try Batcher(train: handTrain, test: handTest,
                            augmentation: Augmentation(crop: 4, flip: true, scale: 0.5, subtractMean: true), seed: 1)
        let (input, labels, valid) = fillTest(b, start: 0, batch: 2)
        // The centre 4×4 of a 6×6 image starts at (1, 1): source pixel j = 6(1 + y) + (1 + x) = 7 + 6y + x.
        // 0.5·(3j + 50t) − 0.5·(j + 10) = j + 25t − 5 = 2 + 6y + x + 25t.
        var expected = [Double](repeating: 0, count: 32)
        for t in 0..<2 { for y in 0..<4 { for x in 0..<4 { expected[t * 16 + y * 4 + x] = Double(2 + 6 * y + x + 25 * t) } } }
        assertClose(input, expected, "test batch [C=1][N=2][4][4]", rtol: 0, atol: 1e-5)
        XCTAssertEqual(Array(input.prefix(4)), [2, 3, 4, 5])
        XCTAssertEqual(input[16], 27)
        XCTAssertEqual(labels, [4, 5])
        XCTAssertEqual(valid, 2)
    }

    func testTestBatchLayoutIsChannelsThenImages() throws {
        // Two channels: pixel j of channel c of training image i is j + 40c + 10i (mean j + 40c + 10);
        // of test image t, 2j + 40c + 60t. Scale 1: centre value j + 60t − 10, the same in both channels.
        func set(_ count: Int, _ f: (Int, Int, Int) -> Int) -> ImageSet {
            ImageSet(count: count, channels: 2, height: 6, width: 6,
                     pixels: (0..<count).flatMap { i in (0..<2).flatMap { c in (0..<36).map { j in UInt8(f(i, c, j)) } } },
                     labels: (0..<count).map { Int32($0) })
        }
        let train = set(3) { i, c, j in j + 40 * c + 10 * i }
        let test = set(2) { t, c, j in 2 * j + 40 * c + 60 * t }
        let b = try Batcher(train: train, test: test, augmentation: Augmentation(crop: 4, flip: false, scale: 1, subtractMean: true), seed: 1)
        let (input, _, _) = fillTest(b, start: 0, batch: 2)
        var expected = [Double](repeating: 0, count: 64)
        for c in 0..<2 { for n in 0..<2 { for y in 0..<4 { for x in 0..<4 {
            let j = 7 + 6 * y + x
            expected[((c * 2 + n) * 4 + y) * 4 + x] = Double(j + 60 * n - 10)
        } } } }
        assertClose(input, expected, "two-channel test batch [C][N][4][4]", rtol: 0, atol: 1e-5)
    }

    func testWithoutMeanSubtractionPixelsAreOnlyScaled() throws {
        let b = try Batcher(train: handTrain, test: handTest,
                            augmentation: Augmentation(crop: 4, flip: false, scale: 0.5, subtractMean: false), seed: 1)
        let (input, _, _) = fillTest(b, start: 1, batch: 1)
        // 0.5·(3j + 50) with j = 7 + 6y + x.
        let expected: [Double] = (0..<16).map { (i: Int) -> Double in
            let j = 7 + 6 * (i / 4) + i % 4
            return 0.5 * Double(3 * j + 50)
        }
        assertClose(input, expected, "unnormalised test batch", rtol: 0, atol: 1e-5)
    }

    func testFillTestReportsValidCountForAPartialLastBatch() throws {
        let five = ImageSet(count: 5, channels: 1, height: 6, width: 6,
                            pixels: (0..<5).flatMap { i in [UInt8](repeating: UInt8(10 * i), count: 36) }, labels: [0, 1, 2, 3, 4])
        let b = try Batcher(train: handTrain, test: five,
                            augmentation: Augmentation(crop: 4, flip: false, scale: 1, subtractMean: false), seed: 1)
        let first = fillTest(b, start: 0, batch: 4)
        XCTAssertEqual(first.valid, 4)
        XCTAssertEqual(first.labels, [0, 1, 2, 3])
        let last = fillTest(b, start: 4, batch: 4)
        XCTAssertEqual(last.valid, 1, "only image 4 is real in a batch of 4 starting at 4 of 5")
        XCTAssertEqual(last.labels[0], 4)
        // The padding repeats image 4 (every pixel 40), so it is finite and in range.
        XCTAssertEqual(last.input, [Float](repeating: 40, count: 64))
        XCTAssertEqual(fillTest(b, start: 5, batch: 4).valid, 0)
        // The `from:` set overrides the test set.
        let fromTrain = fillTest(b, start: 1, batch: 4, from: handTrain)
        XCTAssertEqual(fromTrain.valid, 2)
        XCTAssertEqual(fromTrain.labels, [1, 2, 2, 2])
    }

    func testCropLargerThanTheImagesIsRefused() {
        XCTAssertThrowsError(try Batcher(train: handTrain, test: handTest,
                                         augmentation: Augmentation(crop: 7, flip: false, scale: 1, subtractMean: true), seed: 1)) {
            XCTAssertTrue($0 is DataError)
            XCTAssertTrue("\($0)".contains("data.crop"), "\($0)")
            XCTAssertTrue("\($0)".contains("6×6"), "\($0)")
        }
    }

    // MARK: Training batches

    func testPermutationPerEpochIsAPermutation() throws {
        let train = randomSet(count: 20, seed: 3)
        let b = try Batcher(train: train, test: train, augmentation: Augmentation(crop: 4, flip: true, scale: 1, subtractMean: true), seed: 9)
        var seen = Set<[Int]>()
        for epoch in 1...6 {
            let p = b.permutation(epoch: epoch)
            XCTAssertEqual(p.sorted(), Array(0..<20), "epoch \(epoch): \(p)")
            seen.insert(p)
        }
        XCTAssertEqual(seen.count, 6, "epochs share an order")
        XCTAssertNotEqual(b.permutation(epoch: 1), Array(0..<20), "the first epoch is not shuffled")
        // Asking again, after other epochs, and from another batcher with the same seed gives the same order.
        let again = try Batcher(train: train, test: train, augmentation: b.augmentation, seed: 9)
        XCTAssertEqual(again.permutation(epoch: 4), b.permutation(epoch: 4))
        XCTAssertEqual(b.permutation(epoch: 2), again.permutation(epoch: 2))
        XCTAssertEqual(b.stepsPerEpoch(batch: 6), 3)
    }

    func testTrainingBatchesAreDeterministicPerSeedEpochAndStep() throws {
        let train = randomSet(count: 12, seed: 4)
        let aug = Augmentation(crop: 4, flip: true, scale: 1.0 / 255, subtractMean: true)
        let a = try Batcher(train: train, test: train, augmentation: aug, seed: 5)
        let b = try Batcher(train: train, test: train, augmentation: aug, seed: 5)
        let first = fillTraining(a, epoch: 2, step: 1, batch: 4)
        XCTAssertFalse(first.input.contains { $0.isNaN }, "the batch was not completely written")
        _ = fillTraining(a, epoch: 3, step: 0, batch: 4)  // another epoch in between
        let repeated = fillTraining(a, epoch: 2, step: 1, batch: 4)
        let fresh = fillTraining(b, epoch: 2, step: 1, batch: 4)
        XCTAssertEqual(repeated.input, first.input)
        XCTAssertEqual(repeated.labels, first.labels)
        XCTAssertEqual(fresh.input, first.input, "another batcher with the same seed drew another batch")
        XCTAssertEqual(fresh.labels, first.labels)

        XCTAssertNotEqual(fillTraining(a, epoch: 3, step: 1, batch: 4).input, first.input, "epoch 3 repeats epoch 2")
        XCTAssertNotEqual(fillTraining(a, epoch: 2, step: 2, batch: 4).input, first.input, "step 2 repeats step 1")
        let otherSeed = try Batcher(train: train, test: train, augmentation: aug, seed: 6)
        XCTAssertNotEqual(fillTraining(otherSeed, epoch: 2, step: 1, batch: 4).input, first.input, "seed 6 repeats seed 5")

        // Labels follow the epoch's order.
        let perm = a.permutation(epoch: 2)
        XCTAssertEqual(first.labels, (4..<8).map { train.labels[perm[$0]] })
    }

    /// With flips on, every sample is the (mean-subtracted, scaled) crop of its source image at
    /// some offset, or that crop mirrored; both kinds and several offsets occur. With flips off,
    /// no sample is mirrored.
    func testEverySampleIsACropOrAMirroredCropOfItsSource() throws {
        let train = randomSet(count: 8, seed: 11)
        let scale: Float = 1.0 / 255
        // The preprocessed images by hand, in Double: pixel·scale − mean over the training set.
        let pixels = allPixels(train)
        var mean = [Double](repeating: 0, count: 36)
        for i in 0..<8 { for j in 0..<36 { mean[j] += Double(pixels[i * 36 + j]) * Double(scale) / 8 } }
        func pre(_ i: Int, _ y: Int, _ x: Int) -> Double { Double(pixels[i * 36 + y * 6 + x]) * Double(scale) - mean[y * 6 + x] }

        for flip in [true, false] {
            let b = try Batcher(train: train, test: train, augmentation: Augmentation(crop: 4, flip: flip, scale: scale, subtractMean: true),
                                seed: 21)
            var plain = 0, mirrored = 0, offsets = Set<[Int]>()
            for epoch in 1...6 {
                for step in 0..<2 {
                    let (input, _) = fillTraining(b, epoch: epoch, step: step, batch: 4)
                    let perm = b.permutation(epoch: epoch)
                    for n in 0..<4 {
                        let source = perm[step * 4 + n]
                        let sample = Array(input[(n * 16)..<(n * 16 + 16)])
                        func matches(_ oy: Int, _ ox: Int, mirror: Bool) -> Bool {
                            for y in 0..<4 {
                                for x in 0..<4 where abs(Double(sample[y * 4 + x]) - pre(source, oy + y, ox + (mirror ? 3 - x : x))) > 1e-6 {
                                    return false
                                }
                            }
                            return true
                        }
                        var found = false
                        for oy in 0...2 {
                            for ox in 0...2 {
                                if matches(oy, ox, mirror: false) { plain += 1; found = true; offsets.insert([oy, ox]) }
                                if matches(oy, ox, mirror: true) { mirrored += 1; found = true; offsets.insert([oy, ox]) }
                            }
                        }
                        XCTAssertTrue(found, "flip \(flip), epoch \(epoch), step \(step), slot \(n): not a crop of image \(source); "
                                      + "first values \(sample.prefix(4))")
                    }
                }
            }
            XCTAssertGreaterThan(offsets.count, 1, "flip \(flip): every crop at the same offset \(offsets)")
            XCTAssertGreaterThan(plain, 0, "flip \(flip): no unmirrored sample in 48")
            if flip {
                XCTAssertGreaterThan(mirrored, 0, "flip on, yet no mirrored sample in 48")
            } else {
                XCTAssertEqual(mirrored, 0, "flip off, yet \(mirrored) samples are mirrored")
            }
        }
    }
}
