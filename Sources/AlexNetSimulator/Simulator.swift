import AlexNetCore
import AlexNetLayers
import AlexNetParallel
import Foundation

/// The paper's hardware, modelled: per layer and step, compute time (FLOPs over the achievable
/// rate for convolutions and matrix products; bytes over memory bandwidth for ReLU, LRN,
/// pooling, dropout, bias and the update), transfer time (latency + bytes over the link), and the
/// memory a device needs — counted buffer by buffer as `Network` allocates them.
public struct Simulation: Sendable {
    public struct Layer: Sendable {
        public var name: String
        public var forwardSeconds = 0.0, backwardSeconds = 0.0
        /// Of the above, the part bound by memory bandwidth (the rest by arithmetic).
        public var memoryBoundSeconds = 0.0
        /// The exchange in front of the layer (forward and backward) and its gradient's sum over devices.
        public var transferSeconds = 0.0
        public var transferBytes = 0
        /// Parameters ×3 (value, gradient, momentum) and activations of this layer on one device.
        public var memoryBytes = 0
    }
    public var strategy: String
    public var devices: Int
    public var batch: Int
    public var layers: [Layer] = []
    public var updateSeconds = 0.0
    public var otherMemoryBytes = 0     // input, logits, workspace

    public var computeSeconds: Double { layers.reduce(0) { $0 + $1.forwardSeconds + $1.backwardSeconds } + updateSeconds }
    public var transferSeconds: Double { layers.reduce(0) { $0 + $1.transferSeconds } }
    public var transferBytes: Int { layers.reduce(0) { $0 + $1.transferBytes } }
    /// Compute and transfers one after the other (no overlap), as a lower-effort implementation would.
    public var stepSeconds: Double { computeSeconds + transferSeconds }
    public var memoryBytes: Int { layers.reduce(0) { $0 + $1.memoryBytes } + otherMemoryBytes }

    /// The first layer at which the device's memory, filled in layer order, runs out.
    public func layerThatTipsOver(_ device: DeviceProfile) -> (layer: String, needed: Int)? {
        var used = otherMemoryBytes
        for l in layers {
            used += l.memoryBytes
            if Double(used) > device.memoryBytes { return (l.name, memoryBytes) }
        }
        return nil
    }
}

public enum Strategy: String, CaseIterable, Sendable {
    case paperSplit = "the paper's split (model parallel, one group per device)"
    case oneDevice = "one device (every group on it)"
    case dataParallel = "data parallel (whole model per device, gradients all-reduced)"
    case groupsTimesReplicas = "groups × replicas (the paper's split within a replica, replicas data parallel)"
    case hybrid = "hybrid, Krizhevsky 2014 (convolutions data parallel, FC model parallel)"

    /// A short name for tables.
    public var short: String {
        switch self {
        case .paperSplit: return "model parallel"
        case .oneDevice: return "one device"
        case .dataParallel: return "data parallel"
        case .groupsTimesReplicas: return "groups × replicas"
        case .hybrid: return "hybrid 2014"
        }
    }
}

