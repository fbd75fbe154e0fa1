import _TestSupport
import AlexNetCore
import AlexNetData
import XCTest

/// The paper's augmentation switches, the ten test views, the colour PCA and the prefetcher.
final class AugmentationTests: XCTestCase {
    /// `count` RGB images of 8×8, pixel (i, c, y, x) = (i*31 + c*50 + y*8 + x) mod 256.
    func rgbSet(_ count: Int) -> ImageSet {
        var px: [UInt8] = []
        for i in 0..<count { for j in 0..<192 { px.append(UInt8((i * 31 + j / 64 * 50 + j % 64) % 256)) } }
        let labels: [Int32] = (0..<count).map { Int32($0 % 3) }
        return ImageSet(count: count, channels: 3, height: 8, width: 8, pixels: px, labels: labels)
    }
    func pixel(_ i: Int, _ c: Int, _ y: Int, _ x: Int) -> Float { Float((i * 31 + c * 50 + y * 8 + x) % 256) }

    func testSymmetricEigenOfAHandCase() {
        // [[2,1,0],[1,2,0],[0,0,5]]: eigenvalues 5, 3, 1 with vectors e3, (1,1,0)/√2, (1,−1,0)/√2.
        let e = symmetricEigen3([2, 1, 0, 1, 2, 0, 0, 0, 5])
        XCTAssertEqual(e.values[0], 5, accuracy: 1e-12); XCTAssertEqual(e.values[1], 3, accuracy: 1e-12); XCTAssertEqual(e.values[2], 1, accuracy: 1e-12)
        let r = 1 / 2.0.squareRoot()
        let want: [[Double]] = [[0, 0, 1], [r, r, 0], [r, -r, 0]]
        for k in 0..<3 {
            let dot = (0..<3).reduce(0.0) { $0 + e.vectors[k][$1] * want[k][$1] }
            let sign: Double = dot < 0 ? -1 : 1
            for a in 0..<3 { XCTAssertEqual(sign * e.vectors[k][a], want[k][a], accuracy: 1e-12, "vector \(k)[\(a)]") }
        }
        // A full matrix: A p = λ p and the vectors orthonormal.
        let m: [Double] = [4, -2, 1, -2, 3, 0.5, 1, 0.5, 6]
        let f = symmetricEigen3(m)
        for k in 0..<3 {
            for a in 0..<3 { XCTAssertEqual((0..<3).reduce(0.0) { $0 + m[a * 3 + $1] * f.vectors[k][$1] }, f.values[k] * f.vectors[k][a], accuracy: 1e-10) }
            for j in 0..<3 { XCTAssertEqual((0..<3).reduce(0.0) { $0 + f.vectors[k][$1] * f.vectors[j][$1] }, k == j ? 1 : 0, accuracy: 1e-12) }
        }
        XCTAssertEqual(f.values.reduce(0, +), 13, accuracy: 1e-10)
    }

