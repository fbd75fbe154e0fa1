import _TestSupport
import AlexNetCore
import AlexNetLayers
import AlexNetParallel
@testable import AlexNetSimulator
import XCTest

final class SimulatorTests: XCTestCase {
    /// The memory the simulator models for a device is what a rank really allocates for it: every
    /// buffer of the network is in its one arena (no tensor of its own), the arena holds the
    /// rank's buffer plan (plus page alignment), and the simulator counts that same plan.
    func testModelledMemoryIsWhatTheNetworkAllocates() throws {
        let spec = fashionMNISTNet()
        for (ranks, strategy) in [(1, Strategy.oneDevice), (2, Strategy.paperSplit)] {
            let tensorsBefore = Tensor.liveBytes, arenasBefore = Arena.liveBytes
            let placement = try Placement(groups: 2, ranks: ranks, rank: 0)
            let comm: Communicator = ranks == 1 ? LocalCommunicator() : PlacedCommunicator(rank: 0, size: 2)
            let network = try Network(spec: spec, batch: 128, placement: placement, comm: comm, seed: 1)
            XCTAssertEqual(Tensor.liveBytes, tensorsBefore, "\(strategy): the network allocated tensors outside its arena")
            let arena = Arena.liveBytes - arenasBefore, planned = network.buffers.bytes
            let owned = network.buffers.buffers.filter { $0.view == nil }.count
            XCTAssertGreaterThanOrEqual(arena, planned)
            XCTAssertLessThanOrEqual(arena, planned + 4096 * owned, "\(strategy): more than page alignment beyond the plan")
            let modelled = try simulate(spec, batch: 128, device: DeviceProfile(), strategy: strategy)
            XCTAssertEqual(modelled.memoryBytes, planned, "\(strategy): modelled \(modelled.memoryBytes) B, planned \(planned) B")
            // Counted by hand for one group's conv1 (5×5, 32 kernels, 24×24 → pooled 11×11 at batch
            // 128): y, dy, LRN output, its gradient and scale; the pooled output and its gradient and
            // the pooling winners; weights, biases, their gradients and momenta.
            let y = 32 * 128 * 24 * 24, pooled = 32 * 128 * 11 * 11, params = 32 * 25 + 32
            XCTAssertEqual(network.buffers.bytes(layer: 0), 4 * placement.groupsPerRank * (5 * y + 3 * pooled + 3 * params))
            withExtendedLifetime(network) {}
        }
    }

    /// Bytes per device per step of the paper's split, by hand for the paper's AlexNet at batch 128:
    /// conv3 reads 128 maps of 13×13 per group, fc6 128 of 6×6, fc7 and fc8 2048 neurons; each
    /// moves once forward and once backward; the logits are 500 classes per device.
    func testTransfersOfThePaperSplitByHand() throws {
        let spec = paperAlexNet()
        let sim = try simulate(spec, batch: 128, device: DeviceProfile(), strategy: .paperSplit)
        let byLayer = Dictionary(uniqueKeysWithValues: sim.layers.map { ($0.name, $0.transferBytes) })
        XCTAssertEqual(byLayer["conv1"], 0)
        XCTAssertEqual(byLayer["conv2"], 0)
        XCTAssertEqual(byLayer["conv3"], 2 * 128 * 13 * 13 * 128 * 4)
        XCTAssertEqual(byLayer["conv4"], 0)
        XCTAssertEqual(byLayer["fc6"], 2 * 128 * 6 * 6 * 128 * 4)
        XCTAssertEqual(byLayer["fc7"], 2 * 2048 * 128 * 4)
        XCTAssertEqual(byLayer["fc8"], 2 * 2048 * 128 * 4 + 500 * 128 * 4)
        // Data parallelism moves every gradient: a ring all-reduce over 2 devices sends 2·(1/2) of them.
        let dp = try simulate(spec, batch: 128, device: DeviceProfile(), strategy: .dataParallel)
        XCTAssertEqual(dp.transferBytes, 60_965_224 * 4)
        XCTAssertLessThan(sim.transferBytes * 5, dp.transferBytes, "the paper's split moves far fewer bytes")
    }

    /// Compute time is FLOPs over the achievable rate: conv1 forward of one group, by hand.
    func testComputeTimeFollowsTheDevice() throws {
        let spec = paperAlexNet()
        var d = DeviceProfile()
        d.memoryEfficiency = 1
        let sim = try simulate(spec, batch: 128, device: d, strategy: .paperSplit)
        let conv1 = sim.layers[0]
        let gemm = 2.0 * 48 * 363 * 55 * 55 * 128 / (1.581e12 * 0.70)
        XCTAssertGreaterThan(conv1.forwardSeconds, gemm)
        XCTAssertLessThan(conv1.forwardSeconds, gemm + conv1.memoryBoundSeconds + 1e-12)
        d.convEfficiency = 0.35
        let slower = try simulate(spec, batch: 128, device: d, strategy: .paperSplit)
        XCTAssertEqual(slower.layers[0].forwardSeconds - conv1.forwardSeconds, gemm, accuracy: gemm * 1e-9)
    }

    /// A device too small is refused with the figure and the layer that tips it over.
    func testTooLittleMemoryIsRefusedNamingTheLayer() throws {
        var device = DeviceProfile()
        XCTAssertNoThrow(try checkDeviceMemory(paperAlexNet(), batch: 128, device: device, devices: 2))
        device.memoryGiB = 0.6   // 614 MiB: input, logits and workspace 82 + conv1 406 fit; conv2 (240) does not
        XCTAssertThrowsError(try checkDeviceMemory(paperAlexNet(), batch: 128, device: device, devices: 2)) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("runs out at layer conv2"), text)
            XCTAssertTrue(text.contains("1276 MiB per device"), text)
        }
    }

    func testSimulateReportComparesWithThePaper() throws {
        let text = try simulationReport(paperAlexNet(), name: "alexnet", batch: 128, device: DeviceProfile(), epochs: 90,
                                        images: 1_200_000, placementDevices: 2)
        XCTAssertTrue(text.contains("the paper: five to six days on two GTX 580 3 GB"), text)
        XCTAssertTrue(text.contains("843750 steps"), text)
        XCTAssertTrue(text.contains("the assumption that moves it most: conv_efficiency"), text)
        for s in Strategy.allCases { XCTAssertTrue(text.contains(s.rawValue), "missing alternative \(s)") }
    }
}