/// One step of minibatch `N` (all devices together) on `devices` devices (default: 1 for one
/// device, else 2, the paper's). Each strategy's share of a layer for one device:
/// - model parallel: 1/D of every layer's kernels, every image. With D = G that is the paper's
///   split; with D > G each group's kernels are cut D/G ways and the devices of a group exchange
///   every layer's input (what Krizhevsky 2014 calls model parallelism of the convolutions);
/// - data parallel: every kernel, N/D images, every layer's gradient all-reduced;
/// - groups × replicas: G devices a replica (the paper's split), D/G replicas of N·G/D images,
///   each group's gradients all-reduced over the replicas (what `train --replicas` runs);
/// - hybrid: convolutions data parallel (N/D images each), FC layers model parallel (1/D of their
///   neurons, every image): the conv output is gathered before fc6 (Krizhevsky 2014).
/// Compute and transfers are added, not overlapped; a ring moves (P−1)/P of a collective's data
/// through each of its P devices.
public func simulate(_ spec: ModelSpec, batch N: Int, device d: DeviceProfile, strategy: Strategy,
                     devices: Int? = nil) throws -> Simulation {
    let plans = try spec.plan()
    let G = spec.groups
    let D = strategy == .oneDevice ? 1 : max(1, devices ?? 2)
    if strategy == .groupsTimesReplicas && D % G != 0 && D > 1 {
        throw ConfigError("groups × replicas: \(D) devices are not a whole number of replicas of \(G) groups")
    }
    let R = strategy == .groupsTimesReplicas ? max(1, D / G) : 1
    // What one device computes of layer p: the images, and the fraction of the layer's kernels.
    func share(_ p: LayerPlan) -> (images: Double, kernels: Double) {
        let n = Double(N), dd = Double(D)
        switch strategy {
        case .oneDevice: return (n, 1)
        case .paperSplit: return (n, 1 / dd)
        case .dataParallel: return (n / dd, 1)
        case .groupsTimesReplicas: return D == 1 ? (n, 1) : (n / Double(R), 1 / Double(G))
        case .hybrid: return p.isConv ? (n / dd, 1) : (n, 1 / dd)
        }
    }
    // Whether layer p's parameters are summed over devices (data parallel there), and over how many.
    func reducedOver(_ p: LayerPlan) -> Int {
        switch strategy {
        case .dataParallel: return D
        case .groupsTimesReplicas: return R
        case .hybrid: return p.isConv ? D : 1
        default: return 1
        }
    }
    let peak = d.peakTFLOPs * 1e12, bw = d.memoryBandwidthGBs * 1e9 * d.memoryEfficiency
    // Bytes a second of a streaming pass: the measured rate on a calibrated machine.
    let streamRate = d.measured.map { $0.streamGBs * 1e9 } ?? bw
    let link = d.linkBandwidthGBs * 1e9, latency = d.linkLatencyMicroseconds * 1e-6
    // One collective over P devices: (P−1) messages of `block` bytes through each device.
    func collective(_ block: Double, over P: Int) -> (bytes: Int, seconds: Double) {
        guard P > 1 else { return (0, 0) }
        let bytes = Double(P - 1) * block
        return (Int(bytes.rounded()), Double(P - 1) * latency + bytes / link)
    }
    var sim = Simulation(strategy: strategy.rawValue, devices: D, batch: N)
    var params = 0.0
    // Memory: the buffers of a device holding whole groups, exactly as `Network` lays them out
    // (`BufferPlan`); a device holding part of a group's kernels holds that fraction of it.
    func wholeGroups(_ p: LayerPlan) -> (share: BufferPlan.Share, scale: Double) {
        let (n, k) = share(p)
        let groups = max(1, Int((k * Double(G)).rounded(.up)))
        return (BufferPlan.Share(groups: Array(0..<min(G, groups)), images: Int(n.rounded(.up))), k * Double(G) / Double(groups))
    }
    let groupRanks = strategy == .paperSplit ? min(D, G) : (strategy == .groupsTimesReplicas || (strategy == .hybrid) ? min(D, G) : 1)
    let buffers = BufferPlan(spec: spec, plans: plans, ranks: groupRanks) { wholeGroups($0).share }
    for p in plans {
        let (n, k) = share(p)
        var L = Simulation.Layer(name: p.spec.name)
        let flops = 2 * Double(p.multiplyAddsPerGroup * G) * n * k
        // Memory-bound passes, bytes per element of y: bias 8/4, ReLU 8/12, dropout 12/12, LRN 12/24.
        let y = Double(p.outChannels * G * p.outHeight * p.outWidth) * n * k
        let out = Double(p.outChannels * G * p.pooledHeight * p.pooledWidth) * n * k
        var fwd = 8 * y, bwd = 4 * y
        if p.spec.relu { fwd += 8 * y; bwd += 12 * y }
        if p.spec.dropout > 0 { fwd += 12 * y; bwd += 12 * y }
        if p.spec.pool { fwd += 4 * y + 8 * out; bwd += 8 * y + 8 * out }
        if let m = d.measured {
            // This machine: each GEMM at its measured rate, im2col and col2im as measured (per
            // group of `m.batch` images, scaled to this device's share), the passes at the
            // measured streaming bandwidth, LRN at its measured cost per element.
            guard let ml = m.layer(p.spec.name) else {
                throw ConfigError("device.measured: no figures for layer \(p.spec.name): calibrate with this config")
            }
            let units = n * k * Double(G) / Double(m.batch), gemmFlops = 2 * Double(p.multiplyAddsPerGroup * m.batch)
            L.forwardSeconds = units * (gemmFlops / (ml.forwardGflops * 1e9) + ml.im2colSeconds)
            L.backwardSeconds = units * (gemmFlops / (ml.backwardWeightsGflops * 1e9) + ml.im2colSeconds
                + (p.index == 0 ? 0 : gemmFlops / (ml.backwardDataGflops * 1e9) + ml.col2imSeconds))
            let lrnF = p.spec.lrn ? y * m.lrnForwardNs * 1e-9 : 0, lrnB = p.spec.lrn ? y * m.lrnBackwardNs * 1e-9 : 0
            L.memoryBoundSeconds = (fwd + bwd) / streamRate + lrnF + lrnB
            L.forwardSeconds += fwd / streamRate + lrnF
            L.backwardSeconds += bwd / streamRate + lrnB
        } else {
            if p.spec.lrn { fwd += 12 * y; bwd += 24 * y }
            let rate = peak * (p.isConv ? d.convEfficiency : d.matrixEfficiency)
            L.forwardSeconds = flops / rate
            L.backwardSeconds = flops * (p.index == 0 ? 1 : 2) / rate
            L.memoryBoundSeconds = (fwd + bwd) / bw
            L.forwardSeconds += fwd / bw
            L.backwardSeconds += bwd / bw
        }
        // The exchange in front of this layer: its input all-gathered forward and its gradient
        // reduce-scattered backward, over the devices that hold parts of what it reads.
        if p.index > 0 {
            let prev = plans[p.index - 1]
            let input = Double(prev.outputPerImage * G * 4)   // bytes per image of the whole previous output
            var moved: (bytes: Int, seconds: Double) = (0, 0)
            switch strategy {
            case .paperSplit:
                // Devices sharing the input: all of them where the layer reads every group, else its group's.
                let P = p.exchange ? D : max(1, D / G)
                moved = collective(input * Double(N) / Double(D), over: P)
            case .groupsTimesReplicas where p.exchange:
                moved = collective(input * n / Double(min(D, G)), over: min(D, G))
            case .hybrid where !p.isConv:
                // fc6 gathers every image's conv maps (each device has N/D images of them); later FC
                // layers read their input split over the devices by neuron.
                moved = collective(input * Double(N) / Double(D), over: D)
            default: break
            }
            L.transferBytes = 2 * moved.bytes
            L.transferSeconds = 2 * moved.seconds
        }
        // This layer's gradient summed over the devices that compute it for different images.
        // A reduce-scatter, whose received blocks are added into the device's own (P−1 passes
        // over a block, each reading two and writing one: on a CPU as long again as the bytes
        // over the link; measured, docs/SIMULATOR.md), then an all-gather of the sums. (The
        // exchanges' backward reduce-scatters add too, at most 11 MB a step on the paper's
        // net: left out.)
        let P = reducedOver(p)
        if P > 1 {
            let block = Double(p.parametersPerGroup * G) * k * 4 / Double(P)
            let sum = collective(block, over: P)
            let add = 3 * Double(P - 1) * block / streamRate
            L.transferBytes += 2 * sum.bytes
            L.transferSeconds += 2 * sum.seconds + add
        }
        params += Double(p.parametersPerGroup * G) * k
        let whole = wholeGroups(p)
        L.memoryBytes = Int(Double(buffers.bytes(layer: p.index)) * whole.scale)
        sim.layers.append(L)
    }
    // The logits' all-gather: each device sends its classes of the images it computed the last layer for.
    let last = plans[plans.count - 1], (nLast, kLast) = share(last)
    let logitDevices = strategy == .dataParallel ? 1 : Int((1 / kLast).rounded())
    let logits = collective(Double(spec.classes) * kLast * nLast * 4, over: logitDevices)
    sim.layers[sim.layers.count - 1].transferBytes += logits.bytes
    sim.layers[sim.layers.count - 1].transferSeconds += logits.seconds
    // The input, the logits, the workspaces and labels are the network's own.
    sim.otherMemoryBytes = buffers.networkBytes
    // The update reads w, g, v and writes w, v: 20 bytes per parameter held.
    sim.updateSeconds = 20 * params / streamRate
    return sim
}

