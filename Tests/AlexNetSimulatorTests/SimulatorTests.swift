import _TestSupport
import AlexNetCore
import AlexNetLayers
import AlexNetParallel
@testable import AlexNetSimulator
import XCTest

final class SimulatorTests: XCTestCase {
    /// The memory the simulator models for a device is what a rank really allocates for it: every
    /// buffer of the network is in its one arena (no tensor of its own), the arena holds the
    /// rank's buffer plan (plus page alignment), and the simulator counts that same plan. A
    /// modelled device convolves by im2col (its workspace is im2col's); this CPU's oneDNN path
    /// needs a larger workspace, and only that.
    func testModelledMemoryIsWhatTheNetworkAllocates() throws {
        let spec = fashionMNISTNet()
        for (ranks, strategy) in [(1, Strategy.oneDevice), (2, Strategy.paperSplit)] {
            let tensorsBefore = Tensor.liveBytes, arenasBefore = Arena.liveBytes
            let placement = try Placement(groups: 2, ranks: ranks, rank: 0)
            let comm: Communicator = ranks == 1 ? LocalCommunicator() : PlacedCommunicator(rank: 0, size: 2)
            let network = try Network(spec: spec, batch: 128, placement: placement, comm: comm, seed: 1, convolutions: .im2col)
            let arena = Arena.liveBytes - arenasBefore, planned = network.buffers.bytes
            let direct = try Network(spec: spec, batch: 128, placement: placement, comm: comm, seed: 1, convolutions: .auto)
            let workspace = { (n: Network) in
                n.buffers.buffers.filter { if case .workspace = $0.key.role { return true }; return false }.reduce(0) { $0 + 4 * $1.count }
            }
            XCTAssertEqual(direct.buffers.bytes - workspace(direct), network.buffers.bytes - workspace(network),
                           "\(strategy): oneDNN changes only the workspaces")
            let conv2 = ConvGeometry(channels: 32, height: 11, width: 11, batch: 128, kernel: 5, stride: 1, pad: 2)
            if Convolution(name: "probe", geometry: conv2, outChannels: 64, algorithm: .auto).direct != nil {
                XCTAssertGreaterThan(workspace(direct), workspace(network))
            }
            XCTAssertEqual(Tensor.liveBytes, tensorsBefore, "\(strategy): the network allocated tensors outside its arena")
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
            withExtendedLifetime((network, direct)) {}
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
        d.memoryEfficiency = 1; d.convEfficiency = 0.70
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
                                        images: 1_200_000, placement: Placement(groups: 2, ranks: 2, rank: 0))
        XCTAssertTrue(text.contains("the paper: five to six days on two GTX 580 3 GB"), text)
        XCTAssertTrue(text.contains("843750 steps"), text)
        XCTAssertTrue(text.contains("the assumption that moves it most: conv_efficiency"), text)
        for s in Strategy.allCases where s != .groupsTimesReplicas { XCTAssertTrue(text.contains(s.rawValue), "missing alternative \(s)") }
    }

    /// Bytes per device per step beyond two devices, by hand for the paper's AlexNet (60,965,224
    /// parameters, 2,334,080 of them in the convolutions; 30,482,612 per group).
    func testTransfersOnMoreDevicesByHand() throws {
        let spec = paperAlexNet(), d = DeviceProfile()
        // Groups × replicas, 4 devices, 128 images per replica: the paper's split's exchanges at
        // 128 images (conv3, fc6, fc7, fc8 both ways, the logits), plus each group's gradients
        // summed over 2 replicas (a ring of 2 moves half of them each way: all of them once).
        let exchanges = 2 * 4 * 128 * (128 * 13 * 13 + 128 * 6 * 6 + 2048 + 2048) + 500 * 128 * 4
        XCTAssertEqual(exchanges, 31_320_064)
        let gxr = try simulate(spec, batch: 256, device: d, strategy: .groupsTimesReplicas, devices: 4)
        XCTAssertEqual(gxr.transferBytes, exchanges + 30_482_612 * 4)
        // Data parallel on 4: a ring all-reduce moves 2·3/4 of every gradient through a device.
        let dp = try simulate(spec, batch: 512, device: d, strategy: .dataParallel, devices: 4)
        XCTAssertEqual(dp.transferBytes, 60_965_224 * 4 * 3 / 2)
        // Model parallel on 4: each group's kernels cut in two, so conv2 (which reads its own
        // group) needs the other half of its group's conv1 maps (48 of 27×27 per group): a device
        // holds 24 of them for 128 images, and sends them to 1 peer, forward and backward.
        let mp = try simulate(spec, batch: 128, device: d, strategy: .paperSplit, devices: 4)
        XCTAssertEqual(mp.layers[1].transferBytes, 2 * 24 * 27 * 27 * 128 * 4)
        // conv3 reads all four devices' conv2 maps (64 of 256 each), sends them to 3 peers.
        XCTAssertEqual(mp.layers[2].transferBytes, 2 * 3 * 64 * 13 * 13 * 128 * 4)
        // The 2014 hybrid on 4, 128 images per device: fc6 gathers every device's 128 images of
        // conv5 maps (9216 each) from 3 peers; the convolutions' gradients are all-reduced.
        let hybrid = try simulate(spec, batch: 512, device: d, strategy: .hybrid, devices: 4)
        XCTAssertEqual(hybrid.layers[5].transferBytes, 2 * 3 * 128 * 9216 * 4)
        let convGradients = hybrid.layers.prefix(5).reduce(0) { $0 + $1.transferBytes }
        XCTAssertEqual(convGradients, 2_334_080 * 4 * 3 / 2)
    }