    func testPCAColourAddsTheKeyedOffsetToEveryPixel() throws {
        let set = rgbSet(6)
        let pca = ColourPCA(values: [0.2, 0.02, 0.005], vectors: [[0.58, 0.58, 0.57], [-0.7, 0, 0.71], [0.41, -0.81, 0.41]])
        let scale: Float = 1.0 / 255
        let plain = try Batcher(train: set, test: set, augmentation: Augmentation(crop: 6, flip: true, scale: scale, subtractMean: true), seed: 4)
        let colour = try Batcher(train: set, test: set, augmentation: Augmentation(crop: 6, flip: true, scale: scale, subtractMean: true, pcaColour: true),
                                 seed: 4, pca: pca)
        let N = 3, S = 6
        var a = [Float](repeating: 0, count: 3 * N * S * S), b = a
        var la = [Int32](repeating: 0, count: N), lb = la
        plain.fillTraining(epoch: 2, step: 1, batch: N, input: &a, labels: &la)
        colour.fillTraining(epoch: 2, step: 1, batch: N, input: &b, labels: &lb)
        XCTAssertEqual(la, lb)
        let perm = plain.permutation(epoch: 2)
        for n in 0..<N {
            let index = perm[N + n]
            // αᵢ ~ N(0, 0.1) from the stream keyed by (epoch, image); offset_c = Σᵢ pᵢ[c] αᵢ λᵢ, in [0,1] units.
            var stream = RandomStream(seed: 4, .colour, 2, index)
            let alpha = (0..<3).map { _ in stream.normal() * 0.1 }
            for c in 0..<3 {
                let want = (0..<3).reduce(0.0) { $0 + pca.vectors[$1][c] * alpha[$1] * pca.values[$1] }
                for j in [0, 7, 35] {
                    let o = (c * N + n) * S * S + j
                    XCTAssertEqual(Double(b[o] - a[o]), want, accuracy: 1e-6, "image \(index) channel \(c)")
                }
            }
        }
        // Another epoch draws another α for the same image.
        XCTAssertNotEqual(colour.colourOffset(epoch: 2, index: 0), colour.colourOffset(epoch: 3, index: 0))
        // Greyscale data or no PCA: refused.
        XCTAssertThrowsError(try Batcher(train: set, test: set, augmentation: Augmentation(crop: 6, flip: true, scale: 1, subtractMean: true, pcaColour: true), seed: 4))
    }

    func testRandomCropOffTakesTheCentreAndFlipOffKeepsOrientation() throws {
        let set = rgbSet(4)
        let b = try Batcher(train: set, test: set, augmentation: Augmentation(crop: 4, flip: false, scale: 1, subtractMean: false, randomCrop: false), seed: 9)
        var input = [Float](repeating: 0, count: 3 * 4 * 16)
        var labels = [Int32](repeating: 0, count: 4)
        b.fillTraining(epoch: 1, step: 0, batch: 4, input: &input, labels: &labels)
        let perm = b.permutation(epoch: 1)
        for n in 0..<4 { for c in 0..<3 { for y in 0..<4 { for x in 0..<4 {
            XCTAssertEqual(input[((c * 4 + n) * 4 + y) * 4 + x], pixel(perm[n], c, y + 2, x + 2))
        } } } }
    }

    func testTheTenTestViews() throws {
        let set = rgbSet(2)
        let b = try Batcher(train: set, test: set, augmentation: Augmentation(crop: 5, flip: true, scale: 1, subtractMean: false), seed: 1)
        // (origin y, origin x, mirrored) of views 0–9 on 8×8 images with 5×5 crops.
        let expected: [(Int, Int, Bool)] = [(1, 1, false), (0, 0, false), (0, 3, false), (3, 0, false), (3, 3, false),
                                            (1, 1, true), (0, 0, true), (0, 3, true), (3, 0, true), (3, 3, true)]
        for (v, (oy, ox, flip)) in expected.enumerated() {
            var input = [Float](repeating: 0, count: 3 * 2 * 25)
            var labels = [Int32](repeating: 0, count: 2)
            b.fillTest(start: 0, batch: 2, input: &input, labels: &labels, view: v)
            for n in 0..<2 { for c in 0..<3 { for y in 0..<5 { for x in 0..<5 {
                let sx = flip ? 4 - x : x
                XCTAssertEqual(input[((c * 2 + n) * 5 + y) * 5 + x], pixel(n, c, oy + y, ox + sx), "view \(v)")
            } } } }
        }
    }