/// One row of the scaling table: a strategy on `devices` devices, each replica (each device,
/// for data parallelism) computing `perReplica` images a step, as in Krizhevsky 2014 (128 per
/// GPU in the convolutional layers).
public struct ScalingRow: Sendable {
    public var strategy: Strategy
    public var devices: Int
    public var batch: Int
    public var imagesPerSecond: Double
    public var speedup: Double
    public var efficiency: Double { speedup / Double(devices) }
    public var bytesPerDevice: Int
    public var transferShare: Double
}

/// The modelled scaling of each strategy over `counts` devices (speed-up against one device at
/// `perReplica` images a step). Model parallelism keeps the minibatch; the others grow it with
/// their replicas (weak scaling, as the 2014 paper's table does).
public func scalingTable(_ spec: ModelSpec, perReplica: Int, device: DeviceProfile,
                         counts: [Int] = [1, 2, 4, 8, 16, 64]) throws -> [ScalingRow] {
    let one = try simulate(spec, batch: perReplica, device: device, strategy: .oneDevice)
    let base = Double(perReplica) / one.stepSeconds
    var rows: [ScalingRow] = []
    for s in [Strategy.paperSplit, .dataParallel, .groupsTimesReplicas, .hybrid] {
        for D in counts {
            if s == .groupsTimesReplicas && D > 1 && D % spec.groups != 0 { continue }
            let replicas: Int
            switch s {
            case .paperSplit: replicas = 1
            case .groupsTimesReplicas: replicas = max(1, D / spec.groups)
            default: replicas = D
            }
            let N = perReplica * replicas
            let sim = try simulate(spec, batch: N, device: device, strategy: D == 1 ? .oneDevice : s, devices: D)
            let ips = Double(N) / sim.stepSeconds
            rows.append(ScalingRow(strategy: s, devices: D, batch: N, imagesPerSecond: ips, speedup: ips / base,
                                   bytesPerDevice: sim.transferBytes, transferShare: sim.transferSeconds / sim.stepSeconds))
        }
    }
    return rows
}