    /// A gradient sum's time, by hand: fc6's 37,752,832 gradients over 2 devices (data parallel)
    /// are a reduce-scatter and an all-gather of half of them each (latency + bytes over the link,
    /// twice), plus adding the received half into the device's own (read two, write one, at the
    /// memory bandwidth the device achieves). fc6 has no exchange in data parallelism.
    func testAGradientSumCostsItsTransfersAndItsAddition() throws {
        let spec = paperAlexNet(), d = DeviceProfile()
        let dp = try simulate(spec, batch: 256, device: d, strategy: .dataParallel, devices: 2)
        let block = Double((9216 * 4096 + 4096) * 4) / 2
        let link = 2 * (d.linkLatencyMicroseconds * 1e-6 + block / (d.linkBandwidthGBs * 1e9))
        let add = 3 * block / (d.memoryBandwidthGBs * 1e9 * d.memoryEfficiency)
        XCTAssertEqual(dp.layers[5].name, "fc6")
        XCTAssertEqual(dp.layers[5].transferSeconds, link + add, accuracy: 1e-9)
        // The paper's split sums no gradients: fc6's time is its exchange alone.
        let split = try simulate(spec, batch: 128, device: d, strategy: .paperSplit, devices: 2)
        let exchange = 64 * 9216 * 4.0   // fc6's input: this device's half of 128 images' conv5 maps, to the other
        XCTAssertEqual(split.layers[5].transferSeconds, 2 * (d.linkLatencyMicroseconds * 1e-6 + exchange / (d.linkBandwidthGBs * 1e9)), accuracy: 1e-9)
    }

    /// The scaling table: every strategy is one device at 1, the speed-ups fall below the device
    /// count, and the paper's split is the cheapest in bytes on 2 devices.
    func testScalingTable() throws {
        let rows = try scalingTable(paperAlexNet(), perReplica: 128, device: DeviceProfile())
        XCTAssertEqual(Set(rows.filter { $0.devices == 1 }.map(\.imagesPerSecond)).count, 1)
        for r in rows where r.devices > 1 {
            XCTAssertLessThan(r.speedup, Double(r.devices), "\(r.strategy) on \(r.devices)")
            XCTAssertGreaterThan(r.speedup, 1, "\(r.strategy) on \(r.devices)")
        }
        let two = rows.filter { $0.devices == 2 && $0.strategy != .groupsTimesReplicas }
        XCTAssertEqual(two.min(by: { $0.bytesPerDevice < $1.bytesPerDevice })?.strategy, .hybrid)
        XCTAssertEqual(rows.first { $0.devices == 2 && $0.strategy == .dataParallel }?.bytesPerDevice, 60_965_224 * 4)
    }

    /// A placement's strategy: replicas in turn cost one minibatch on the group's devices.
    func testPlacementsMapToStrategies() throws {
        XCTAssertTrue(modelledStrategy(try Placement(groups: 2, replicas: 2, ranks: 1, rank: 0)) == (.oneDevice, 1))
        XCTAssertTrue(modelledStrategy(try Placement(groups: 2, replicas: 2, ranks: 2, rank: 0)) == (.paperSplit, 2))
        XCTAssertTrue(modelledStrategy(try Placement(groups: 2, replicas: 2, ranks: 2, rank: 0, ranksPerReplica: 1)) == (.dataParallel, 2))
        XCTAssertTrue(modelledStrategy(try Placement(groups: 2, replicas: 2, ranks: 4, rank: 0)) == (.groupsTimesReplicas, 4))
        XCTAssertTrue(modelledStrategy(try Placement(groups: 1, replicas: 2, ranks: 2, rank: 0)) == (.dataParallel, 2))
    }
}
