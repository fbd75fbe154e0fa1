import AlexNetCore
import AlexNetLayers
import AlexNetParallel
import Foundation

/// The machine this runs on, measured by microbenchmarks of the primitives a step is made of,
/// never by running the model: per layer of a model, sgemm at the layer's three GEMM shapes
/// (forward, input gradient, weight gradient) and im2col / col2im at its shape, or, for a
/// convolution that oneDNN runs, each of its three passes timed alone; the bandwidth
/// of a streaming pass (what ReLU, bias, dropout, pooling and the update are); LRN per element
/// (a power per element: not a streaming pass); and, on several ranks, the link's latency and
/// bandwidth from `MPI_Allgather` at several sizes. `simulate` uses it in place of a device's
/// peak × efficiency (`DeviceProfile.measured`); `calibrate` writes it.
public struct MeasuredMachine: Codable, Equatable, Sendable {
    public struct Layer: Codable, Equatable, Sendable {
        public var name: String
        /// GFLOP/s of the forward GEMM, the input-gradient GEMM and the weight-gradient GEMM (of the
        /// whole pass, lowering included, where oneDNN runs the layer).
        public var forwardGflops: Double, backwardDataGflops: Double, backwardWeightsGflops: Double
        /// Seconds of im2col and of col2im over the whole minibatch of one group (0 for FC layers).
        public var im2colSeconds: Double, col2imSeconds: Double

        public init(name: String, forwardGflops: Double, backwardDataGflops: Double, backwardWeightsGflops: Double,
                    im2colSeconds: Double, col2imSeconds: Double) {
            self.name = name; self.forwardGflops = forwardGflops; self.backwardDataGflops = backwardDataGflops
            self.backwardWeightsGflops = backwardWeightsGflops; self.im2colSeconds = im2colSeconds; self.col2imSeconds = col2imSeconds
        }

        enum CodingKeys: String, CodingKey {
            case name, forwardGflops = "forward_gflops", backwardDataGflops = "backward_data_gflops"
            case backwardWeightsGflops = "backward_weights_gflops", im2colSeconds = "im2col_s", col2imSeconds = "col2im_s"
        }
    }
    /// The images per group the layers were measured at.
    public var batch: Int
    /// BLAS threads of each group, as the run on this placement uses them.
    public var blasThreads: Int
    public var layers: [Layer]
    /// A pass that reads and writes memory: bytes moved per second, GB/s.
    public var streamGBs: Double
    /// LRN, ns per element, forward and backward.
    public var lrnForwardNs: Double, lrnBackwardNs: Double
    /// The link between the ranks (nil on one rank: nothing crosses).
    public var linkLatencyMicroseconds: Double?, linkBandwidthGBs: Double?

    public init(batch: Int, blasThreads: Int, layers: [Layer], streamGBs: Double, lrnForwardNs: Double, lrnBackwardNs: Double,
                linkLatencyMicroseconds: Double? = nil, linkBandwidthGBs: Double? = nil) {
        self.batch = batch; self.blasThreads = blasThreads; self.layers = layers; self.streamGBs = streamGBs
        self.lrnForwardNs = lrnForwardNs; self.lrnBackwardNs = lrnBackwardNs
        self.linkLatencyMicroseconds = linkLatencyMicroseconds; self.linkBandwidthGBs = linkBandwidthGBs
    }

    enum CodingKeys: String, CodingKey {
        case batch, blasThreads = "blas_threads", layers, streamGBs = "stream_gbs", lrnForwardNs = "lrn_forward_ns"
        case lrnBackwardNs = "lrn_backward_ns", linkLatencyMicroseconds = "link_latency_us", linkBandwidthGBs = "link_bandwidth_gbs"
    }

    public func layer(_ name: String) -> Layer? { layers.first { $0.name == name } }

    func validate() throws {
        try checkRange("device.measured.batch", batch, 1...(1 << 20))
        for l in layers {
            for (k, v) in [("forward_gflops", l.forwardGflops), ("backward_data_gflops", l.backwardDataGflops),
                           ("backward_weights_gflops", l.backwardWeightsGflops)] {
                try checkRange("device.measured.layers.\(l.name).\(k)", v, above: 0, atMost: 1e7)
            }
            try checkRange("device.measured.layers.\(l.name).im2col_s", l.im2colSeconds, from: 0, atMost: 1e6)
            try checkRange("device.measured.layers.\(l.name).col2im_s", l.col2imSeconds, from: 0, atMost: 1e6)
        }
        try checkRange("device.measured.stream_gbs", streamGBs, above: 0, atMost: 1e6)
        try checkRange("device.measured.lrn_forward_ns", lrnForwardNs, from: 0, atMost: 1e6)
        try checkRange("device.measured.lrn_backward_ns", lrnBackwardNs, from: 0, atMost: 1e6)
        if let v = linkLatencyMicroseconds { try checkRange("device.measured.link_latency_us", v, from: 0, atMost: 1e7) }
        if let v = linkBandwidthGBs { try checkRange("device.measured.link_bandwidth_gbs", v, above: 0, atMost: 1e6) }
    }
}

