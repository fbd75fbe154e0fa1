import _TestSupport
import AlexNetCore
import AlexNetData
import Foundation
import XCTest

/// IDX parsing: a valid pair loads; every malformed file is refused with a one-line `DataError`
/// that names the file and the problem, and nothing malformed makes the reader trap.
final class IDXTests: XCTestCase {
    // Three 3×4 images (rows 3, columns 4, so a swapped height and width shows) and their labels.
    let count = 3, rows = 3, columns = 4
    var pixels: [UInt8] { (0..<(count * rows * columns)).map { UInt8(($0 * 7 + 1) % 256) } }
    let labels: [UInt8] = [3, 0, 9]

    var imageFile: [UInt8] { idxBytes([count, rows, columns], pixels) }
    var labelFile: [UInt8] { idxBytes([count], labels) }

    /// Fails unless `body` throws a `DataError` whose message is one line, names `file` and
    /// contains every string of `mentions`.
    func assertDataError(_ file: String, mentions: [String], notMentioning: [String] = [],
                         _ body: () throws -> Any, sourceFile: StaticString = #filePath, line: UInt = #line) {
        do {
            let result = try body()
            XCTFail("expected a DataError naming \(file), got \(result)", file: sourceFile, line: line)
        } catch let error as DataError {
            let message = error.description
            XCTAssertFalse(message.contains("\n"), "not one line: \(message)", file: sourceFile, line: line)
            XCTAssertTrue(message.contains(file), "does not name \(file): \(message)", file: sourceFile, line: line)
            for m in mentions {
                XCTAssertTrue(message.contains(m), "does not mention \"\(m)\": \(message)", file: sourceFile, line: line)
            }
            for m in notMentioning {
                XCTAssertFalse(message.contains(m), "should not mention \"\(m)\": \(message)", file: sourceFile, line: line)
            }
        } catch {
            XCTFail("expected a DataError, got \(type(of: error)): \(error)", file: sourceFile, line: line)
        }
    }

    // MARK: Valid files

    func testValidPairLoadsShapesPixelsAndLabels() throws {
        let dir = try makeScratchDirectory(self)
        let images = try writeFile(imageFile, dir, "images")
        let labelPath = try writeFile(labelFile, dir, "labels")
        let set = try IDX.load(images: images, labels: labelPath, classes: 10)
        XCTAssertEqual(set.count, 3)
        XCTAssertEqual(set.channels, 1)
        XCTAssertEqual(set.height, 3)
        XCTAssertEqual(set.width, 4)
        XCTAssertEqual(set.imageSize, 12)
        XCTAssertEqual(set.labels, [3, 0, 9])
        XCTAssertEqual(allPixels(set), pixels)
        // By hand: pixel j is (7j + 1) mod 256; image 2, row 1, column 3 is j = 24 + 4 + 3 = 31.
        XCTAssertEqual(allPixels(set)[31], 218)
        XCTAssertEqual(allPixels(set)[0], 1)
    }

    func testGzipAndPlainGiveIdenticalImageSets() throws {
        let dir = try makeScratchDirectory(self)
        let gzImages = try gzipped(imageFile), gzLabels = try gzipped(labelFile)
        XCTAssertEqual(Array(gzImages.prefix(2)), [0x1F, 0x8B], "gzip did not produce a gzip stream")
        XCTAssertNotEqual(gzImages, imageFile)
        let plain = try IDX.load(images: try writeFile(imageFile, dir, "i"), labels: try writeFile(labelFile, dir, "l"), classes: 10)
        let zipped = try IDX.load(images: try writeFile(gzImages, dir, "i.gz"), labels: try writeFile(gzLabels, dir, "l.gz"),
                                  classes: 10)
        let mixed = try IDX.load(images: try writeFile(gzImages, dir, "i2.gz"), labels: try writeFile(labelFile, dir, "l2"),
                                 classes: 10)
        for (name, other) in [("gzip", zipped), ("gzip images, plain labels", mixed)] {
            XCTAssertEqual(other.count, plain.count, name)
            XCTAssertEqual(other.height, plain.height, name)
            XCTAssertEqual(other.width, plain.width, name)
            XCTAssertEqual(other.channels, plain.channels, name)
            XCTAssertEqual(allPixels(other), allPixels(plain), name)
            XCTAssertEqual(other.labels, plain.labels, name)
        }
    }