/// The scaling table as text (`simulate --scaling`, and `simulate --sweep` with several
/// minibatches: one block of rows per images-per-replica).
public func scalingReport(_ spec: ModelSpec, name: String, perReplica: [Int], devices: [Int] = [1, 2, 4, 8, 16, 64],
                          device d: DeviceProfile) throws -> String {
    var out = "\(name) on \(devices.map(String.init).joined(separator: ", ")) × \(d.name); replicas of \(perReplica.map(String.init).joined(separator: " or ")) images a step (model parallel: that many in all); compute and transfers not overlapped\n"
    out += "strategy            devices  images/replica   batch   images/s  speed-up  efficiency  MiB moved/device  transfer share\n"
    for n in perReplica {
        for r in try scalingTable(spec, perReplica: n, device: d, counts: devices) {
            out += "\(r.strategy.short.padding(toLength: 18, withPad: " ", startingAt: 0)) \(pad("\(r.devices)", 8)) \(pad("\(n)", 15)) \(pad("\(r.batch)", 7)) "
                + String(format: "%10.0f  %8.2f  %9.0f%%  %16.1f  %13.0f%%\n", r.imagesPerSecond, r.speedup, 100 * r.efficiency,
                         Double(r.bytesPerDevice) / 1_048_576, 100 * r.transferShare)
        }
    }
    return out
}

/// The strategy that models a placement (`Placement`): replicas computed in turn cost what one
/// minibatch costs on the same devices.
public func modelledStrategy(_ p: Placement) -> (strategy: Strategy, devices: Int) {
    if p.ranks == 1 || (p.groups == 1 && p.replica == nil) { return (.oneDevice, 1) }
    if p.replica == nil { return (.paperSplit, p.ranks) }
    return (p.ranksPerReplica == 1 ? .dataParallel : .groupsTimesReplicas, p.ranks)
}

