import AlexNetCore
import AlexNetLayers
import Foundation

/// One group's parameters on disk: `group<g>.bin` in a model or checkpoint directory, written by
/// the rank that holds the group. Little-endian:
///
///     "AXMPGRP2"  u32 groups  u32 group  u64 model fingerprint  u64 run id  u64 step  u32 tensors
///     per tensor: u16 name length, name (UTF-8), u8 rank, u32 dims…, then the float32 data
///     u32 CRC-32 of everything before it
///
/// The run id and the step bind a shard to the run and the checkpoint it belongs to: a shard
/// copied in from another run (another seed) or another step is refused on reading, instead of
/// mixing two half-models. Files of the first format ("AXMPGRP1", without them) are still read.
/// Written to a temporary name, flushed and renamed, so a file that exists is complete.
public enum ModelFile {
    static let magic = Array("AXMPGRP2".utf8), magicV1 = Array("AXMPGRP1".utf8)

    /// Which run and which step a shard belongs to (nil in a file of the first format).
    public struct Binding: Equatable, Sendable, CustomStringConvertible {
        public var run: UInt64, step: Int
        public init(run: UInt64, step: Int) { self.run = run; self.step = step }
        public var description: String { String(format: "run %016llx, step %d", run, step) }
    }

    /// A hash of everything that decides the parameters' shapes.
    public static func fingerprint(_ spec: ModelSpec) -> UInt64 {
        var h: UInt64 = 0x414C_4558
        func mix(_ v: Int) { h = mix64(h ^ UInt64(bitPattern: Int64(v))) }
        for v in [spec.inputChannels, spec.inputHeight, spec.inputWidth, spec.classes, spec.groups] { mix(v) }
        // A fully connected layer always reads every group; it counts 0 here, as it always has
        // (the config used to call it `own`), so that earlier runs' files stay readable.
        for l in spec.layers {
            for v in [l.kind == .conv ? 1 : 2, l.outputs, l.size, l.stride, l.pad, l.kind == .conv && l.sees == .all ? 1 : 0] { mix(v) }
        }
        return h
    }

    public static func path(directory: String, group: Int) -> String {
        (directory as NSString).appendingPathComponent("group\(group).bin")
    }

    /// Writes the parameters' values (a model).
    public static func write(_ parameters: [Parameter], spec: ModelSpec, group: Int, binding: Binding, to path: String) throws {
        try write(tensors: parameters.map(\.value), spec: spec, group: group, binding: binding, to: path)
    }

    /// Reads the parameters' values (a model); returns the shard's run and step.
    @discardableResult
    public static func read(into parameters: [Parameter], spec: ModelSpec, group: Int, from path: String) throws -> Binding? {
        try read(into: parameters.map(\.value), spec: spec, group: group, from: path)
    }

    /// Writes named tensors (their names are the tensors' own: `conv1.g0.weight`, `….momentum`).
    public static func write(tensors parameters: [Tensor], spec: ModelSpec, group: Int, binding: Binding, to path: String) throws {
        var out = [UInt8]()
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        out += magic
        u32(spec.groups); u32(group)
        u64(fingerprint(spec))
        u64(binding.run); u64(UInt64(binding.step))
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
    @discardableResult
    public static func read(into parameters: [Tensor], spec: ModelSpec, group: Int, from path: String) throws -> Binding? {
        let bytes: [UInt8]
        // A shard is its tensors and a header: more than 16 GiB is no shard this program wrote.
        do { bytes = try readFile(path, limit: 16 << 30) } catch let e as FileError {
            throw ModelFileError(path, e.problem == "no such file or directory" ? "no such file" : e.problem)
        }
        return try parse(bytes, into: parameters, spec: spec, group: group, file: path)
    }

    /// `read` of bytes already in memory; errors name `path`. Nothing is written into
    /// `parameters` unless the checksum matches.
    @discardableResult
    public static func parse(_ b: [UInt8], into parameters: [Tensor], spec: ModelSpec, group: Int, file path: String) throws -> Binding? {
        guard b.count >= 32, Array(b[0..<8]) == magic || Array(b[0..<8]) == magicV1 else {
            throw ModelFileError(path, "not an alexnet-mp model shard (bad magic)")
        }
        let bound = Array(b[0..<8]) == magic
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
        var binding: Binding?
        if bound {
            guard o + 16 <= b.count - 4 else { throw ModelFileError(path, "truncated") }
            let run = b[o..<(o + 8)].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
            let step = b[(o + 8)..<(o + 16)].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
            guard step <= UInt64(Int.max) else { throw ModelFileError(path, "step \(step) is not a step") }
            binding = Binding(run: run, step: Int(step))
            o += 16
        }
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
        return binding
    }
}

public struct ModelFileError: Error, CustomStringConvertible {
    public let description: String
    public init(_ file: String, _ problem: String) { description = "\(file): \(problem)" }
}
