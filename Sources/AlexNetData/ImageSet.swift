import AlexNetCore
import Foundation

/// Images as stored on disk: 8-bit, `[count][channels][height][width]`, and their labels.
/// The pixels live in a `PixelStorage`: an array read into memory (IDX, CIFAR-10) or shard
/// files mapped with mmap (prepared ImageNet-style directories, which do not fit in memory).
public struct ImageSet: Sendable {
    public let count: Int, channels: Int, height: Int, width: Int
    public let storage: PixelStorage
    public let labels: [Int32]

    public init(count: Int, channels: Int, height: Int, width: Int, pixels: [UInt8], labels: [Int32]) {
        precondition(pixels.count == count * channels * height * width && labels.count == count)
        self.init(count: count, channels: channels, height: height, width: width,
                  storage: PixelStorage(pixels, imageSize: channels * height * width), labels: labels)
    }

    public init(count: Int, channels: Int, height: Int, width: Int, storage: PixelStorage, labels: [Int32]) {
        precondition(storage.count == count && storage.imageSize == channels * height * width && labels.count == count)
        self.count = count; self.channels = channels; self.height = height; self.width = width
        self.storage = storage; self.labels = labels
    }

    public var imageSize: Int { channels * height * width }

    /// Image `i`, `[channels][height][width]`; valid while the set lives.
    @inline(__always) public func image(_ i: Int) -> UnsafePointer<UInt8> { storage.image(i) }

    /// Every pixel, copied into one array (for tests and small sets; a mapped set may not fit in memory).
    public var pixels: [UInt8] {
        var out = [UInt8](repeating: 0, count: count * imageSize)
        out.withUnsafeMutableBufferPointer { b in
            for i in 0..<count { (b.baseAddress! + i * imageSize).update(from: image(i), count: imageSize) }
        }
        return out
    }
}

/// Where an image set's pixels live: one block in memory, or several shard files mapped
/// read-only, each holding `imagesPerSegment` whole images (the last may hold fewer).
public final class PixelStorage: @unchecked Sendable {
    public let imageSize: Int, count: Int
    private let segments: [UnsafePointer<UInt8>]
    private let imagesPerSegment: Int
    private let release: () -> Void

    /// A copy of `pixels` (count × imageSize bytes) in memory.
    public init(_ pixels: [UInt8], imageSize: Int) {
        precondition(imageSize > 0 && pixels.count % imageSize == 0)
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: max(pixels.count, 1))
        pixels.withUnsafeBufferPointer { if let b = $0.baseAddress { p.update(from: b, count: pixels.count) } }
        self.imageSize = imageSize; count = pixels.count / imageSize
        segments = [UnsafePointer(p)]; imagesPerSegment = max(count, 1)
        release = { p.deallocate() }
    }

    /// Maps `files` read-only; file k holds `imagesPerFile` images (the last one `count` minus the rest).
    public init(mapping files: [String], imagesPerFile: Int, count: Int, imageSize: Int) throws {
        var maps: [(UnsafeMutableRawPointer, Int)] = []
        var bases: [UnsafePointer<UInt8>] = []
        let unmapAll = { for (p, n) in maps { munmap(p, n) } }
        for (k, file) in files.enumerated() {
            let want = min(imagesPerFile, count - k * imagesPerFile) * imageSize
            guard want > 0 else { unmapAll(); throw DataError(file, "shard not needed for \(count) images (index and shards disagree)") }
            let fd = open(file, O_RDONLY)
            guard fd >= 0 else { unmapAll(); throw DataError(file, "cannot open shard: \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0, Int(st.st_size) == want else {
                unmapAll()
                throw DataError(file, "shard has \(st.st_size) bytes, the index says \(want) (truncated or from another prepare)")
            }
            guard let p = mmap(nil, want, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else {
                unmapAll(); throw DataError(file, "cannot map shard: \(String(cString: strerror(errno)))")
            }
            maps.append((p, want))
            bases.append(UnsafePointer(p.assumingMemoryBound(to: UInt8.self)))
        }
        guard files.count * imagesPerFile >= count else {
            unmapAll(); throw DataError(files.last ?? "shards", "\(files.count) shards of \(imagesPerFile) images cannot hold \(count)")
        }
        self.imageSize = imageSize; self.count = count
        segments = bases; imagesPerSegment = max(imagesPerFile, 1)
        release = unmapAll
    }

    deinit { release() }

    @inline(__always) public func image(_ i: Int) -> UnsafePointer<UInt8> {
        segments[i / imagesPerSegment] + (i % imagesPerSegment) * imageSize
    }
}

/// A problem with an input file: which file, and what is wrong with it.
public struct DataError: Error, CustomStringConvertible {
    public let description: String
    public init(_ file: String, _ problem: String) { description = "\(file): \(problem)" }
    public init(_ d: String) { description = d }
}
