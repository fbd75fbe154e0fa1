import _TestSupport
import AlexNetCore
import AlexNetLayers
import AlexNetParallel
@testable import AlexNetFormats
import Foundation
import XCTest

/// The safetensors reader against hand-made files, its refusals, truncations and fuzzing; the
/// writer's round trip; the PyTorch layout of the merged groups; the .npy writer's bytes.
final class SafeTensorsTests: XCTestCase {
    /// A file built byte by byte, as the format's specification describes it.
    func handMade(_ header: String, _ floats: [Float]) -> [UInt8] {
        var b = [UInt8]()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { b += $0 }
        b += Array(header.utf8)
        floats.withUnsafeBytes { b += $0 }
        return b
    }

    let twoTensors = #"{"a":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[],"data_offsets":[8,12]},"__metadata__":{"k":"v"}}"#

    func testAHandMadeFileIsReadAsSpecified() throws {
        let f = try SafeTensors.parse(handMade(twoTensors, [1.5, -2, 7]), file: "hand")
        XCTAssertEqual(f.metadata, ["k": "v"])
        XCTAssertEqual(f.entries.map(\.name), ["a", "b"])
        XCTAssertEqual(f.entry("a")?.shape, [2, 1])
        XCTAssertEqual(f.entry("b")?.shape, [])
        var a = [Float](repeating: 0, count: 2), s: Float = 0
        try a.withUnsafeMutableBufferPointer { try f.copy("a", shape: [2, 1], into: $0.baseAddress!) }
        try f.copy("b", shape: [], into: &s)
        XCTAssertEqual(a, [1.5, -2]); XCTAssertEqual(s, 7)
        XCTAssertThrowsError(try a.withUnsafeMutableBufferPointer { try f.copy("a", shape: [2], into: $0.baseAddress!) })
        XCTAssertThrowsError(try a.withUnsafeMutableBufferPointer { try f.copy("c", shape: [2], into: $0.baseAddress!) })
    }

