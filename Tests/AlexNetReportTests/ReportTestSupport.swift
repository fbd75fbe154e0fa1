import Foundation
import XCTest

/// Helpers of the report tests: a scratch directory, and programs run to check our output
/// independently (python3's zlib, headless chromium).

/// The first executable among `names` in the usual directories, or nil.
func findProgram(_ names: [String]) -> String? {
    for d in ["/usr/bin", "/bin", "/usr/local/bin"] {
        for n in names where FileManager.default.isExecutableFile(atPath: d + "/" + n) { return d + "/" + n }
    }
    return nil
}

/// Runs a program; returns its status, standard output and standard error.
@discardableResult
func runProgram(_ path: String, _ args: [String], timeout: Double = 120) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out; p.standardError = err
    let o = Box(), e = Box()
    let group = DispatchGroup()
    group.enter(); DispatchQueue.global().async { o.set(out.fileHandleForReading.readDataToEndOfFile()); group.leave() }
    group.enter(); DispatchQueue.global().async { e.set(err.fileHandleForReading.readDataToEndOfFile()); group.leave() }
    try p.run()
    let t0 = Date()
    while p.isRunning {
        if Date().timeIntervalSince(t0) > timeout { p.terminate(); kill(p.processIdentifier, SIGKILL); break }
        usleep(50_000)
    }
    p.waitUntilExit()
    group.wait()
    return (p.terminationStatus, String(decoding: o.get(), as: UTF8.self), String(decoding: e.get(), as: UTF8.self))
}

final class Box: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}

/// A PNG decoder written here in Python on top of its zlib module only — independent of our
/// writer: checks the signature and every chunk's CRC, inflates the IDAT stream, undoes the
/// five row filters, and prints `width height channels` then the pixels in hex. Handles 8-bit
/// grey, RGB and RGBA, not interlaced (what our writer and chromium's screenshots produce).
let pythonPNGDecoder = """
import sys, zlib, struct
b = open(sys.argv[1], 'rb').read()
assert b[:8] == b'\\x89PNG\\r\\n\\x1a\\n', 'signature'
o = 8; idat = b''; ihdr = None; ended = False
while o < len(b):
    n, = struct.unpack('>I', b[o:o+4]); t = b[o+4:o+8]; d = b[o+8:o+8+n]
    crc, = struct.unpack('>I', b[o+8+n:o+12+n])
    assert zlib.crc32(t + d) & 0xffffffff == crc, 'crc of ' + t.decode()
    if t == b'IHDR': ihdr = struct.unpack('>IIBBBBB', d)
    elif t == b'IDAT': idat += d
    elif t == b'IEND': ended = True
    o += 12 + n
assert ended, 'no IEND'
w, h, depth, ctype, comp, filt, inter = ihdr
assert depth == 8 and inter == 0, 'unsupported'
ch = {0: 1, 2: 3, 6: 4}[ctype]
raw = zlib.decompress(idat); stride = w * ch
assert len(raw) == h * (stride + 1), 'size'
out = bytearray(); prev = bytearray(stride)
for y in range(h):
    f = raw[y * (stride + 1)]; row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = row[i - ch] if i >= ch else 0; up = prev[i]; c = prev[i - ch] if i >= ch else 0
        if f == 1: row[i] = (row[i] + a) & 255
        elif f == 2: row[i] = (row[i] + up) & 255
        elif f == 3: row[i] = (row[i] + (a + up) // 2) & 255
        elif f == 4:
            p = a + up - c; pa, pb, pc = abs(p - a), abs(p - up), abs(p - c)
            row[i] = (row[i] + (a if pa <= pb and pa <= pc else up if pb <= pc else c)) & 255
        else: assert f == 0, 'filter'
    out += row; prev = row
print(w, h, ch)
print(out.hex())
"""

struct DecodedPNG { var width: Int, height: Int, channels: Int, pixels: [UInt8] }

/// Decodes a PNG file with `pythonPNGDecoder`; skips the test when python3 is missing.
func decodePNGIndependently(_ path: String, in dir: String) throws -> DecodedPNG {
    guard let python = findProgram(["python3"]) else { throw XCTSkip("python3 is not installed: cannot decode PNGs independently") }
    let script = (dir as NSString).appendingPathComponent("decode_png.py")
    try pythonPNGDecoder.write(toFile: script, atomically: true, encoding: .utf8)
    let r = try runProgram(python, [script, path])
    guard r.status == 0 else { throw NSError(domain: "png", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: "decoder failed: \(r.err)"]) }
    let lines = r.out.split(separator: "\n")
    let head = lines[0].split(separator: " ").map { Int($0)! }
    let hex = Array((lines.count > 1 ? String(lines[1]) : "").utf8)
    var px = [UInt8](); px.reserveCapacity(hex.count / 2)
    func nib(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : c - 87 }
    var i = 0
    while i + 1 < hex.count { px.append(nib(hex[i]) << 4 | nib(hex[i + 1])); i += 2 }
    return DecodedPNG(width: head[0], height: head[1], channels: head[2], pixels: px)
}
