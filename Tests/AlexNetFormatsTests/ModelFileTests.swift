import _TestSupport
import AlexNetCore
import AlexNetLayers
import AlexNetParallel
import AlexNetFormats
import Foundation
import XCTest

/// Model shards round-trip bit for bit, and every damaged or mismatched shard is refused with
/// a `ModelFileError` that names its path.
final class ModelFileTests: XCTestCase {
    func bits(_ parameters: [Parameter]) -> [[UInt32]] { parameters.map { $0.value.array.map(\.bitPattern) } }

    func assertRefused(_ path: String, into network: Network, group: Int, mentions: [String] = [],
                       file: StaticString = #filePath, line: UInt = #line) {
        do {
            try ModelFile.read(into: network.parameters(group: group), spec: network.spec, group: group, from: path)
            XCTFail("\(path) was accepted", file: file, line: line)
        } catch let error as ModelFileError {
            let message = error.description
            XCTAssertTrue(message.hasPrefix(path + ": "), "does not name the path: \(message)", file: file, line: line)
            XCTAssertFalse(message.contains("\n"), "not one line: \(message)", file: file, line: line)
            for m in mentions { XCTAssertTrue(message.contains(m), "does not mention \"\(m)\": \(message)", file: file, line: line) }
        } catch {
            XCTFail("expected a ModelFileError, got \(type(of: error)): \(error)", file: file, line: line)
        }
    }

    /// A network of the tiny model (seed 1) with both groups written to `dir`.
    func writtenModel(_ dir: String) throws -> Network {
        let net = try oneRankNetwork(tinySpec(), seed: 1)
        for g in 0..<2 {
            try ModelFile.write(net.parameters(group: g), spec: net.spec, group: g, binding: .init(run: 7, step: 3), to: ModelFile.path(directory: dir, group: g))
        }
        return net
    }

    func testWriteThenReadRoundTripsExactly() throws {
        let dir = try makeScratchDirectory(self)
        let saved = try writtenModel(dir)
        let loaded = try oneRankNetwork(tinySpec(), seed: 2)
        XCTAssertNotEqual(bits(loaded.parameters), bits(saved.parameters), "seeds 1 and 2 drew the same weights")
        for g in 0..<2 {
            try ModelFile.read(into: loaded.parameters(group: g), spec: loaded.spec, group: g,
                               from: ModelFile.path(directory: dir, group: g))
        }
        XCTAssertEqual(bits(loaded.parameters), bits(saved.parameters))
        XCTAssertEqual(loaded.parameters.map(\.name), saved.parameters.map(\.name))
        XCTAssertEqual(ModelFile.path(directory: dir, group: 1), dir + "/group1.bin")
        // Nothing but the two shards is left behind (the temporary file was renamed).
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["group0.bin", "group1.bin"])
        // The size is the header, names and shapes, the floats and the CRC: at least 4 bytes per parameter.
        let size = try FileManager.default.attributesOfItem(atPath: dir + "/group0.bin")[.size] as? Int ?? 0
        XCTAssertGreaterThan(size, 4 * tinyParameterCount / 2)
    }

    func testTruncatedFileIsRefused() throws {
        let dir = try makeScratchDirectory(self)
        let net = try writtenModel(dir)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ModelFile.path(directory: dir, group: 0))))
        for length in [bytes.count - 1, bytes.count - 4, bytes.count / 2, 40, 31, 8, 0] {
            let path = dir + "/truncated-\(length).bin"
            try Data(bytes.prefix(length)).write(to: URL(fileURLWithPath: path))
            assertRefused(path, into: net, group: 0)
        }
    }

    func testFlippedByteIsRefused() throws {
        let dir = try makeScratchDirectory(self)
        let net = try writtenModel(dir)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ModelFile.path(directory: dir, group: 0))))
        // In the magic, the group number, a tensor name, the float data, and the CRC itself.
        for offset in [0, 12, 30, bytes.count / 2, bytes.count - 10, bytes.count - 1] {
            var damaged = bytes
            damaged[offset] ^= 0x10
            let path = dir + "/flipped-\(offset).bin"
            try Data(damaged).write(to: URL(fileURLWithPath: path))
            assertRefused(path, into: net, group: 0)
        }
    }

    func testFileOfAnotherGroupIsRefused() throws {
        let dir = try makeScratchDirectory(self)
        let net = try writtenModel(dir)
        assertRefused(ModelFile.path(directory: dir, group: 1), into: net, group: 0, mentions: ["group 1", "expected group 0"])
    }

    func testFileOfAModelWithOtherLayerShapesIsRefused() throws {
        let dir = try makeScratchDirectory(self)
        let net = try writtenModel(dir)
        let wider = try oneRankNetwork(tinySpec(conv1Kernels: 6))
        let path = dir + "/wider.bin"
        try ModelFile.write(wider.parameters(group: 0), spec: wider.spec, group: 0, binding: .init(run: 7, step: 3), to: path)
        assertRefused(path, into: net, group: 0, mentions: ["layer shapes"])
        // A one-group model's shard.
        let single = try oneRankNetwork(tinySpec(groups: 1))
        let singlePath = dir + "/single.bin"
        try ModelFile.write(single.parameters(group: 0), spec: single.spec, group: 0, binding: .init(run: 7, step: 3), to: singlePath)
        assertRefused(singlePath, into: net, group: 0, mentions: ["1-group"])
    }

    func testMissingFileAndUnwritablePathAreRefused() throws {
        let dir = try makeScratchDirectory(self)
        let net = try oneRankNetwork(tinySpec())
        assertRefused(dir + "/absent.bin", into: net, group: 0, mentions: ["no such file"])
        let unwritable = dir + "/no/such/dir/group0.bin"
        XCTAssertThrowsError(try ModelFile.write(net.parameters(group: 0), spec: net.spec, group: 0, binding: .init(run: 7, step: 3), to: unwritable)) {
            XCTAssertTrue($0 is FileError, "\(type(of: $0))")
            XCTAssertTrue("\($0)".hasPrefix(unwritable), "\($0)")
        }
    }

    /// A shard says which run and step it belongs to; a shard of the first format (without them)
    /// is still read, and says nothing.
    func testTheRunAndStepAreReadBackAndTheFirstFormatStillLoads() throws {
        let net = try oneRankNetwork(tinySpec(), seed: 2)
        let dir = try makeScratchDirectory(self)
        let path = ModelFile.path(directory: dir, group: 1)
        try ModelFile.write(net.parameters(group: 1), spec: net.spec, group: 1, binding: .init(run: 0xABCDEF, step: 42), to: path)
        XCTAssertEqual(try ModelFile.read(into: net.parameters(group: 1), spec: net.spec, group: 1, from: path), .init(run: 0xABCDEF, step: 42))
        // The same shard in the first format: no run id and no step after the fingerprint.
        var b = [UInt8](FileManager.default.contents(atPath: path)!)
        b.replaceSubrange(0..<8, with: Array("AXMPGRP1".utf8))
        b.removeSubrange(24..<40)
        b.removeLast(4)
        let crc = b.withUnsafeBytes { crc32($0) }
        withUnsafeBytes(of: crc.littleEndian) { b.append(contentsOf: $0) }
        let before = net.parameters(group: 1).map { $0.value.array }
        XCTAssertNil(try ModelFile.parse(b, into: net.parameters(group: 1).map(\.value), spec: net.spec, group: 1, file: "v1"))
        XCTAssertEqual(net.parameters(group: 1).map { $0.value.array }, before)
    }
}
