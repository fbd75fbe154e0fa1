import AlexNetCore
import AlexNetLayers
import AlexNetParallel
import Foundation
import XCTest

/// The package root, found from this file's path: `<root>/Tests/AlexNetTrainingTests/…`.
let packageRoot: String = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

func configPath(_ name: String) -> String { (packageRoot as NSString).appendingPathComponent("configs/\(name).yaml") }

/// A fresh directory under the system's temporary directory, removed by the test's teardown.
func makeScratchDirectory(_ test: XCTestCase) throws -> String {
    let dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("alexnet-training-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

/// A two-group model small enough to check by hand: input 1×8×8, 4 classes.
///
///     conv1  4 kernels 3×3 pad 1, LRN, pool 3/2   reads the image      8×8 → 3×3   2·(2·1·9 + 2)  =   40
///     conv2  8 kernels 3×3 pad 1                  reads its own group  3×3         2·(4·2·9 + 4)  =  152
///     conv3  8 kernels 3×3 pad 1                  reads all groups     3×3         2·(4·8·9 + 4)  =  584
///     fc4   16 outputs, dropout 0.5               reads 8·3·3 = 72                 2·(8·72 + 8)   = 1168
///     fc5    4 outputs, no ReLU (logits)          reads 16                         2·(2·16 + 2)   =   68
///                                                                                           total  2012
func tinySpec(groups: Int = 2, conv1Kernels: Int = 4, initScheme: InitScheme = .he, dropout: Double = 0.5) -> ModelSpec {
    ModelSpec(inputChannels: 1, inputHeight: 8, inputWidth: 8, classes: 4, groups: groups, initScheme: initScheme,
              layers: [
                LayerSpec(name: "conv1", kind: .conv, outputs: conv1Kernels, size: 3, pad: 1, sees: .all, lrn: true, pool: true),
                LayerSpec(name: "conv2", kind: .conv, outputs: 8, size: 3, pad: 1, sees: .own),
                LayerSpec(name: "conv3", kind: .conv, outputs: 8, size: 3, pad: 1, sees: .all),
                LayerSpec(name: "fc4", kind: .fc, outputs: 16, dropout: dropout),
                LayerSpec(name: "fc5", kind: .fc, outputs: 4, relu: false),
              ])
}

let tinyParameterCount = 2012

/// A network of `spec` holding every group on one in-process rank.
func oneRankNetwork(_ spec: ModelSpec, batch: Int = 4, seed: UInt64 = 1) throws -> Network {
    try Network(spec: spec, batch: batch, placement: Placement(groups: spec.groups, ranks: 1, rank: 0),
                comm: LocalCommunicator(), seed: seed)
}

/// A communicator that only says where it is: enough to build one rank's network of a
/// multi-rank placement in this process (building calls no collective).
final class PlacedCommunicator: Communicator {
    let rank: Int, size: Int
    init(rank: Int, size: Int) { self.rank = rank; self.size = size }
    func allgatherInPlace(_ buffer: UnsafeMutablePointer<Float>, countPerRank: Int) throws { XCTFail("no collectives here") }
    func startReduceScatterSum(send: UnsafePointer<Float>, recv: UnsafeMutablePointer<Float>, countPerRank: Int,
                               scratch: UnsafeMutablePointer<Float>?) throws { XCTFail("no collectives here") }
    func finishReduceScatterSum() throws { XCTFail("no collectives here") }
    func allreduceSum(_ values: inout [Double]) throws {}
    func broadcast(_ bytes: inout [UInt8], root: Int) throws {}
    func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]] { [bytes] }
    func barrier() throws {}
    func abort(code: Int32) -> Never { fatalError("abort") }
}
