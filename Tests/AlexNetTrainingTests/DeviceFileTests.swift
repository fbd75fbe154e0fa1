import _TestSupport
import AlexNetSimulator
import AlexNetTraining
import Foundation
import XCTest

/// Device files (`simulate --device FILE`, what `calibrate` writes), checked as a config's
/// `device:` section is; and what a measured device predicts, by hand.
final class DeviceFileTests: XCTestCase {
    static let machine = MeasuredMachine(
        batch: 128, blasThreads: 1,
        layers: ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"].map {
            MeasuredMachine.Layer(name: $0, forwardGflops: 50, backwardDataGflops: 40, backwardWeightsGflops: 25,
                                  im2colSeconds: $0.hasPrefix("conv") ? 0.002 : 0, col2imSeconds: $0.hasPrefix("conv") ? 0.003 : 0)
        },
        streamGBs: 10, lrnForwardNs: 2, lrnBackwardNs: 4)

    func testAMeasuredDeviceRoundTripsThroughItsFile() throws {
        var d = DeviceProfile()
        d.name = "test machine"; d.measured = Self.machine
        let dir = try makeScratchDirectory(self)
        try (try RunConfig.deviceFile(d)).write(toFile: dir + "/d.yaml", atomically: true, encoding: .utf8)
        XCTAssertEqual(try RunConfig.loadDevice(dir + "/d.yaml"), d)
        try "name: GTX 580\npeak_tflops: 1.581\nlink_speed: 6\n".write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RunConfig.loadDevice(dir + "/bad.yaml")) {
            XCTAssertTrue("\($0)".hasPrefix("device \(dir)/bad.yaml: device.link_speed: unknown key"), "\($0)")
        }
        try "uncertainty: {conv_efficiency: [0.8, 0.3]}\n".write(toFile: dir + "/range.yaml", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RunConfig.loadDevice(dir + "/range.yaml")) {
            XCTAssertEqual("\($0)", "device \(dir)/range.yaml: device.uncertainty.conv_efficiency: low 0.8 is above high 0.3")
        }
        // A partial file takes the defaults for what it leaves out.
        try "name: a card\npeak_tflops: 5\n".write(toFile: dir + "/part.yaml", atomically: true, encoding: .utf8)
        let part = try RunConfig.loadDevice(dir + "/part.yaml")
        XCTAssertEqual(part.peakTFLOPs, 5); XCTAssertEqual(part.memoryBandwidthGBs, DeviceProfile().memoryBandwidthGBs)
    }

    /// conv2 of the paper's net on its own device (one group of 128 images): 2·MACs at each
    /// GEMM's measured rate, im2col twice (forward, weight gradient) and col2im once, the
    /// streaming passes at 10 GB/s, LRN at 2 and 4 ns per element.
    func testAMeasuredDevicePredictsEachLayerByHand() throws {
        var d = DeviceProfile()
        d.measured = Self.machine
        let sim = try simulate(paperAlexNet(), batch: 128, device: d, strategy: .paperSplit, devices: 2)
        let flops = 2.0 * 128 * (128 * 48 * 25) * 27 * 27   // one group: 128 kernels of 48×5×5 at 27×27
        let y = 128.0 * 27 * 27 * 128, pooled = 128.0 * 13 * 13 * 128
        let forward = flops / 50e9 + 0.002 + (8 * y + 8 * y + 4 * y + 8 * pooled) / 10e9 + 2e-9 * y
        let backward = flops / 25e9 + 0.002 + flops / 40e9 + 0.003 + (4 * y + 12 * y + 8 * y + 8 * pooled) / 10e9 + 4e-9 * y
        XCTAssertEqual(sim.layers[1].forwardSeconds, forward, accuracy: forward * 1e-9)
        XCTAssertEqual(sim.layers[1].backwardSeconds, backward, accuracy: backward * 1e-9)
        // conv1 has no input gradient: no col2im, no input-gradient GEMM.
        let f1 = 2.0 * 128 * (48 * 3 * 121) * 55 * 55
        let y1 = 128.0 * 55 * 55 * 48, p1 = 128.0 * 27 * 27 * 48
        XCTAssertEqual(sim.layers[0].backwardSeconds, f1 / 25e9 + 0.002 + (4 * y1 + 12 * y1 + 8 * y1 + 8 * p1) / 10e9 + 4e-9 * y1,
                       accuracy: 1e-9)
    }
}