    func testLoadDirectoryFindsPlainAndGzipFiles() throws {
        let dir = try makeScratchDirectory(self)
        try writeFile(try gzipped(imageFile), dir, "train-images-idx3-ubyte.gz")
        try writeFile(try gzipped(labelFile), dir, "train-labels-idx1-ubyte.gz")
        let testPixels: [UInt8] = (0..<(2 * rows * columns)).map { UInt8(200 - $0) }
        try writeFile(idxBytes([2, rows, columns], testPixels), dir, "t10k-images-idx3-ubyte")
        try writeFile(idxBytes([2], [7, 1]), dir, "t10k-labels-idx1-ubyte")
        let (train, test) = try IDX.loadDirectory(dir, classes: 10)
        XCTAssertEqual(allPixels(train), pixels)
        XCTAssertEqual(train.labels, [3, 0, 9])
        XCTAssertEqual(test.count, 2)
        XCTAssertEqual(allPixels(test), testPixels)
        XCTAssertEqual(test.labels, [7, 1])
    }

    func testLoadDirectoryRefusesTrainAndTestOfDifferentSizes() throws {
        let dir = try makeScratchDirectory(self)
        try writeFile(imageFile, dir, "train-images-idx3-ubyte")
        try writeFile(labelFile, dir, "train-labels-idx1-ubyte")
        try writeFile(idxBytes([1, 4, 4], [UInt8](repeating: 5, count: 16)), dir, "t10k-images-idx3-ubyte")
        try writeFile(idxBytes([1], [2]), dir, "t10k-labels-idx1-ubyte")
        assertDataError(dir, mentions: ["3×4", "4×4"]) { try IDX.loadDirectory(dir, classes: 10) }
    }

    // MARK: Malformed files

    func testWrongMagicIsRefused() throws {
        let dir = try makeScratchDirectory(self)
        let labelPath = try writeFile(labelFile, dir, "labels")
        var ints = imageFile
        ints[2] = 0x0C  // 32-bit integers instead of unsigned bytes
        let intImages = try writeFile(ints, dir, "int-images")
        assertDataError(intImages, mentions: ["magic", "00 00 0c 03"]) { try IDX.load(images: intImages, labels: labelPath, classes: 10) }
        var nonzero = imageFile
        nonzero[0] = 0x42
        let other = try writeFile(nonzero, dir, "other")
        assertDataError(other, mentions: ["magic"]) { try IDX.load(images: other, labels: labelPath, classes: 10) }
    }

    func testWrongNumberOfDimensionsIsRefused() throws {
        let dir = try makeScratchDirectory(self)
        let labelPath = try writeFile(labelFile, dir, "labels")
        // Images written as a 2-D array (count × 12) instead of count × rows × columns.
        let flat = try writeFile(idxBytes([count, rows * columns], pixels), dir, "flat-images")
        assertDataError(flat, mentions: ["2 dimensions", "expected 3"]) { try IDX.load(images: flat, labels: labelPath, classes: 10) }
        // Labels written as 2-D.
        let images = try writeFile(imageFile, dir, "images")
        let labels2D = try writeFile(idxBytes([count, 1], labels), dir, "labels-2d")
        assertDataError(labels2D, mentions: ["2 dimensions", "expected 1"]) { try IDX.load(images: images, labels: labels2D, classes: 10) }
    }

    func testTruncatedDataIsRefused() throws {
        let dir = try makeScratchDirectory(self)
        let labelPath = try writeFile(labelFile, dir, "labels")
        let short = try writeFile(Array(imageFile.dropLast(6)), dir, "short-images")
        assertDataError(short, mentions: ["3×3×4", "36", "30", "truncated"]) {
            try IDX.load(images: short, labels: labelPath, classes: 10)
        }
    }