    func testPrefetchedBatchesEqualBatchesBuiltOnTheSpot() throws {
        let set = rgbSet(10)
        let aug = Augmentation(crop: 6, flip: true, scale: 1.0 / 255, subtractMean: true, pcaColour: true)
        let pca = CIFAR10.colourPCA(set)
        let direct = try Batcher(train: set, test: set, augmentation: aug, seed: 3, pca: pca)
        let prefetcher = Prefetcher(batcher: try Batcher(train: set, test: set, augmentation: aug, seed: 3, pca: pca), batch: 4)
        let count = 3 * 4 * 36
        // Two steps per epoch; step (1, 1) is asked out of order (a miss, built on the spot).
        let keys = [(1, 0), (1, 1), (2, 0), (2, 1), (3, 0), (1, 1), (3, 1)]
        var hits = 0
        for (i, (epoch, step)) in keys.enumerated() {
            var want = [Float](repeating: 0, count: count), got = want
            var wl = [Int32](repeating: 0, count: 4), gl = wl
            direct.fillTraining(epoch: epoch, step: step, batch: 4, input: &want, labels: &wl)
            let b = Prefetcher.Batch(epoch: epoch, step: step)
            if prefetcher.fill(b, next: Prefetcher.next(after: b, parts: [0], stepsPerEpoch: 2), input: &got, labels: &gl) { hits += 1 }
            XCTAssertEqual(got, want, "batch \(i): epoch \(epoch) step \(step)")
            XCTAssertEqual(gl, wl)
        }
        XCTAssertEqual(hits, 4, "all but the first, the out-of-order one and the one after it")
    }

    /// A minibatch cut into slices (the model's replicas): slice r is images r·n ..< (r+1)·n of
    /// the whole minibatch, with the same crops, flips and colour; prefetched slices equal them.
    func testSlicesOfAMinibatchAreItsImagesInOrder() throws {
        let set = rgbSet(16)
        let aug = Augmentation(crop: 6, flip: true, scale: 1.0 / 255, subtractMean: true, pcaColour: true)
        let batcher = try Batcher(train: set, test: set, augmentation: aug, seed: 5, pca: CIFAR10.colourPCA(set))
        let perImage = 3 * 36
        var whole = [Float](repeating: 0, count: 8 * perImage), wholeLabels = [Int32](repeating: 0, count: 8)
        batcher.fillTraining(epoch: 2, step: 1, batch: 8, input: &whole, labels: &wholeLabels)
        let prefetcher = Prefetcher(batcher: batcher, batch: 8, parts: 4)
        for r in 0..<4 {
            var part = [Float](repeating: 0, count: 2 * perImage), labels = [Int32](repeating: 0, count: 2)
            batcher.fillTraining(epoch: 2, step: 1, batch: 8, part: (r, 4), input: &part, labels: &labels)
            XCTAssertEqual(labels, Array(wholeLabels[(2 * r)..<(2 * r + 2)]))
            for c in 0..<3 { for k in 0..<2 {
                // [C][n][6][6] against [C][N][6][6]
                XCTAssertEqual(Array(part[((c * 2 + k) * 36)..<((c * 2 + k + 1) * 36)]),
                               Array(whole[((c * 8 + 2 * r + k) * 36)..<((c * 8 + 2 * r + k + 1) * 36)]), "slice \(r) image \(k) channel \(c)")
            } }
            var fetched = [Float](repeating: 0, count: 2 * perImage), fetchedLabels = [Int32](repeating: 0, count: 2)
            let b = Prefetcher.Batch(epoch: 2, step: 1, part: r)
            prefetcher.fill(b, next: Prefetcher.next(after: b, parts: [0, 1, 2, 3], stepsPerEpoch: 2), input: &fetched, labels: &fetchedLabels)
            XCTAssertEqual(fetched, part); XCTAssertEqual(fetchedLabels, labels)
        }
        XCTAssertEqual(Prefetcher.next(after: .init(epoch: 2, step: 1, part: 3), parts: [0, 1, 2, 3], stepsPerEpoch: 2), .init(epoch: 3, step: 0, part: 0))
        XCTAssertEqual(Prefetcher.next(after: .init(epoch: 2, step: 0, part: 1), parts: [1], stepsPerEpoch: 2), .init(epoch: 2, step: 1, part: 1))
    }
}

final class CIFAR10Tests: XCTestCase {
    func record(_ label: UInt8, _ seed: Int) -> [UInt8] { [label] + (0..<3072).map { UInt8(($0 * 7 + seed * 13) % 256) } }

