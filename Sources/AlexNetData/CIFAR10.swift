import AlexNetCore
import Foundation

/// CIFAR-10 in its binary format: `data_batch_1.bin` … `data_batch_5.bin` (training) and
/// `test_batch.bin`; each record is 1 label byte then 3072 pixel bytes, the red, green and blue
/// 32×32 planes — already `[C][H][W]`.
public enum CIFAR10 {
    public static let recordSize = 1 + 3 * 32 * 32
    public static let trainFiles = (1...5).map { "data_batch_\($0).bin" }
    public static let testFile = "test_batch.bin"

    /// Reads the records of the files, in order.
    public static func load(_ paths: [String], classes: Int) throws -> ImageSet {
        var pixels: [UInt8] = [], labels: [Int32] = []
        for path in paths {
            let data: [UInt8]
            do { data = try readFile(path, limit: 16 << 30) } catch let e as FileError { throw DataError(path, e.problem) }
            guard !data.isEmpty, data.count % recordSize == 0 else {
                throw DataError(path, "\(data.count) bytes is not a whole number of \(recordSize)-byte CIFAR-10 records (1 label + 3072 pixels)"
                                + (data.count > recordSize ? " (truncated?)" : ""))
            }
            let n = data.count / recordSize
            pixels.reserveCapacity(pixels.count + n * (recordSize - 1))
            try data.withUnsafeBytes { (b: UnsafeRawBufferPointer) in
                let p = b.bindMemory(to: UInt8.self)
                for r in 0..<n {
                    let label = Int(p[r * recordSize])
                    guard label < classes else { throw DataError(path, "label \(label) of record \(r) is out of range (\(classes) classes)") }
                    labels.append(Int32(label))
                    pixels.append(contentsOf: p[(r * recordSize + 1)..<((r + 1) * recordSize)])
                }
            }
        }
        return ImageSet(count: labels.count, channels: 3, height: 32, width: 32, pixels: pixels, labels: labels)
    }

    /// The training and test sets of a `cifar-10-batches-bin` directory.
    public static func loadDirectory(_ dir: String, classes: Int) throws -> (train: ImageSet, test: ImageSet) {
        try checkDataDirectory(dir)
        let path = { (dir as NSString).appendingPathComponent($0) }
        return (try load(trainFiles.map(path), classes: classes), try load([path(testFile)], classes: classes))
    }

    /// The class names of `batches.meta.txt` (shipped with the binary batches: one name per
    /// line), when it is there and names exactly `classes` classes; nil otherwise (the names
    /// are only for display).
    public static func classNames(in dir: String, classes: Int) -> [String]? {
        guard let text = try? readText((dir as NSString).appendingPathComponent("batches.meta.txt"), limit: 1 << 20) else {
            return nil
        }
        let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return names.count == classes ? names : nil
    }

    /// The colour PCA of a set's pixels (as `prepare` computes it for photographs).
    public static func colourPCA(_ set: ImageSet) -> ColourPCA {
        var sum = [Double](repeating: 0, count: 3), products = [Double](repeating: 0, count: 9)
        let plane = set.height * set.width
        for i in 0..<set.count {
            let s = Prepare.stats(set.image(i), plane: plane)
            for j in 0..<3 { sum[j] += s.sum[j] }
            for j in 0..<9 { products[j] += s.products[j] }
        }
        return ColourPCA(sum: sum, sumOfProducts: products, pixels: Double(set.count * plane))
    }
}