    func testTrailingBytesAreRefused() throws {
        let dir = try makeScratchDirectory(self)
        let labelPath = try writeFile(labelFile, dir, "labels")
        let long = try writeFile(imageFile + [1, 2], dir, "long-images")
        assertDataError(long, mentions: ["36", "38"], notMentioning: ["truncated"]) {
            try IDX.load(images: long, labels: labelPath, classes: 10)
        }
    }

    func testLabelCountDifferentFromImageCountIsRefused() throws {
        let dir = try makeScratchDirectory(self)
        let images = try writeFile(imageFile, dir, "images")
        let two = try writeFile(idxBytes([2], [1, 2]), dir, "two-labels")
        assertDataError(two, mentions: ["2 labels", "3 images", images]) { try IDX.load(images: images, labels: two, classes: 10) }
    }

    func testLabelOutOfRangeIsRefused() throws {
        let dir = try makeScratchDirectory(self)
        let images = try writeFile(imageFile, dir, "images")
        let ten = try writeFile(idxBytes([3], [1, 10, 2]), dir, "labels-with-10")
        assertDataError(ten, mentions: ["label 10", "item 1", "10 classes"]) { try IDX.load(images: images, labels: ten, classes: 10) }
        // The largest valid label passes.
        let nine = try writeFile(idxBytes([3], [9, 9, 0]), dir, "labels-with-9")
        XCTAssertEqual(try IDX.load(images: images, labels: nine, classes: 10).labels, [9, 9, 0])
    }

    func testMissingFileIsRefused() throws {
        let dir = try makeScratchDirectory(self)
        let images = try writeFile(imageFile, dir, "images")
        let missing = (dir as NSString).appendingPathComponent("no-labels-here")
        assertDataError(missing, mentions: ["no such file"]) { try IDX.load(images: images, labels: missing, classes: 10) }
        let missingImages = (dir as NSString).appendingPathComponent("no-images-here")
        assertDataError(missingImages, mentions: ["no such file"]) { try IDX.load(images: missingImages, labels: images, classes: 10) }
        assertDataError("train-images-idx3-ubyte", mentions: ["no such file", dir]) { try IDX.loadDirectory(dir, classes: 10) }
        let noDir = (dir as NSString).appendingPathComponent("absent")
        assertDataError(noDir, mentions: ["does not exist"]) { try IDX.loadDirectory(noDir, classes: 10) }
    }

    func testCorruptGzipIsRefused() throws {
        let dir = try makeScratchDirectory(self)
        let labelPath = try writeFile(labelFile, dir, "labels")
        let gz = try gzipped(imageFile)
        var flipped = gz
        flipped[gz.count / 2] ^= 0xFF
        let corrupt = try writeFile(flipped, dir, "corrupt.gz")
        assertDataError(corrupt, mentions: ["gzip"]) { try IDX.load(images: corrupt, labels: labelPath, classes: 10) }
        let cut = try writeFile(Array(gz.prefix(gz.count - 5)), dir, "cut.gz")
        assertDataError(cut, mentions: ["gzip"]) { try IDX.load(images: cut, labels: labelPath, classes: 10) }
        let onlyMagic = try writeFile([0x1F, 0x8B], dir, "magic-only.gz")
        assertDataError(onlyMagic, mentions: ["gzip"]) { try IDX.load(images: onlyMagic, labels: labelPath, classes: 10) }
    }

    // MARK: Never a trap

    /// Every proper prefix of a valid image file, label file and gzip file is refused.
    func testEveryTruncationOfAValidFileThrows() throws {
        try runIsolated {
            let dir = try makeScratchDirectory(self)
            let images = try writeFile(imageFile, dir, "images")
            let labelPath = try writeFile(labelFile, dir, "labels")
            for n in 0..<imageFile.count {
                XCTAssertThrowsError(try IDX.parse(Array(imageFile.prefix(n)), dims: 3, file: "images"), "prefix \(n)") {
                    XCTAssertTrue($0 is DataError, "prefix \(n): \($0)")
                }
                let path = try writeFile(Array(imageFile.prefix(n)), dir, "images-\(n)")
                assertDataError(path, mentions: []) { try IDX.load(images: path, labels: labelPath, classes: 10) }
            }
            for n in 0..<labelFile.count {
                let path = try writeFile(Array(labelFile.prefix(n)), dir, "labels-\(n)")
                assertDataError(path, mentions: []) { try IDX.load(images: images, labels: path, classes: 10) }
            }
            let gz = try gzipped(imageFile)
            for n in 0..<gz.count {
                let path = try writeFile(Array(gz.prefix(n)), dir, "images-\(n).gz")
                assertDataError(path, mentions: []) { try IDX.load(images: path, labels: labelPath, classes: 10) }
            }
        }
    }

