import AlexNetCore
import AlexNetLayers
import Foundation

/// NumPy's `.npy` format, version 1.0, for a C-ordered float32 array:
/// `\x93NUMPY` 1 0, u16 LE header length, a Python dict literal padded with spaces and a
/// newline so that the data starts at a multiple of 64 bytes, then the little-endian floats.
public enum NumPyFile {
    public static func write(_ values: [Float], shape: [Int], to path: String) throws {
        precondition(shape.reduce(1, *) == values.count)
        let dims = shape.count == 1 ? "\(shape[0])," : shape.map(String.init).joined(separator: ", ")
        var header = Array("{'descr': '<f4', 'fortran_order': False, 'shape': (\(dims)), }".utf8)
        let prefix = 10
        while (prefix + header.count + 1) % 64 != 0 { header.append(0x20) }
        header.append(0x0A)
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        withUnsafeBytes(of: UInt16(header.count).littleEndian) { out.append(contentsOf: $0) }
        out += header
        values.withUnsafeBytes { out.append(contentsOf: $0) }
        try writeAtomically(out, to: path)
    }
}
