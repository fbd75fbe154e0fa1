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

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, memoryGiB = "memory_gib", peakTFLOPs = "peak_tflops", memoryBandwidthGBs = "memory_bandwidth_gbs",
             convEfficiency = "conv_efficiency", matrixEfficiency = "matrix_efficiency", memoryEfficiency = "memory_efficiency",
             linkBandwidthGBs = "link_bandwidth_gbs", linkLatencyMicroseconds = "link_latency_us"
    }

    public init() {}
    public init(from decoder: Decoder) throws {
        let c = try strictContainer(decoder, CodingKeys.self)
        let d = DeviceProfile()
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? d.name
        memoryGiB = try c.decodeIfPresent(Double.self, forKey: .memoryGiB) ?? d.memoryGiB
        peakTFLOPs = try c.decodeIfPresent(Double.self, forKey: .peakTFLOPs) ?? d.peakTFLOPs
        memoryBandwidthGBs = try c.decodeIfPresent(Double.self, forKey: .memoryBandwidthGBs) ?? d.memoryBandwidthGBs
        convEfficiency = try c.decodeIfPresent(Double.self, forKey: .convEfficiency) ?? d.convEfficiency
        matrixEfficiency = try c.decodeIfPresent(Double.self, forKey: .matrixEfficiency) ?? d.matrixEfficiency
        memoryEfficiency = try c.decodeIfPresent(Double.self, forKey: .memoryEfficiency) ?? d.memoryEfficiency
        linkBandwidthGBs = try c.decodeIfPresent(Double.self, forKey: .linkBandwidthGBs) ?? d.linkBandwidthGBs
        linkLatencyMicroseconds = try c.decodeIfPresent(Double.self, forKey: .linkLatencyMicroseconds) ?? d.linkLatencyMicroseconds
    }

    public func validate() throws {
        for (k, v) in [("memory_gib", memoryGiB), ("peak_tflops", peakTFLOPs), ("memory_bandwidth_gbs", memoryBandwidthGBs),
                       ("link_bandwidth_gbs", linkBandwidthGBs)] where !(v > 0 && v.isFinite) {
            throw ConfigError("device.\(k): must be positive, got \(v)")
        }
        for (k, v) in [("conv_efficiency", convEfficiency), ("matrix_efficiency", matrixEfficiency), ("memory_efficiency", memoryEfficiency)]
            where !(v > 0 && v <= 1) {
            throw ConfigError("device.\(k): must be in (0, 1], got \(v)")
        }
        guard linkLatencyMicroseconds >= 0 else { throw ConfigError("device.link_latency_us: must not be negative") }
    }

    public var memoryBytes: Double { memoryGiB * 1_073_741_824 }
}
