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
    /// Fraction of peak the convolution kernels reach (assumption: SGEMM's, see docs).
    public var convEfficiency = 0.70
    /// Fraction of peak the matrix (FC) kernels reach: CUBLAS 4.1 SGEMM on the GTX 580.
    public var matrixEfficiency = 0.70
    /// Fraction of DRAM bandwidth the memory-bound layers reach (assumption).
    public var memoryEfficiency = 0.75
    /// Link between two devices, GB/s per direction: PCIe 2.0 ×16 in practice (8 in theory).
    public var linkBandwidthGBs = 6.0
    /// Latency of one transfer over the link, microseconds (assumption: a peer copy's overhead).
    public var linkLatencyMicroseconds = 10.0

    enum CodingKeys: String, CodingKey {
        case name, memoryGiB = "memory_gib", peakTFLOPs = "peak_tflops", memoryBandwidthGBs = "memory_bandwidth_gbs",
             convEfficiency = "conv_efficiency", matrixEfficiency = "matrix_efficiency", memoryEfficiency = "memory_efficiency",
             linkBandwidthGBs = "link_bandwidth_gbs", linkLatencyMicroseconds = "link_latency_us"
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
    }

    public var memoryBytes: Double { memoryGiB * 1_073_741_824 }
}