/// The text of `alexnet-mp simulate`: the model (its groups and replicas) on `placement`'s devices.
public func simulationReport(_ spec: ModelSpec, name: String, batch N: Int, device d: DeviceProfile, epochs: Int, images: Int,
                             placement: Placement) throws -> String {
    let (strategy, D) = modelledStrategy(placement)
    let sim = try simulate(spec, batch: N, device: d, strategy: strategy, devices: D)
    func ms(_ s: Double) -> String { String(format: "%.2f", s * 1e3) }
    func mib(_ b: Int) -> String { String(format: "%.1f", Double(b) / 1_048_576) }
    var out = "\(name) on \(sim.devices) × \(d.name): \(sim.strategy), batch \(N)\n"
    out += String(format: "device: %.3f TFLOP/s peak, %.1f GB/s memory, %.1f GiB; conv at %.0f%% and matrix kernels at %.0f%% of peak, memory-bound layers at %.0f%% of bandwidth; link %.1f GB/s, %.0f µs\n",
                  d.peakTFLOPs, d.memoryBandwidthGBs, d.memoryGiB, 100 * d.convEfficiency, 100 * d.matrixEfficiency,
                  100 * d.memoryEfficiency, d.linkBandwidthGBs, d.linkLatencyMicroseconds)
    out += "layer     fwd ms    bwd ms  memory-bound ms  transfer ms  transfer MiB  memory MiB   (one device, per step)\n"
    for l in sim.layers {
        out += "\(l.name.padding(toLength: 7, withPad: " ", startingAt: 0)) \(pad(ms(l.forwardSeconds), 8)) \(pad(ms(l.backwardSeconds), 9)) \(pad(ms(l.memoryBoundSeconds), 16)) \(pad(l.transferBytes > 0 ? ms(l.transferSeconds) : "", 12)) \(pad(l.transferBytes > 0 ? mib(l.transferBytes) : "", 13)) \(pad(mib(l.memoryBytes), 11))\n"
    }
    out += "update  \(pad(ms(sim.updateSeconds), 8))\n"
    out += "other (input, logits, im2col workspace)                                    \(pad(mib(sim.otherMemoryBytes), 11))\n"
    out += String(format: "step: %.1f ms = compute %.1f ms + transfers %.1f ms (%.1f%%, %.2f MiB per device); memory %.0f MiB of %.0f MiB per device\n",
                  sim.stepSeconds * 1e3, sim.computeSeconds * 1e3, sim.transferSeconds * 1e3,
                  100 * sim.transferSeconds / sim.stepSeconds, Double(sim.transferBytes) / 1_048_576,
                  Double(sim.memoryBytes) / 1_048_576, d.memoryBytes / 1_048_576)
    if let tip = sim.layerThatTipsOver(d) {
        out += "does not fit: needs \(mib(tip.needed)) MiB, more than the device's \(String(format: "%.0f", d.memoryBytes / 1_048_576)) MiB, from layer \(tip.layer) on\n"
    }
    let steps = Double(epochs) * Double(images) / Double(N)
    let total = steps * sim.stepSeconds
    out += String(format: "\n%d epochs of %@ images = %.0f steps: predicted %@\n", epochs, images.formatted(), steps,
                  total >= 86400 ? String(format: "%.2f days (%.1f hours)", total / 86400, total / 3600) : formatDuration(total))
    let isPaper = (try? spec.parameterCount()) == 60_965_224 && spec.groups == 2 && strategy == .paperSplit && D == 2
    // The range over the stated uncertainty of the assumed figures: every corner of the box.
    if d.measured == nil {
        let ranges = d.uncertainty.ranges
        var low = Double.infinity, high = 0.0
        for corner in 0..<(1 << ranges.count) {
            var dd = d
            for (i, r) in ranges.enumerated() { dd[keyPath: r.path] = corner & (1 << i) != 0 ? r.high : r.low }
            let t = try simulate(spec, batch: N, device: dd, strategy: strategy, devices: D).stepSeconds * steps
            low = min(low, t); high = max(high, t)
        }
        func span(_ t: Double) -> String { total >= 86400 ? String(format: "%.2f days", t / 86400) : formatDuration(t) }
        out += "range over the stated uncertainty (" + ranges.map { "\($0.key) \(fmt($0.low))–\(fmt($0.high))" }.joined(separator: ", ")
            + "): \(span(low)) to \(span(high))\n"
        if isPaper {
            out += String(format: "the paper: five to six days on two GTX 580 3 GB; prediction / 5.5 days = %.2f; 5–6 days %@ the range\n",
                          total / 86400 / 5.5, low <= 5 * 86400 && high >= 6 * 86400 ? "lie inside" : (low <= 6 * 86400 && high >= 5 * 86400 ? "lie partly inside" : "lie outside"))
        }
    } else if isPaper {
        out += String(format: "the paper: five to six days on two GTX 580 3 GB; prediction / 5.5 days = %.2f\n", total / 86400 / 5.5)
    }
    // Which assumption moves the prediction most: each one halved and doubled (efficiencies capped at 1).
    var moves: [(String, Double, Double)] = []
    let knobs: [(String, WritableKeyPath<DeviceProfile, Double>, Bool)] = [
        ("conv_efficiency", \.convEfficiency, true), ("matrix_efficiency", \.matrixEfficiency, true),
        ("memory_efficiency", \.memoryEfficiency, true), ("peak_tflops", \.peakTFLOPs, false),
        ("memory_bandwidth_gbs", \.memoryBandwidthGBs, false), ("link_bandwidth_gbs", \.linkBandwidthGBs, false),
        ("link_latency_us", \.linkLatencyMicroseconds, false)]
    for (name, key, capped) in knobs {
        var lo = d, hi = d
        lo[keyPath: key] = d[keyPath: key] / 2
        hi[keyPath: key] = capped ? min(1, d[keyPath: key] * 2) : d[keyPath: key] * 2
        let a = try simulate(spec, batch: N, device: lo, strategy: strategy, devices: D).stepSeconds * steps
        let b = try simulate(spec, batch: N, device: hi, strategy: strategy, devices: D).stepSeconds * steps
        moves.append((name, a / total, b / total))
    }
    moves.sort { max(abs($0.1 - 1), abs($0.2 - 1)) > max(abs($1.1 - 1), abs($1.2 - 1)) }
    out += "\nwhat moves it (prediction × when the assumption is halved / doubled):\n"
    for (name, a, b) in moves { out += String(format: "  %-22@ × %.2f / × %.2f\n", name, a, b) }
    // Peak rate and memory bandwidth are the vendor's figures; the rest are assumptions.
    if let top = moves.first(where: { !["peak_tflops", "memory_bandwidth_gbs"].contains($0.0) }) {
        out += "the assumption that moves it most: \(top.0)"
        if isPaper {
            let implied = impliedConvEfficiency(spec, batch: N, device: d, strategy: strategy, devices: D, targetStep: 5.5 * 86400 / steps)
            out += String(format: " — the paper's 5.5 days would mean its convolutions ran near %.0f%% of peak (all else as assumed)", 100 * implied)
        }
        out += "\n"
    }
    // The alternatives on the same devices.
    let alternativeDevices = max(2, D)
    out += "\nalternatives on \(alternativeDevices) of the same device (per step, batch \(N)):\n"
    out += "strategy                                                                     devices  MiB moved/device  transfer ms  step ms  memory MiB/device\n"
    for s in Strategy.allCases {
        // Groups × replicas needs whole replicas, and with one replica it is the paper's split.
        if s == .groupsTimesReplicas && (alternativeDevices % spec.groups != 0 || alternativeDevices == spec.groups) { continue }
        let a = try simulate(spec, batch: N, device: d, strategy: s, devices: alternativeDevices)
        let fits = a.layerThatTipsOver(d) == nil ? "" : " (does not fit)"
        out += "\(s.rawValue.padding(toLength: 76, withPad: " ", startingAt: 0)) \(pad("\(a.devices)", 7)) \(pad(mib(a.transferBytes), 17)) \(pad(ms(a.transferSeconds), 12)) \(pad(ms(a.stepSeconds), 8)) \(pad(mib(a.memoryBytes), 18))\(fits)\n"
    }
    return out
}

