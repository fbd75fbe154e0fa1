import CZlib

/// CRC-32 (zlib's) of a byte range, for model shards.
public func crc32(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return seed }
    var crc = UInt(seed)
    var offset = 0
    while offset < bytes.count {
        let n = min(bytes.count - offset, 1 << 30)
        crc = CZlib.crc32(crc, base.assumingMemoryBound(to: UInt8.self) + offset, UInt32(n))
        offset += n
    }
    return UInt32(truncatingIfNeeded: crc)
}

/// Decompresses a whole gzip stream; nil if the bytes are not valid gzip.
public func gunzip(_ data: [UInt8]) -> [UInt8]? {
    var stream = z_stream()
    guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
    defer { inflateEnd(&stream) }
    var out = [UInt8]()
    out.reserveCapacity(data.count * 4)
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    var status: Int32 = Z_OK
    data.withUnsafeBufferPointer { input in
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
        stream.avail_in = UInt32(input.count)
        repeat {
            chunk.withUnsafeMutableBufferPointer { buf in
                stream.next_out = buf.baseAddress
                stream.avail_out = UInt32(buf.count)
                status = inflate(&stream, Z_NO_FLUSH)
                out.append(contentsOf: buf[0..<(buf.count - Int(stream.avail_out))])
            }
        } while status == Z_OK
    }
    return status == Z_STREAM_END ? out : nil
}