    func testWriteThenParseRoundTripsAndAlignsTheHeader() throws {
        let dir = try makeScratchDirectory(self)
        let path = dir + "/t.safetensors"
        let w = (0..<12).map { Float($0) * 0.25 - 1 }
        try SafeTensors.write([.init(name: "w", shape: [3, 4], data: w), .init(name: "b", shape: [3], data: [1, 2, 3])],
                              metadata: ["format": "pt", "note": "quote \" and\nnewline"], to: path)
        let bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        let n = Int(bytes[0..<8].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        XCTAssertEqual(n % 8, 0, "header not padded to 8 bytes")
        XCTAssertEqual(bytes.count, 8 + n + 4 * 15)
        // The data is the floats, in the order written.
        XCTAssertEqual(bytes[(8 + n)...].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }, w + [1, 2, 3])
        let f = try SafeTensors.read(path)
        XCTAssertEqual(f.metadata["note"], "quote \" and\nnewline")
        XCTAssertEqual(f.entries.map(\.name), ["w", "b"])
        XCTAssertEqual(f.entry("w"), SafeTensors.Entry(name: "w", shape: [3, 4], begin: 0, end: 48))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".tmp.\(getpid())"))
    }

    /// Each lie a header can tell, and the words the one-line error uses for it.
    func testHeadersThatLieAreRefusedNamingTheProblem() throws {
        let cases: [(String, [UInt8], String)] = [
            ("short", [1, 2, 3], "too short"),
            ("length", [UInt8](handMade(twoTensors, [1, 2, 3]).enumerated().map { $0.offset == 4 ? 0x7F : $0.element }), "header length says"),
            ("json", handMade(#"{"a": [1,"#, []), "not valid JSON"),
            ("array", handMade("[1, 2]", []), "not a JSON object"),
            ("dtype", handMade(#"{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#, [0]), "only F32"),
            ("outside", handMade(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, [0]), "lie outside"),
            ("backwards", handMade(#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}"#, [0]), "lie outside"),
            ("size", handMade(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, [0, 0, 0, 0]), "needs 12"),
            ("absurd", handMade(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}}"#, [0]), "more than the file holds"),
            ("negative", handMade(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, [0]), "not a non-negative integer"),
            ("fraction", handMade(#"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, [0]), "not a non-negative integer"),
            ("boolean", handMade(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[false,true]}}"#, [0]), "not a non-negative integer"),
            ("overlap", handMade(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, [0, 0]), "overlaps"),
            ("gap", handMade(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, [0, 0]), "gap of 4 bytes"),
            ("tail", handMade(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, [0, 0]), "4 data bytes belong to no tensor"),
            ("metadata", handMade(#"{"__metadata__":{"k":1}}"#, []), "__metadata__.k is not a string"),
            ("dims", handMade(#"{"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}}"#, [0]), "9 dimensions"),
        ]
        for (name, bytes, words) in cases {
            XCTAssertThrowsError(try SafeTensors.parse(bytes, file: "f-\(name)"), name) { e in
                let m = "\(e)"
                XCTAssertTrue(m.hasPrefix("f-\(name): not a valid safetensors file: "), "\(name): \(m)")
                XCTAssertTrue(m.contains(words), "\(name): expected \"\(words)\" in: \(m)")
                XCTAssertFalse(m.contains("\n"), "\(name): \(m)")
            }
        }
    }

    func testEveryTruncationIsRefused() throws {
        let valid = handMade(twoTensors, [1, 2, 3])
        XCTAssertNoThrow(try SafeTensors.parse(valid, file: "v"))
        for n in 0..<valid.count {
            XCTAssertThrowsError(try SafeTensors.parse(Array(valid.prefix(n)), file: "p\(n)"), "prefix \(n)") {
                XCTAssertTrue("\($0)".hasPrefix("p\(n): "), "\($0)")
            }
        }
    }

    func testFuzzedFilesOnlyEverThrowOneLineErrors() throws {
        let net = try oneRankNetwork(tinySpec(), seed: 3)
        let dir = try makeScratchDirectory(self)
        try export(net, mean: nil, to: dir + "/m.safetensors")
        let valid = [UInt8](FileManager.default.contents(atPath: dir + "/m.safetensors")!)
        let n = Int(valid[0..<8].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let accepted = Fuzz.run("safetensors", valid: valid, focus: 8 + n, error: ModelFileError.self) { b, name in
            let f = try SafeTensors.parse(b, file: name)
            // Whatever is accepted is self-consistent: every tensor's bytes lie in the file.
            for e in f.entries { XCTAssertEqual(e.end - e.begin, 4 * e.count); XCTAssertLessThanOrEqual(e.end, b.count) }
        }
        XCTAssertLessThan(accepted, Fuzz.iterations, "every mutation was accepted: the fuzzing does not reach the checks")
    }

    func testFuzzedModelShardsOnlyEverThrowOneLineErrors() throws {
        let net = try oneRankNetwork(tinySpec(), seed: 3)
        let dir = try makeScratchDirectory(self)
        let path = ModelFile.path(directory: dir, group: 1)
        try ModelFile.write(net.parameters(group: 1), spec: net.spec, group: 1, binding: .init(run: 7, step: 3), to: path)
        let valid = [UInt8](FileManager.default.contents(atPath: path)!)
        let before = net.parameters(group: 1).map { $0.value.array }
        Fuzz.run("shard", valid: valid, focus: 64, error: ModelFileError.self) { b, name in
            try ModelFile.parse(b, into: net.parameters(group: 1).map(\.value), spec: net.spec, group: 1, file: name)
        }
        // A refused shard never wrote into the parameters (the checksum is checked first).
        XCTAssertEqual(net.parameters(group: 1).map { $0.value.array }, before)
    }

    // MARK: The PyTorch layout

    func export(_ net: Network, mean: (values: [Float], shape: [Int])?, configYAML: String = "name: tiny\n", to path: String) throws {
        try PyTorchExport.write(net.spec, parameters: net.parameters(group:), mean: mean, configYAML: configYAML,
                                preprocess: .init(scale: 1, meanImage: mean != nil, crop: 8), to: path)
    }

    func load(_ file: SafeTensors, into net: Network) throws {
        try PyTorchExport.load(file, spec: net.spec, groups: net.placement.localGroups, parameters: net.parameters(group:))
    }

    func testMergedLayoutHasPyTorchShapes() throws {
        let layout = try PyTorchExport.layout(tinySpec())
        XCTAssertEqual(layout.map(\.name), ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight",
                                            "conv3.bias", "fc4.weight", "fc4.bias", "fc5.weight", "fc5.bias"])
        // conv2 reads its own group (Conv2d groups=2: in/groups = 2); conv3 reads both (8 in);
        // fc4 reads 8 maps × 3×3 = 72.
        XCTAssertEqual(layout.map(\.shape), [[4, 1, 3, 3], [4], [8, 2, 3, 3], [8], [8, 8, 3, 3], [8], [16, 72], [16], [4, 16], [4]])
        let plans = try tinySpec().plan()
        XCTAssertEqual(plans.map { PyTorchExport.torchGroups($0, groups: 2) }, [1, 2, 1, 1, 1])
        XCTAssertEqual(try PyTorchExport.layout(tinySpec(groups: 1)).map(\.shape)[2], [8, 4, 3, 3])
    }

    func testGroupsAreStackedInGroupOrderAndLoadBack() throws {
        let net = try oneRankNetwork(tinySpec(), seed: 5)
        let merged = try PyTorchExport.tensors(net.spec, parameters: net.parameters(group:))
        let conv2 = merged.first { $0.name == "conv2.weight" }!
        let g0 = net.parameters(group: 0).first { $0.name == "conv2.g0.weight" }!.value.array
        let g1 = net.parameters(group: 1).first { $0.name == "conv2.g1.weight" }!.value.array
        XCTAssertEqual(conv2.data, g0 + g1)
        let dir = try makeScratchDirectory(self)
        let config = try String(contentsOfFile: configPath("fashion-mnist"), encoding: .utf8)
        try export(net, mean: ([1, 2], [1, 1, 2]), configYAML: config, to: dir + "/m.safetensors")
        let file = try SafeTensors.read(dir + "/m.safetensors")
        XCTAssertEqual(file.entry("mean_image")?.shape, [1, 1, 2])
        XCTAssertEqual(try PyTorchExport.configText(of: file), config)
        XCTAssertEqual(file.metadata["alexnet_mp.lrn_across"], "group", "the metadata says which LRN the model was trained with")
        let other = try oneRankNetwork(tinySpec(), seed: 6)
        XCTAssertNotEqual(other.parameters.map { $0.value.array }, net.parameters.map { $0.value.array })
        try load(file, into: other)
        XCTAssertEqual(other.parameters.map { $0.value.array }, net.parameters.map { $0.value.array })
        // Only one group on a rank of two: it gets its own rows.
        let half = try Network(spec: tinySpec(), batch: 2, placement: Placement(groups: 2, ranks: 2, rank: 1),
                               comm: PlacedCommunicator(rank: 1, size: 2), seed: 9)
        try load(file, into: half)
        XCTAssertEqual(half.parameters(group: 1).map { $0.value.array }, net.parameters(group: 1).map { $0.value.array })
        // A one-group model refuses the two-group file, naming the tensor.
        let one = try oneRankNetwork(tinySpec(groups: 1), seed: 1)
        XCTAssertThrowsError(try load(file, into: one)) { XCTAssertTrue("\($0)".contains("conv2.weight has shape [8, 2, 3, 3]"), "\($0)") }
    }

    func testNumPyFileHeaderIsVersion1AlignedTo64() throws {
        let dir = try makeScratchDirectory(self)
        try NumPyFile.write([1, 2, 3, 4, 5, 6], shape: [2, 3], to: dir + "/a.npy")
        let b = [UInt8](FileManager.default.contents(atPath: dir + "/a.npy")!)
        XCTAssertEqual(Array(b[0..<8]), [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let headerLength = Int(b[8]) | Int(b[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0)
        let header = String(decoding: b[10..<(10 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"), header)
        XCTAssertTrue(header.hasSuffix("\n"))
        XCTAssertEqual(b[(10 + headerLength)...].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }, [1, 2, 3, 4, 5, 6])
        try NumPyFile.write([7], shape: [1], to: dir + "/b.npy")
        let one = [UInt8](FileManager.default.contents(atPath: dir + "/b.npy")!)
        XCTAssertTrue(String(decoding: one[10..<70], as: UTF8.self).contains("'shape': (1,)"))
    }
}
