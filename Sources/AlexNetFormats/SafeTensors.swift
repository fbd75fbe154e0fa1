import AlexNetCore
import AlexNetLayers
import Foundation

/// The safetensors format (Hugging Face's), float32 tensors only:
///
///     u64 LE  header length n
///     n bytes JSON: {"<name>": {"dtype": "F32", "shape": [d…], "data_offsets": [begin, end]}, …,
///                    "__metadata__": {"<key>": "<string>"}}   (padded with spaces to 8 bytes)
///     the data: each tensor row-major, little-endian, at [begin, end) counted from the data's start
///
/// Reading trusts nothing in the file: the header length, every offset and every dimension are
/// checked against the file's size before a byte of data is touched, and the tensors must tile
/// the data exactly (no overlap, no gap), as the format's specification requires.
public struct SafeTensors {
    public struct Entry: Equatable {
        public let name: String
        public let shape: [Int]
        /// Byte range in the data section.
        public let begin: Int, end: Int
        public var count: Int { shape.reduce(1, *) }
    }

    public let file: String
    public let metadata: [String: String]
    /// In data order.
    public let entries: [Entry]
    private let bytes: [UInt8]
    private let dataStart: Int

    /// The largest header this reader accepts (the reference implementation's limit).
    public static let maxHeaderBytes = 100_000_000

    public static func read(_ path: String) throws -> SafeTensors {
        let bytes: [UInt8]
        do { bytes = try readFile(path, limit: 64 << 30) } catch let e as FileError {
            throw ModelFileError(path, e.problem == "no such file or directory" ? "no such file" : e.problem)
        }
        return try parse(bytes, file: path)
    }

    /// Parses a whole file's bytes; every problem is a `ModelFileError` naming `file`.
    public static func parse(_ b: [UInt8], file: String) throws -> SafeTensors {
        func fail(_ problem: String) -> ModelFileError { ModelFileError(file, "not a valid safetensors file: \(problem)") }
        guard b.count >= 8 else { throw fail("\(b.count) bytes, too short for the header length") }
        let n64 = b[0..<8].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
        guard n64 <= UInt64(b.count - 8) else { throw fail("the header length says \(n64) bytes, the file has \(b.count - 8) after it") }
        guard n64 <= UInt64(maxHeaderBytes) else { throw fail("a header of \(n64) bytes (at most \(maxHeaderBytes))") }
        let n = Int(n64)
        guard n >= 2 else { throw fail("a header of \(n) bytes cannot be a JSON object") }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: Data(b[8..<(8 + n)]), options: []) } catch {
            throw fail("the header is not valid JSON")
        }
        guard let header = json as? [String: Any] else { throw fail("the header is not a JSON object") }
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        let dataBytes = b.count - 8 - n
        func integer(_ v: Any, _ what: String) throws -> Int {
            // JSONSerialization gives NSNumber; refuse booleans, fractions, negatives and huge values.
            guard let num = v as? NSNumber, String(cString: num.objCType) != "c",
                  let d = Optional(num.doubleValue), d >= 0, d <= 1e15, d == d.rounded() else {
                throw fail("\(what) is not a non-negative integer")
            }
            return Int(d)
        }
        for (key, value) in header {
            if key == "__metadata__" {
                guard let m = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw fail("__metadata__.\(k) is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let t = value as? [String: Any] else { throw fail("tensor \(key) is not an object") }
            guard let dtype = t["dtype"] as? String else { throw fail("tensor \(key) has no dtype") }
            guard dtype == "F32" else { throw fail("tensor \(key) is \(dtype); only F32 is supported") }
            guard let dims = t["shape"] as? [Any] else { throw fail("tensor \(key) has no shape") }
            guard dims.count <= 8 else { throw fail("tensor \(key) has \(dims.count) dimensions") }
            var shape: [Int] = [], count = 1
            for (i, d) in dims.enumerated() {
                let v = try integer(d, "tensor \(key) shape[\(i)]")
                let (c, overflow) = count.multipliedReportingOverflow(by: v)
                guard !overflow, c <= dataBytes / 4 || v == 0 else {
                    throw fail("tensor \(key) has shape \(dims.map { "\($0)" }.joined(separator: "×")), more than the file holds")
                }
                shape.append(v); count = c
            }
            guard let off = t["data_offsets"] as? [Any], off.count == 2 else { throw fail("tensor \(key) has no [begin, end] data_offsets") }
            let begin = try integer(off[0], "tensor \(key) data_offsets[0]"), end = try integer(off[1], "tensor \(key) data_offsets[1]")
            guard begin <= end, end <= dataBytes else {
                throw fail("tensor \(key) data_offsets [\(begin), \(end)] lie outside the \(dataBytes) data bytes")
            }
            guard end - begin == count * 4 else {
                throw fail("tensor \(key) has \(end - begin) bytes for shape \(shape) (needs \(count * 4))")
            }
            entries.append(Entry(name: key, shape: shape, begin: begin, end: end))
        }
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var next = 0
        for e in entries {
            guard e.begin == next else {
                throw fail(e.begin < next ? "tensor \(e.name) overlaps the tensor before it" : "a gap of \(e.begin - next) bytes before tensor \(e.name)")
            }
            next = e.end
        }
        guard next == dataBytes else { throw fail("\(dataBytes - next) data bytes belong to no tensor") }
        return SafeTensors(file: file, metadata: metadata, entries: entries, bytes: b, dataStart: 8 + n)
    }

    public func entry(_ name: String) -> Entry? { entries.first { $0.name == name } }

    /// Copies tensor `name` into `destination`, checking that its shape is `shape`.
    public func copy(_ name: String, shape: [Int], into destination: UnsafeMutablePointer<Float>) throws {
        guard let e = entry(name) else { throw ModelFileError(file, "has no tensor \(name)") }
        guard e.shape == shape else { throw ModelFileError(file, "tensor \(name) has shape \(e.shape), the model needs \(shape)") }
        bytes.withUnsafeBytes { raw in
            UnsafeMutableRawPointer(destination).copyMemory(from: raw.baseAddress! + dataStart + e.begin, byteCount: e.end - e.begin)
        }
    }

    /// One tensor to write: its name, shape and `shape.reduce(1, *)` floats.
    public struct Output {
        public let name: String, shape: [Int], data: [Float]
        public init(name: String, shape: [Int], data: [Float]) {
            precondition(shape.reduce(1, *) == data.count)
            self.name = name; self.shape = shape; self.data = data
        }
    }

    /// Writes `tensors` in the given order (atomically: temporary name, flush, rename).
    public static func write(_ tensors: [Output], metadata: [String: String], to path: String) throws {
        var header: [String: Any] = [:]
        var offset = 0
        for t in tensors {
            header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.data.count]] as [String: Any]
            offset += 4 * t.data.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = Array(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        while json.count % 8 != 0 { json.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out += json
        for t in tensors { t.data.withUnsafeBytes { out.append(contentsOf: $0) } }
        try writeAtomically(out, to: path)
    }
}
