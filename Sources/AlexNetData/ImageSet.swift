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

    /// Image `i`'s `channels·height·width` bytes, without copying (valid while the set lives).
    @inline(__always) public func imageBytes(_ i: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: storage.image(i), count: imageSize)
    }

    /// The images at `indices` (in that order, repeats allowed), sharing this set's storage:
    /// nothing is copied, so a sample of a mapped set costs no memory.
    public func subset(_ indices: [Int]) -> ImageSet {
        precondition(indices.allSatisfy { $0 >= 0 && $0 < count })
        return ImageSet(count: indices.count, channels: channels, height: height, width: width,
                        storage: storage.subset(indices), labels: indices.map { labels[$0] })
    }

    /// A set of no images (a prepared directory without a validation split).
    public static func empty(channels: Int, height: Int, width: Int) -> ImageSet {
        ImageSet(count: 0, channels: channels, height: height, width: width, pixels: [], labels: [])
    }
}

/// Where an image set's pixels live: one block in memory, or several shard files mapped
/// read-only, each holding `imagesPerSegment` whole images (the last may hold fewer), or a
/// selection of another storage's images (a subset, which shares that storage's memory).
public final class PixelStorage: @unchecked Sendable {
    public let imageSize: Int, count: Int
    private let segments: [UnsafePointer<UInt8>]
    private let imagesPerSegment: Int
    /// For a subset: image i is the parent's image `selection[i]`; `parent` keeps its memory alive.
    private let selection: [Int]?
    private let parent: PixelStorage?
    private let release: () -> Void

    /// A copy of `pixels` (count × imageSize bytes) in memory.
    public init(_ pixels: [UInt8], imageSize: Int) {
        precondition(imageSize > 0 && pixels.count % imageSize == 0)
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: max(pixels.count, 1))
        pixels.withUnsafeBufferPointer { if let b = $0.baseAddress { p.update(from: b, count: pixels.count) } }
        self.imageSize = imageSize; count = pixels.count / imageSize
        segments = [UnsafePointer(p)]; imagesPerSegment = max(count, 1)
        selection = nil; parent = nil
        release = { p.deallocate() }
    }

    /// Maps `files` read-only; file k holds `imagesPerFile` images (the last one `count` minus the rest).
    /// Every size is checked with overflow-checked arithmetic before anything is mapped.
    public init(mapping files: [String], imagesPerFile: Int, count: Int, imageSize: Int) throws {
        let name = files.last ?? "shards"
        guard imageSize > 0, imagesPerFile > 0, count >= 0 else {
            throw DataError(name, "\(count) images of \(imageSize) bytes at \(imagesPerFile) per shard is not a shard layout")
        }
        let (capacity, o1) = files.count.multipliedReportingOverflow(by: imagesPerFile)
        guard !o1, capacity >= count else { throw DataError(name, "\(files.count) shards of \(imagesPerFile) images cannot hold \(count)") }
        var maps: [(UnsafeMutableRawPointer, Int)] = []
        var bases: [UnsafePointer<UInt8>] = []
        let unmapAll = { for (p, n) in maps { munmap(p, n) } }
        for (k, file) in files.enumerated() {
            // k·imagesPerFile < capacity: no overflow.
            let images = min(imagesPerFile, count - k * imagesPerFile)
            guard images > 0 else { unmapAll(); throw DataError(file, "shard not needed for \(count) images (index and shards disagree)") }
            let (want, o2) = images.multipliedReportingOverflow(by: imageSize)
            guard !o2 else { unmapAll(); throw DataError(file, "\(images) images of \(imageSize) bytes is more than a file can hold") }
            // A regular file only (a FIFO would block the mapping, a directory cannot be mapped).
            let opened: (fd: Int32, size: Int)
            do { opened = try openRegularFile(file) } catch let e as FileError { unmapAll(); throw DataError(file, "cannot open shard: \(e.problem)") }
            let fd = opened.fd
            defer { close(fd) }
            guard opened.size == want else {
                unmapAll()
                throw DataError(file, "shard has \(opened.size) bytes, the index says \(want) (truncated or from another prepare)")
            }
            guard let p = mmap(nil, want, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else {
                unmapAll(); throw DataError(file, "cannot map shard: \(String(cString: strerror(errno)))")
            }
            maps.append((p, want))
            bases.append(UnsafePointer(p.assumingMemoryBound(to: UInt8.self)))
        }
        self.imageSize = imageSize; self.count = count
        segments = bases; imagesPerSegment = imagesPerFile
        selection = nil; parent = nil
        release = unmapAll
    }

    private init(subsetOf base: PixelStorage, _ indices: [Int]) {
        imageSize = base.imageSize; count = indices.count
        segments = base.segments; imagesPerSegment = base.imagesPerSegment
        selection = indices.map { base.selection?[$0] ?? $0 }
        parent = base.parent ?? base
        release = {}
    }

    /// Images `indices` of this storage, sharing its memory (nothing copied).
    public func subset(_ indices: [Int]) -> PixelStorage { PixelStorage(subsetOf: self, indices) }

    deinit { release() }

    @inline(__always) public func image(_ i: Int) -> UnsafePointer<UInt8> {
        let j = selection?[i] ?? i
        return segments[j / imagesPerSegment] + (j % imagesPerSegment) * imageSize
    }
}

/// A problem with an input file: which file, and what is wrong with it.
public struct DataError: Error, CustomStringConvertible {
    public let description: String
    public init(_ file: String, _ problem: String) { description = "\(file): \(problem)" }
    public init(_ d: String) { description = d }
}
