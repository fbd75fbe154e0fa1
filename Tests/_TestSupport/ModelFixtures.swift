import AlexNetCore
import AlexNetLayers
import AlexNetParallel
import Foundation
import XCTest

/// The package root, found from this file's path: `<root>/Tests/_TestSupport/…`.
public let packageRoot: String = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

public func configPath(_ name: String) -> String { (packageRoot as NSString).appendingPathComponent("configs/\(name).yaml") }

/// A fresh directory under the system's temporary directory, removed by the test's teardown.
public func makeScratchDirectory(_ test: XCTestCase) throws -> String {
    let dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("alexnet-mp-tests-\(UUID().uuidString)")
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
public func tinySpec(groups: Int = 2, conv1Kernels: Int = 4, initScheme: InitScheme = .he, dropout: Double = 0.5) -> ModelSpec {
    ModelSpec(inputChannels: 1, inputHeight: 8, inputWidth: 8, classes: 4, groups: groups, initScheme: initScheme,
              layers: [
                LayerSpec(name: "conv1", kind: .conv, outputs: conv1Kernels, size: 3, pad: 1, sees: .all, lrn: true, pool: true),
                LayerSpec(name: "conv2", kind: .conv, outputs: 8, size: 3, pad: 1, sees: .own),
                LayerSpec(name: "conv3", kind: .conv, outputs: 8, size: 3, pad: 1, sees: .all),
                LayerSpec(name: "fc4", kind: .fc, outputs: 16, dropout: dropout),
                LayerSpec(name: "fc5", kind: .fc, outputs: 4, relu: false),
              ])
}

public let tinyParameterCount = 2012

/// The paper's net as `configs/alexnet.yaml` describes it (ConfigTests checks the two agree).
public func paperAlexNet(groups: Int = 2) -> ModelSpec {
    fiveConvThreeFC(input: (3, 227), classes: 1000, groups: groups, initScheme: .paper, kernels: [96, 256, 384, 384, 256],
                    sizes: [11, 5, 3, 3, 3], strides: [4, 1, 1, 1, 1], pads: [0, 2, 1, 1, 1], hidden: 4096)
}

/// The small two-group net of `configs/fashion-mnist.yaml` (ConfigTests checks the two agree).
public func fashionMNISTNet(groups: Int = 2) -> ModelSpec {
    fiveConvThreeFC(input: (1, 24), classes: 10, groups: groups, initScheme: .he, kernels: [64, 128, 192, 192, 128],
                    sizes: [5, 5, 3, 3, 3], strides: [1, 1, 1, 1, 1], pads: [2, 2, 1, 1, 1], hidden: 1024)
}

/// The paper's shape (figure 2): conv1 and conv2 with LRN and pooling, conv3 reading both groups,
/// conv5 pooled, two hidden FC layers with dropout, biases 1 in conv2, conv4, conv5, fc6, fc7.
func fiveConvThreeFC(input: (channels: Int, side: Int), classes: Int, groups: Int, initScheme: InitScheme, kernels: [Int],
                     sizes: [Int], strides: [Int], pads: [Int], hidden: Int) -> ModelSpec {
    let convs = (0..<5).map { i in
        LayerSpec(name: "conv\(i + 1)", kind: .conv, outputs: kernels[i], size: sizes[i], stride: strides[i], pad: pads[i],
                  sees: i == 0 || i == 2 ? .all : .own, lrn: i < 2, pool: i < 2 || i == 4, paperBias: [1, 3, 4].contains(i) ? 1 : 0)
    }
    let fcs = [LayerSpec(name: "fc6", kind: .fc, outputs: hidden, dropout: 0.5, paperBias: 1),
               LayerSpec(name: "fc7", kind: .fc, outputs: hidden, dropout: 0.5, paperBias: 1),
               LayerSpec(name: "fc8", kind: .fc, outputs: classes, relu: false)]
    return ModelSpec(inputChannels: input.channels, inputHeight: input.side, inputWidth: input.side, classes: classes, groups: groups,
                     initScheme: initScheme, layers: convs + fcs)
}

/// A network of `spec` holding every group on one in-process rank.
public func oneRankNetwork(_ spec: ModelSpec, batch: Int = 4, seed: UInt64 = 1) throws -> Network {
    try Network(spec: spec, batch: batch, placement: Placement(groups: spec.groups, ranks: 1, rank: 0),
                comm: LocalCommunicator(), seed: seed)
}

/// A communicator that only says where it is: enough to build one rank's network of a
/// multi-rank placement in this process (building calls no collective).
public final class PlacedCommunicator: Communicator {
    public let rank: Int, size: Int
    public init(rank: Int, size: Int) { self.rank = rank; self.size = size }
    public func allgatherInPlace(_ buffer: UnsafeMutablePointer<Float>, countPerRank: Int) throws { XCTFail("no collectives here") }
    public func makeReduceScatter(send: UnsafePointer<Float>, recv: UnsafeMutablePointer<Float>, countPerRank: Int,
                                  scratch: UnsafeMutablePointer<Float>?, tag: Int) -> ReduceScatter { NoReduceScatter() }
    public func anyRank(_ flag: Bool) throws -> Bool { flag }
    public func allgather(_ value: Double) throws -> [Double] { Array(repeating: value, count: size) }
    public func allreduceSum(_ values: inout [Double]) throws {}
    public func broadcast(_ bytes: inout [UInt8], root: Int) throws {}
    public func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]] { [bytes] }
    public func barrier() throws {}
    public func split(color: Int, key: Int) throws -> Communicator { PlacedCommunicator(rank: 0, size: 1) }
    public func abort(code: Int32) -> Never { fatalError("abort") }
}

/// `PlacedCommunicator`'s reduce-scatter: building a network makes one; running it is a mistake here.
final class NoReduceScatter: ReduceScatter {
    func start() throws -> PendingReduceScatter { XCTFail("no collectives here"); return PendingReduceScatter(self) }
    func finish() throws { XCTFail("no collectives here") }
}