    /// Random bytes — raw, behind a valid magic, and behind a gzip magic — only ever throw.
    func testRandomBytesNeverCrash() throws {
        try runIsolated {
            var stream = RandomStream(seed: 7, .test, 1)
            func randomBytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: stream.next()) } }
            var accepted = 0
            for trial in 0..<3000 {
                let n = stream.below(64)
                var b = randomBytes(n)
                switch trial % 3 {
                case 0: break
                case 1:  // a valid magic with 1…3 dimensions of small random sizes, then random data
                    let dims = 1 + stream.below(3)
                    let shape = (0..<dims).map { _ in stream.below(5) }
                    b = idxBytes(shape, randomBytes(stream.below(40)))
                default:  // a valid magic, then random header bytes
                    b = [0, 0, 8, UInt8(1 + stream.below(3))] + b
                }
                for dims in 1...3 {
                    do {
                        let (shape, data) = try IDX.parse(b, dims: dims, file: "trial-\(trial)")
                        XCTAssertEqual(shape.reduce(1, *), data.count, "trial \(trial): shape \(shape) for \(data.count) bytes")
                        accepted += 1
                    } catch let e as DataError {
                        XCTAssertFalse(e.description.contains("\n"), "trial \(trial): \(e)")
                        XCTAssertTrue(e.description.hasPrefix("trial-\(trial): "), "trial \(trial): \(e)")
                    } catch {
                        XCTFail("trial \(trial): \(type(of: error)) \(error)")
                    }
                }
            }
            XCTAssertGreaterThan(accepted, 0, "no random file was ever valid: the fuzzing never reached the data checks")
            // Random bytes behind the gzip magic, through a file.
            let dir = try makeScratchDirectory(self)
            let labelPath = try writeFile(labelFile, dir, "labels")
            for trial in 0..<50 {
                let path = try writeFile([0x1F, 0x8B] + randomBytes(stream.below(100)), dir, "random-\(trial).gz")
                assertDataError(path, mentions: []) { try IDX.load(images: path, labels: labelPath, classes: 10) }
            }
        }
    }

    /// Sizes that each pass the per-dimension bound (below 2^28) but whose product does not fit
    /// in an Int: the reader must say the file is truncated, not overflow.
    func testHugeDimensionsThrowInsteadOfTrapping() throws {
        try runIsolated {
            let huge = 1 << 27
            let bytes = idxBytes([huge, huge, huge], [1, 2, 3, 4])
            XCTAssertThrowsError(try IDX.parse(bytes, dims: 3, file: "huge")) { error in
                XCTAssertTrue(error is DataError, "\(error)")
                XCTAssertTrue("\(error)".hasPrefix("huge: "), "\(error)")
            }
        }
    }

    /// The shared fuzzer (`ALEXNET_MP_FUZZ_ITERATIONS`, see the README) on the image and label formats.
    func testFuzzedIDXFilesOnlyEverThrowOneLineErrors() throws {
        runIsolated {
            for (name, valid, dims) in [("idx-images", imageFile, 3), ("idx-labels", labelFile, 1)] {
                let accepted = Fuzz.run(name, valid: valid, focus: 16, error: DataError.self) { b, file in
                    let (shape, data) = try IDX.parse(b, dims: dims, file: file)
                    XCTAssertEqual(shape.reduce(1, *), data.count)
                }
                XCTAssertLessThan(accepted, Fuzz.iterations, name)
            }
        }
    }
}
