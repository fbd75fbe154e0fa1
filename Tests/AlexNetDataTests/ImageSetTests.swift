import _TestSupport
import AlexNetData
import XCTest

/// Reading an image set never copies it: images are pointers into its storage, and subsets
/// (the report's sample of the training set) share that storage, for memory and mapped shards alike.
final class ImageSetTests: XCTestCase {
    /// Image i of these sets is filled with the byte 10·i + 1 (so a wrong image shows).
    func image(_ i: Int, size: Int) -> [UInt8] { [UInt8](repeating: UInt8(10 * i + 1), count: size) }

    func testSubsetsShareTheStorageOfAnInMemorySet() {
        let set = ImageSet(count: 6, channels: 1, height: 2, width: 3, pixels: (0..<6).flatMap { image($0, size: 6) },
                           labels: [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(Array(set.imageBytes(4)), image(4, size: 6))
        let sub = set.subset([5, 1, 5])
        XCTAssertEqual([sub.count, sub.channels, sub.height, sub.width], [3, 1, 2, 3])
        XCTAssertEqual(sub.labels, [5, 1, 5])
        for (k, i) in [5, 1, 5].enumerated() {
            XCTAssertEqual(sub.image(k), set.image(i), "subset image \(k) is the set's image \(i), not a copy")
            XCTAssertEqual(Array(sub.imageBytes(k)), image(i, size: 6))
        }
        let subsub = sub.subset([1, 0])   // the set's images 1 and 5
        XCTAssertEqual(subsub.image(0), set.image(1))
        XCTAssertEqual(subsub.image(1), set.image(5))
        XCTAssertEqual(subsub.labels, [1, 5])
    }

    func testSubsetsOfMappedShardsOutliveTheSetTheyCameFrom() throws {
        let dir = try makeScratchDirectory(self)
        let size = 3 * 2 * 2
        // 5 images in shards of 2: 2 + 2 + 1.
        let files = try (0..<3).map { k in
            try writeFile((0..<min(2, 5 - 2 * k)).flatMap { image(2 * k + $0, size: size) }, dir, "s\(k).bin")
        }
        var sub: ImageSet?
        do {
            let storage = try PixelStorage(mapping: files, imagesPerFile: 2, count: 5, imageSize: size)
            let set = ImageSet(count: 5, channels: 3, height: 2, width: 2, storage: storage, labels: [0, 1, 0, 1, 0])
            for i in 0..<5 { XCTAssertEqual(Array(set.imageBytes(i)), image(i, size: size), "image \(i)") }
            sub = set.subset([4, 3, 0])
            XCTAssertEqual(sub!.image(0), set.image(4))
        }
        // The set is gone; its mapping stays alive as long as the subset does.
        XCTAssertEqual(sub!.labels, [0, 1, 0])
        for (k, i) in [4, 3, 0].enumerated() { XCTAssertEqual(Array(sub!.imageBytes(k)), image(i, size: size)) }
    }

    func testAnEmptySet() {
        let e = ImageSet.empty(channels: 3, height: 4, width: 4)
        XCTAssertEqual([e.count, e.imageSize], [0, 48])
        XCTAssertEqual(e.subset([]).count, 0)
    }
}
