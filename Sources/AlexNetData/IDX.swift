import AlexNetCore
import Foundation

/// The IDX format of MNIST and Fashion-MNIST (plain or gzip):
/// magic `00 00 08 D` (unsigned bytes, D dimensions), D big-endian 32-bit sizes, then the data.
public enum IDX {
    /// Reads a file's bytes, un-gzipping when it starts with the gzip magic.
    static func bytes(of path: String) throws -> [UInt8] {
        let raw: [UInt8]
        do { raw = try readFile(path, limit: 64 << 30) } catch let e as FileError { throw DataError(path, e.problem) }
        if raw.count >= 2 && raw[0] == 0x1F && raw[1] == 0x8B {
            guard let out = gunzip(raw) else { throw DataError(path, "corrupt or truncated gzip stream") }
            return out
        }
        return raw
    }

    /// Parses an IDX array of unsigned bytes; `dims` is the number of dimensions expected.
    public static func parse(_ b: [UInt8], dims expected: Int, file: String) throws -> (shape: [Int], data: ArraySlice<UInt8>) {
        guard b.count >= 4 else { throw DataError(file, "too short for an IDX header (\(b.count) bytes)") }
        guard b[0] == 0, b[1] == 0, b[2] == 0x08 else {
            throw DataError(file, String(format: "wrong magic %02x %02x %02x %02x (expected 00 00 08 0%d: unsigned bytes)",
                                         b[0], b[1], b[2], b[3], expected))
        }
        guard Int(b[3]) == expected else { throw DataError(file, "has \(b[3]) dimensions, expected \(expected)") }
        let header = 4 + 4 * expected
        guard b.count >= header else { throw DataError(file, "truncated header (\(b.count) bytes)") }
        var shape: [Int] = []
        for d in 0..<expected {
            let o = 4 + 4 * d
            shape.append(Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3]))
        }
        guard shape.allSatisfy({ $0 > 0 && $0 < 1 << 28 }) else { throw DataError(file, "absurd dimensions \(shape)") }
        let have = b.count - header
        var want = 1
        for d in shape {
            let (product, overflow) = want.multipliedReportingOverflow(by: d)
            guard !overflow, product <= 1 << 40 else {
                throw DataError(file, "header says \(shape.map(String.init).joined(separator: "×")) bytes of data, file has \(have) (absurd dimensions)")
            }
            want = product
        }
        guard have == want else {
            throw DataError(file, "header says \(shape.map(String.init).joined(separator: "×")) = \(want) bytes of data, file has \(have)"
                            + (have < want ? " (truncated)" : ""))
        }
        return (shape, b[header...])
    }

    /// Loads an image file and its label file, checking that they agree and that every label
    /// is below `classes`.
    public static func load(images: String, labels: String, classes: Int) throws -> ImageSet {
        let (ishape, idata) = try parse(try bytes(of: images), dims: 3, file: images)
        let (lshape, ldata) = try parse(try bytes(of: labels), dims: 1, file: labels)
        guard ishape[0] == lshape[0] else {
            throw DataError(labels, "has \(lshape[0]) labels for the \(ishape[0]) images of \(images)")
        }
        var out = [Int32](repeating: 0, count: lshape[0])
        for (i, v) in ldata.enumerated() {
            guard Int(v) < classes else { throw DataError(labels, "label \(v) of item \(i) is out of range (\(classes) classes)") }
            out[i] = Int32(v)
        }
        return ImageSet(count: ishape[0], channels: 1, height: ishape[1], width: ishape[2], pixels: Array(idata), labels: out)
    }

    /// Finds `<stem>` or `<stem>.gz` in `dir`.
    public static func find(_ stem: String, in dir: String) throws -> String {
        for name in [stem, stem + ".gz"] {
            let p = (dir as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: p) { return p }
        }
        throw DataError((dir as NSString).appendingPathComponent(stem), "no such file (nor .gz)")
    }

    /// The training and test sets of an MNIST-style directory.
    public static func loadDirectory(_ dir: String, classes: Int) throws -> (train: ImageSet, test: ImageSet) {
        try checkDataDirectory(dir)
        let train = try load(images: try find("train-images-idx3-ubyte", in: dir),
                             labels: try find("train-labels-idx1-ubyte", in: dir), classes: classes)
        let test = try load(images: try find("t10k-images-idx3-ubyte", in: dir),
                            labels: try find("t10k-labels-idx1-ubyte", in: dir), classes: classes)
        guard train.height == test.height, train.width == test.width else {
            throw DataError(dir, "training images are \(train.height)×\(train.width) but test images \(test.height)×\(test.width)")
        }
        return (train, test)
    }
}
