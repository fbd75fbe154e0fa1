import AlexNetCore

/// Images as stored on disk: 8-bit, `[count][channels][height][width]`, and their labels.
public struct ImageSet: Sendable {
    public let count: Int, channels: Int, height: Int, width: Int
    public let pixels: [UInt8]
    public let labels: [Int32]

    public init(count: Int, channels: Int, height: Int, width: Int, pixels: [UInt8], labels: [Int32]) {
        precondition(pixels.count == count * channels * height * width && labels.count == count)
        self.count = count; self.channels = channels; self.height = height; self.width = width
        self.pixels = pixels; self.labels = labels
    }

    public var imageSize: Int { channels * height * width }
}

/// A problem with an input file: which file, and what is wrong with it.
public struct DataError: Error, CustomStringConvertible {
    public let description: String
    public init(_ file: String, _ problem: String) { description = "\(file): \(problem)" }
    public init(_ d: String) { description = d }
}