/// The convolution efficiency at which the modelled step takes `targetStep` seconds.
func impliedConvEfficiency(_ spec: ModelSpec, batch: Int, device: DeviceProfile, strategy: Strategy, devices: Int, targetStep: Double) -> Double {
    var lo = 0.01, hi = 1.0
    for _ in 0..<50 {
        let mid = (lo + hi) / 2
        var d = device
        d.convEfficiency = mid
        let t = (try? simulate(spec, batch: batch, device: d, strategy: strategy, devices: devices).stepSeconds) ?? 0
        if t > targetStep { lo = mid } else { hi = mid }
    }
    return (lo + hi) / 2
}

private func fmt(_ v: Double) -> String { String(format: "%g", v) }

private func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }

/// Refuses a placement whose device would need more memory than it has, naming the figure and
/// the layer that tips it over (`--ignore-memory-limit` skips this).
public func checkDeviceMemory(_ spec: ModelSpec, batch: Int, device: DeviceProfile, devices: Int) throws {
    let strategy: Strategy = spec.groups > 1 && devices > 1 ? .paperSplit : .oneDevice
    let sim = try simulate(spec, batch: batch, device: device, strategy: strategy)
    if let tip = sim.layerThatTipsOver(device) {
        throw ConfigError(String(format: "device memory: this placement needs %.0f MiB per device, more than the %.0f MiB of a %@; it runs out at layer %@ (pass --ignore-memory-limit to run anyway, or set device.memory_gib)",
                                 Double(tip.needed) / 1_048_576, device.memoryBytes / 1_048_576, device.name, tip.layer))
    }
}