    func testReadsTheBinaryBatches() throws {
        let dir = try makeScratchDirectory(self)
        for b in 1...5 { try writeFile((0..<b).flatMap { record(UInt8(($0 + b) % 10), b * 10 + $0) }, dir, "data_batch_\(b).bin") }
        try writeFile(record(9, 99) + record(0, 98), dir, "test_batch.bin")
        let (train, test) = try CIFAR10.loadDirectory(dir, classes: 10)
        XCTAssertEqual([train.count, train.channels, train.height, train.width], [15, 3, 32, 32])
        XCTAssertEqual(test.count, 2)
        XCTAssertEqual(test.labels, [9, 0])
        XCTAssertEqual(train.labels[0], 1)      // batch 1, record 0
        XCTAssertEqual(Array(allPixels(test)[0..<3072]), Array(record(9, 99)[1...]))
        // Pixel (c, y, x) is byte 1 + c*1024 + y*32 + x of its record: red plane first.
        XCTAssertEqual(train.image(14)[2 * 1024 + 5 * 32 + 7], record(0, 54)[1 + 2 * 1024 + 5 * 32 + 7])
    }

    /// Random bytes and fuzzed batches (`Fuzz.mutate`, which also replaces a file by random
    /// bytes): read, or refused with one line naming the file — never a trap.
    func testRandomAndFuzzedBatchesOnlyEverThrowOneLineErrors() throws {
        try runIsolated {
            let dir = try makeScratchDirectory(self)
            let valid = record(3, 1) + record(9, 2)
            let path = dir + "/data_batch_1.bin"
            var accepted = 0, refused = 0
            var stream = RandomStream(seed: Fuzz.seed, .test, 31)
            let inputs = (0..<Fuzz.iterations).map { Fuzz.mutate(valid, iteration: $0, target: 31) }
                + (0..<50).map { i in (0..<(i % 5 == 0 ? 3073 * (1 + i % 3) : stream.below(8000))).map { _ in UInt8(truncatingIfNeeded: stream.next()) } }
            for (i, bytes) in inputs.enumerated() {
                try writeFile(bytes, dir, "data_batch_1.bin")
                do {
                    let set = try CIFAR10.load([path], classes: 10)
                    XCTAssertEqual(set.count * CIFAR10.recordSize, bytes.count, "input \(i)")
                    XCTAssertTrue(set.labels.allSatisfy { $0 >= 0 && $0 < 10 }, "input \(i)")
                    accepted += 1
                } catch let e as DataError {
                    refused += 1
                    if !e.description.hasPrefix(path + ": ") || e.description.contains("\n") { XCTFail("input \(i): \(e)") }
                } catch {
                    XCTFail("input \(i): \(type(of: error)) instead of DataError: \(error)")
                }
            }
            XCTAssertGreaterThan(accepted, 0, "no input was read: the fuzzing never got past the size check")
            XCTAssertGreaterThan(refused, 0)
        }
    }

    func testBadFilesAreNamed() throws {
        let dir = try makeScratchDirectory(self)
        for b in 1...5 { try writeFile(record(1, b), dir, "data_batch_\(b).bin") }
        try writeFile(Array(record(1, 0)[0..<3000]), dir, "test_batch.bin")
        XCTAssertThrowsError(try CIFAR10.loadDirectory(dir, classes: 10)) {
            XCTAssertTrue("\($0)".contains("test_batch.bin: 3000 bytes is not a whole number of 3073-byte"), "\($0)")
        }
        try writeFile(record(12, 0), dir, "test_batch.bin")
        XCTAssertThrowsError(try CIFAR10.loadDirectory(dir, classes: 10)) { XCTAssertTrue("\($0)".contains("test_batch.bin: label 12 of record 0"), "\($0)") }
        try FileManager.default.removeItem(atPath: dir + "/data_batch_3.bin")
        XCTAssertThrowsError(try CIFAR10.loadDirectory(dir, classes: 10)) { XCTAssertTrue("\($0)".contains("data_batch_3.bin: no such file"), "\($0)") }
    }
}