public enum Calibration {
    /// Median of `repeats` timings of `body` after one untimed call.
    static func time(_ repeats: Int = 5, _ body: () -> Void) -> Double {
        body()
        var t: [Double] = []
        for _ in 0..<repeats { let s = now(); body(); t.append(now() - s) }
        return t.sorted()[t.count / 2]
    }

    /// Measures this machine for `spec`'s layers, one group at `batch` images with the BLAS
    /// threads already set; with `comm` of several ranks, also the link between them.
    public static func measure(_ spec: ModelSpec, batch N: Int, comm: Communicator? = nil) throws -> MeasuredMachine {
        let plans = try spec.plan()
        var layers: [MeasuredMachine.Layer] = []
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            for i in 0..<max(n, 1) { p[i] = Float(i % 13) * 0.01 }
            return p
        }
        for p in plans {
            if p.isConv {
                let g = ConvGeometry(channels: p.inChannels, height: p.inHeight, width: p.inWidth, batch: N,
                                     kernel: p.spec.size, stride: p.spec.stride, pad: p.spec.pad)
                // Where oneDNN runs the layer (no column matrix), each pass is timed whole, as the
                // network runs it: the layer's rates then include everything, and im2col/col2im are 0.
                let conv = Convolution(name: p.spec.name, geometry: g, outChannels: p.outChannels, inputGradient: p.index > 0)
                if conv.direct != nil {
                    let x = buffer(g.channels * N * g.height * g.width), dx = buffer(g.channels * N * g.height * g.width)
                    let y = buffer(p.outChannels * N * g.outPlane), ws = buffer(conv.workspaceNeeded)
                    defer { for b in [x, dx, y, ws] { b.deallocate() } }
                    let flops = 2 * Double(p.outChannels * N * g.outPlane * g.colRows)
                    let fwd = time(3) { conv.forward(x: x, y: y, workspace: ws) }
                    let data = p.index > 0 ? time(3) { conv.backwardData(dy: y, dx: dx, workspace: ws) } : fwd
                    let weights = time(3) { conv.backwardWeights(x: x, dy: y, workspace: ws) }
                    layers.append(.init(name: p.spec.name, forwardGflops: flops / fwd / 1e9, backwardDataGflops: flops / data / 1e9,
                                        backwardWeightsGflops: flops / weights / 1e9, im2colSeconds: 0, col2imSeconds: 0))
                    continue
                }
                let rows = Convolution.chunkRows(for: g), cols = rows * g.outWidth, K = p.outChannels
                let w = buffer(K * g.colRows), col = buffer(g.colRows * cols), y = buffer(K * cols), dw = buffer(K * g.colRows)
                let x = buffer(g.channels * N * g.height * g.width)
                defer { for b in [w, col, y, dw, x] { b.deallocate() } }
                let flops = 2 * Double(K * cols * g.colRows)
                let fwd = time { gemm(m: K, n: cols, k: g.colRows, a: w, b: col, c: y) }
                let data = time { gemm(transA: true, m: g.colRows, n: cols, k: K, a: w, b: y, c: col) }
                let weights = time { gemm(transB: true, m: K, n: g.colRows, k: cols, a: y, b: col, beta: 1, c: dw) }
                let chunks = (g.outRows + rows - 1) / rows
                let i2c = time(3) { for c in 0..<chunks { im2col(g, input: x, r0: c * rows, rows: min(rows, g.outRows - c * rows), col: col) } }
                let c2i = time(3) { for c in 0..<chunks { col2im(g, col: col, r0: c * rows, rows: min(rows, g.outRows - c * rows), input: x) } }
                layers.append(.init(name: p.spec.name, forwardGflops: flops / fwd / 1e9, backwardDataGflops: flops / data / 1e9,
                                    backwardWeightsGflops: flops / weights / 1e9, im2colSeconds: i2c, col2imSeconds: c2i))
            } else {
                let F = p.outChannels, I = p.fanIn
                let w = buffer(F * I), x = buffer(I * N), y = buffer(F * N), dw = buffer(F * I)
                defer { for b in [w, x, y, dw] { b.deallocate() } }
                let flops = 2 * Double(F * I * N)
                let fwd = time { gemm(m: F, n: N, k: I, a: w, b: x, c: y) }
                let data = time { gemm(transA: true, m: I, n: N, k: F, a: w, b: y, c: x) }
                let weights = time { gemm(transB: true, m: F, n: I, k: N, a: y, b: x, c: dw) }
                layers.append(.init(name: p.spec.name, forwardGflops: flops / fwd / 1e9, backwardDataGflops: flops / data / 1e9,
                                    backwardWeightsGflops: flops / weights / 1e9, im2colSeconds: 0, col2imSeconds: 0))
            }
        }
        // A streaming pass over 64 MiB (more than any cache), read and written: 8 bytes per element
        // (memcpy, so that the figure is the memory's, not this loop's code).
        let n = 1 << 24
        let a = buffer(n), b = buffer(n)
        defer { a.deallocate(); b.deallocate() }
        let stream = time(3) { memcpy(b, a, 4 * n) }
        // LRN at the first layer's shape that has it (else conv1's), per element.
        let lrnPlan = plans.first { $0.spec.lrn } ?? plans[0]
        let C = lrnPlan.outChannels, M = min(N * lrnPlan.outHeight * lrnPlan.outWidth, max(1, n / max(C, 1)))
        let la = buffer(C * M), lb = buffer(C * M), ls = buffer(C * M), ld = buffer(C * M), lda = buffer(C * M)
        defer { for x in [la, lb, ls, ld, lda] { x.deallocate() } }
        let lrnF = time(3) { LocalResponseNorm.forward(spec.lrn, a: la, b: lb, scale: ls, channels: C, positions: M) }
        let lrnB = time(3) { LocalResponseNorm.backward(spec.lrn, a: la, b: lb, scale: ls, db: ld, da: lda, channels: C, positions: M) }
        var m = MeasuredMachine(batch: N, blasThreads: BLAS.threads, layers: layers, streamGBs: 8 * Double(n) / stream / 1e9,
                                lrnForwardNs: lrnF / Double(C * M) * 1e9, lrnBackwardNs: lrnB / Double(C * M) * 1e9)
        if let comm, comm.size > 1 { (m.linkLatencyMicroseconds, m.linkBandwidthGBs) = try measureLink(comm) }
        return m
    }

    /// The link from all-gathers of 4 KiB to 4 MiB per rank (median of 9 each, every rank
    /// timed together): the least-squares line of seconds against bytes each rank receives.
    static func measureLink(_ comm: Communicator) throws -> (latencyMicroseconds: Double, bandwidthGBs: Double) {
        var points: [(bytes: Double, seconds: Double)] = []
        for floats in [1 << 10, 1 << 14, 1 << 18, 1 << 20] {
            let buf = UnsafeMutablePointer<Float>.allocate(capacity: floats * comm.size)
            buf.initialize(repeating: 1, count: floats * comm.size)
            defer { buf.deallocate() }
            try comm.allgatherInPlace(buf, countPerRank: floats)
            var t: [Double] = []
            for _ in 0..<9 {
                try comm.barrier()
                let s = now()
                try comm.allgatherInPlace(buf, countPerRank: floats)
                t.append(now() - s)
            }
            // Every rank reports the slowest rank's time: the collective ends when the last one does.
            let median = t.sorted()[t.count / 2]
            let worst = try comm.allgather(median).max() ?? median
            points.append((Double(4 * floats * (comm.size - 1)), worst))
        }
        let mx = points.map(\.bytes).reduce(0, +) / Double(points.count), my = points.map(\.seconds).reduce(0, +) / Double(points.count)
        let sxy = points.reduce(0) { $0 + ($1.bytes - mx) * ($1.seconds - my) }, sxx = points.reduce(0) { $0 + ($1.bytes - mx) * ($1.bytes - mx) }
        let perByte = max(sxy / sxx, 1e-15), latency = max(my - perByte * mx, 0)
        return (latency * 1e6, 1 / perByte / 1e9)
    }

    /// A device profile of this machine for `spec`: its measured figures, with the peak and the
    /// bandwidth set to what was measured (efficiencies 1) and its memory the machine's.
    public static func device(_ spec: ModelSpec, batch: Int, comm: Communicator? = nil) throws -> DeviceProfile {
        let m = try measure(spec, batch: batch, comm: comm)
        var d = DeviceProfile()
        d.name = "this machine (\(cpuModelName() ?? "CPU"), \(m.blasThreads) BLAS thread\(m.blasThreads == 1 ? "" : "s") a group)"
        d.peakTFLOPs = (m.layers.map { max($0.forwardGflops, $0.backwardDataGflops, $0.backwardWeightsGflops) }.max() ?? 1) / 1e3
        d.memoryBandwidthGBs = m.streamGBs
        d.convEfficiency = 1; d.matrixEfficiency = 1; d.memoryEfficiency = 1
        d.memoryGiB = Double(physicalMemoryBytes()) / 1_073_741_824
        d.linkBandwidthGBs = m.linkBandwidthGBs ?? 1e6
        d.linkLatencyMicroseconds = m.linkLatencyMicroseconds ?? 0
        d.measured = m
        return d
    }
}

/// The CPU's model name from /proc/cpuinfo.
func cpuModelName() -> String? {
    guard let text = try? readText("/proc/cpuinfo", limit: 1 << 22) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("model name") {
        return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) }
    }
    return nil
}

func physicalMemoryBytes() -> Int { Int(ProcessInfo.processInfo.physicalMemory) }
