import AlexNetCore
import AlexNetLayers
import AlexNetParallel
import Foundation

/// A device and its link, for `simulate` and the memory check (config section `device:`).
/// The defaults are a GeForce GTX 580 3 GB and the PCIe 2.0 ×16 link between two of them;
/// docs/SIMULATOR.md gives the source of every figure.
public struct DeviceProfile: Codable, Equatable, Sendable {
    public var name = "GeForce GTX 580 3 GB"
    /// Device memory, GiB (3 GB cards: 3072 MiB).
    public var memoryGiB = 3.0
    /// Peak single-precision rate: 512 cores × 2 FLOP (FMA) × 1.544 GHz.
    public var peakTFLOPs = 1.581
    /// DRAM bandwidth, GB/s.
    public var memoryBandwidthGBs = 192.4
    /// Fraction of peak the convolution kernels reach. Not measured on a GTX 580: cuda-convnet's
    /// layer-wise efficiency on the GPUs it was measured on (convnet-benchmarks L1–L5, forward and
    /// backward: Titan Black 0.163, Titan X 0.415), their mean (docs/SIMULATOR.md, "Validation").
    public var convEfficiency = 0.29
    /// Fraction of peak the matrix (FC) kernels reach: CUBLAS 4.1 SGEMM on the GTX 580.
    public var matrixEfficiency = 0.70
    /// Fraction of DRAM bandwidth the memory-bound layers reach: measured on a K40 (device-to-device
    /// copy 202.7 of 288 GB/s), assumed here.
    public var memoryEfficiency = 0.70
    /// Link between two devices, GB/s per direction: PCIe 2.0 ×16 in practice (8 in theory).
    public var linkBandwidthGBs = 6.0
    /// Latency of one transfer over the link, microseconds (assumption: a peer copy's overhead).
    public var linkLatencyMicroseconds = 10.0
    /// The low and high plausible values of the assumed figures (docs/SIMULATOR.md gives the
    /// evidence for each): `simulate` prints the range its prediction spans over them.
    public var uncertainty = DeviceUncertainty()
    /// This machine's figures, measured by `calibrate`: when present, the simulator takes each
    /// layer's time from them instead of peak × efficiency (see `MeasuredMachine`).
    public var measured: MeasuredMachine?

    enum CodingKeys: String, CodingKey {
        case name, memoryGiB = "memory_gib", peakTFLOPs = "peak_tflops", memoryBandwidthGBs = "memory_bandwidth_gbs",
             convEfficiency = "conv_efficiency", matrixEfficiency = "matrix_efficiency", memoryEfficiency = "memory_efficiency",
             linkBandwidthGBs = "link_bandwidth_gbs", linkLatencyMicroseconds = "link_latency_us", uncertainty, measured
    }

    public init() {}
    public func validate() throws {
        guard !name.isEmpty, !name.contains(where: \.isNewline) else { throw ConfigError("device.name: must be one line of text") }
        try checkRange("device.memory_gib", memoryGiB, above: 0, atMost: 1e6)
        try checkRange("device.peak_tflops", peakTFLOPs, above: 0, atMost: 1e6)
        try checkRange("device.memory_bandwidth_gbs", memoryBandwidthGBs, above: 0, atMost: 1e6)
        try checkRange("device.link_bandwidth_gbs", linkBandwidthGBs, above: 0, atMost: 1e6)
        for (k, v) in [("conv_efficiency", convEfficiency), ("matrix_efficiency", matrixEfficiency), ("memory_efficiency", memoryEfficiency)] {
            try checkRange("device.\(k)", v, above: 0, atMost: 1)
        }
        try checkRange("device.link_latency_us", linkLatencyMicroseconds, from: 0, atMost: 1e6)
        try measured?.validate()
        try uncertainty.validate()
    }

    public var memoryBytes: Double { memoryGiB * 1_073_741_824 }
}

/// `device.uncertainty`: each assumed figure's low and high plausible value, `[low, high]`.
/// Defaults, the GTX 580's (configs/devices/gtx580.yaml; docs/SIMULATOR.md gives the evidence):
/// conv kernels as cuda-convnet was measured on Kepler and Maxwell, 0.16–0.42 of peak; SGEMM from
/// small matrices to the assembly bound on Fermi, 0.50–0.74; memory-bound passes 0.50–0.80 of the
/// DRAM bandwidth; a peer copy's overhead 5–20 µs.
public struct DeviceUncertainty: Codable, Equatable, Sendable {
    public var convEfficiency = [0.16, 0.42]
    public var matrixEfficiency = [0.5, 0.74]
    public var memoryEfficiency = [0.5, 0.8]
    public var linkLatencyMicroseconds = [5.0, 20.0]

    enum CodingKeys: String, CodingKey {
        case convEfficiency = "conv_efficiency", matrixEfficiency = "matrix_efficiency", memoryEfficiency = "memory_efficiency"
        case linkLatencyMicroseconds = "link_latency_us"
    }
    public init() {}

    /// Each figure's key path on the device, and its range.
    public var ranges: [(key: String, path: WritableKeyPath<DeviceProfile, Double>, low: Double, high: Double)] {
        [("conv_efficiency", \.convEfficiency, convEfficiency[0], convEfficiency[1]),
         ("matrix_efficiency", \.matrixEfficiency, matrixEfficiency[0], matrixEfficiency[1]),
         ("memory_efficiency", \.memoryEfficiency, memoryEfficiency[0], memoryEfficiency[1]),
         ("link_latency_us", \.linkLatencyMicroseconds, linkLatencyMicroseconds[0], linkLatencyMicroseconds[1])]
    }

    func validate() throws {
        for (key, values, top) in [("conv_efficiency", convEfficiency, 1.0), ("matrix_efficiency", matrixEfficiency, 1.0),
                                   ("memory_efficiency", memoryEfficiency, 1.0), ("link_latency_us", linkLatencyMicroseconds, 1e6)] {
            guard values.count == 2 else { throw ConfigError("device.uncertainty.\(key): give [low, high], got \(values.count) number\(values.count == 1 ? "" : "s")") }
            for (which, v) in [("low", values[0]), ("high", values[1])] {
                if key == "link_latency_us" { try checkRange("device.uncertainty.\(key) (\(which))", v, from: 0, atMost: top) }
                else { try checkRange("device.uncertainty.\(key) (\(which))", v, above: 0, atMost: top) }
            }
            guard values[0] <= values[1] else { throw ConfigError("device.uncertainty.\(key): low \(values[0]) is above high \(values[1])") }
        }
    }
}

