import AlexNetCore
import AlexNetLayers
import Foundation

/// One group's parameters on disk: `group<g>.bin` in a model directory, written by the rank
/// that holds the group. Little-endian:
///
///     "AXMPGRP1"  u32 groups  u32 group  u64 model fingerprint  u32 tensors
///     per tensor: u16 name length, name (UTF-8), u8 rank, u32 dims…, then the float32 data
///     u32 CRC-32 of everything before it
///
/// Written to a temporary name, flushed and renamed, so a file that exists is complete.
public enum ModelFile {
    static let magic = Array("AXMPGRP1".utf8)

    /// A hash of everything that decides the parameters' shapes.
    public static func fingerprint(_ spec: ModelSpec) -> UInt64 {
        var h: UInt64 = 0x414C_4558
        func mix(_ v: Int) { h = mix64(h ^ UInt64(bitPattern: Int64(v))) }
        for v in [spec.inputChannels, spec.inputHeight, spec.inputWidth, spec.classes, spec.groups] { mix(v) }
        for l in spec.layers { for v in [l.kind == .conv ? 1 : 2, l.outputs, l.size, l.stride, l.pad, l.sees == .all ? 1 : 0] { mix(v) } }
        return h
    }

    public static func path(directory: String, group: Int) -> String {
        (directory as NSString).appendingPathComponent("group\(group).bin")
    }

    /// Writes the parameters' values (a model).
    public static func write(_ parameters: [Parameter], spec: ModelSpec, group: Int, to path: String) throws {
        try write(tensors: parameters.map(\.value), spec: spec, group: group, to: path)
    }

    /// Reads the parameters' values (a model).
    public static func read(into parameters: [Parameter], spec: ModelSpec, group: Int, from path: String) throws {
        try read(into: parameters.map(\.value), spec: spec, group: group, from: path)
    }

    /// Writes named tensors (their names are the tensors' own: `conv1.g0.weight`, `….momentum`).
    public static func write(tensors parameters: [Tensor], spec: ModelSpec, group: Int, to path: String) throws {
        var out = [UInt8]()
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { out.append(contentsOf: $0) } }
        out += magic
        u32(spec.groups); u32(group)
        withUnsafeBytes(of: fingerprint(spec).littleEndian) { out.append(contentsOf: $0) }
        u32(parameters.count)
        for p in parameters {
            let name = Array(p.name.utf8)
            withUnsafeBytes(of: UInt16(name.count).littleEndian) { out.append(contentsOf: $0) }
            out += name
            out.append(UInt8(p.shape.count))
            for d in p.shape { u32(d) }
            out.append(contentsOf: UnsafeRawBufferPointer(start: p.data, count: p.count * 4))
        }
        let crc = out.withUnsafeBytes { crc32($0) }
        u32(Int(crc))
        try writeAtomically(out, to: path)
    }

    /// Loads `parameters` (in the order `write` wrote them) from `path`, refusing a file that is
    /// truncated, corrupt, of another model or of another group with a one-line message.
    public static func read(into parameters: [Tensor], spec: ModelSpec, group: Int, from path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelFileError(path, FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
        }
        try parse([UInt8](data), into: parameters, spec: spec, group: group, file: path)
    }

    /// `read` of bytes already in memory; errors name `path`. Nothing is written into
    /// `parameters` unless the checksum matches.
    public static func parse(_ b: [UInt8], into parameters: [Tensor], spec: ModelSpec, group: Int, file path: String) throws {
        guard b.count >= 32, Array(b[0..<8]) == magic else { throw ModelFileError(path, "not an alexnet-mp model shard (bad magic)") }
        let stored = b[(b.count - 4)...].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self).littleEndian }
        let actual = b[0..<(b.count - 4)].withUnsafeBytes { crc32($0) }
        guard stored == actual else { throw ModelFileError(path, "checksum mismatch: the file is truncated or corrupt") }
        var o = 8
        func u32() throws -> Int {
            guard o + 4 <= b.count - 4 else { throw ModelFileError(path, "truncated") }
            defer { o += 4 }
            return Int(b[o..<(o + 4)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self).littleEndian })
        }
        let groups = try u32(), g = try u32()
        guard groups == spec.groups else { throw ModelFileError(path, "is from a \(groups)-group model; this model has \(spec.groups)") }
        guard g == group else { throw ModelFileError(path, "holds group \(g), expected group \(group)") }
        let fp = b[o..<(o + 8)].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
        o += 8
        guard fp == fingerprint(spec) else { throw ModelFileError(path, "is from a model with other layer shapes than this config") }
        let n = try u32()
        guard n == parameters.count else { throw ModelFileError(path, "has \(n) tensors, the model expects \(parameters.count)") }
        for p in parameters {
            guard o + 2 <= b.count - 4 else { throw ModelFileError(path, "truncated") }
            let len = Int(b[o]) | Int(b[o + 1]) << 8
            o += 2
            guard o + len + 1 <= b.count - 4 else { throw ModelFileError(path, "truncated") }
            let name = String(decoding: b[o..<(o + len)], as: UTF8.self)
            o += len
            let rank = Int(b[o]); o += 1
            var shape: [Int] = []
            for _ in 0..<rank { shape.append(try u32()) }
            guard name == p.name, shape == p.shape else {
                throw ModelFileError(path, "tensor \(name) \(shape) where the model has \(p.name) \(p.shape)")
            }
            guard o + p.count * 4 <= b.count - 4 else { throw ModelFileError(path, "truncated in tensor \(name)") }
            b.withUnsafeBytes { raw in
                UnsafeMutableRawPointer(p.data).copyMemory(from: raw.baseAddress! + o, byteCount: p.count * 4)
            }
            o += p.count * 4
        }
        guard o == b.count - 4 else { throw ModelFileError(path, "has \(b.count - 4 - o) unexpected trailing bytes") }
    }
}

public struct ModelFileError: Error, CustomStringConvertible {
    public let description: String
    public init(_ file: String, _ problem: String) { description = "\(file): \(problem)" }
}
