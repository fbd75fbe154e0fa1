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
    public var extraTransferSeconds = 0.0, extraTransferBytes = 0   // gradient all-reduce etc.

    public var computeSeconds: Double { layers.reduce(0) { $0 + $1.forwardSeconds + $1.backwardSeconds } + updateSeconds }
    public var transferSeconds: Double { layers.reduce(0) { $0 + $1.transferSeconds } + extraTransferSeconds }
    public var transferBytes: Int { layers.reduce(0) { $0 + $1.transferBytes } + extraTransferBytes }
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
    case hybrid = "hybrid, Krizhevsky 2014 (convolutions data parallel, FC model parallel)"
}

public func simulate(_ spec: ModelSpec, batch N: Int, device d: DeviceProfile, strategy: Strategy) throws -> Simulation {
    let plans = try spec.plan()
    let G = spec.groups
    let devices = strategy == .oneDevice ? 1 : 2
    // Groups each device computes, and the images it computes them for, per layer.
    func share(_ p: LayerPlan) -> (groups: Int, images: Int) {
        switch strategy {
        case .paperSplit: return (max(1, G / devices), N)
        case .oneDevice: return (G, N)
        case .dataParallel: return (G, N / devices)
        case .hybrid: return p.isConv ? (G, N / devices) : (max(1, G / devices), N)
        }
    }
    let peak = d.peakTFLOPs * 1e12, bw = d.memoryBandwidthGBs * 1e9 * d.memoryEfficiency
    let link = d.linkBandwidthGBs * 1e9, latency = d.linkLatencyMicroseconds * 1e-6
    func transfer(_ bytes: Int) -> Double { latency + Double(bytes) / link }
    var sim = Simulation(strategy: strategy.rawValue, devices: devices, batch: N)
    var params = 0
    // The groups device 0 holds of each layer, and for how many images.
    let buffers = BufferPlan(spec: spec, plans: plans, ranks: strategy == .paperSplit || strategy == .hybrid ? devices : 1) { p in
        let (g, n) = share(p)
        return BufferPlan.Share(groups: Array(0..<g), images: n)
    }
    for p in plans {
        let (g, n) = share(p)
        var L = Simulation.Layer(name: p.spec.name)
        let flops = 2 * Double(p.multiplyAddsPerGroup * n * g)
        let rate = peak * (p.isConv ? d.convEfficiency : d.matrixEfficiency)
        L.forwardSeconds = flops / rate
        L.backwardSeconds = flops * (p.index == 0 ? 1 : 2) / rate
        // Memory-bound passes, bytes per element of y: bias 8/4, ReLU 8/12, dropout 12/12, LRN 12/24.
        let y = Double(p.outChannels * n * p.outHeight * p.outWidth * g)
        let out = Double(p.outChannels * n * p.pooledHeight * p.pooledWidth * g)
        var fwd = 8 * y, bwd = 4 * y
        if p.spec.relu { fwd += 8 * y; bwd += 12 * y }
        if p.spec.dropout > 0 { fwd += 12 * y; bwd += 12 * y }
        if p.spec.lrn { fwd += 12 * y; bwd += 24 * y }
        if p.spec.pool { fwd += 4 * y + 8 * out; bwd += 8 * y + 8 * out }
        L.memoryBoundSeconds = (fwd + bwd) / bw
        L.forwardSeconds += fwd / bw
        L.backwardSeconds += bwd / bw
        // Exchanges in front of this layer: what one device sends (and receives) each way.
        if devices > 1 && p.exchange {
            let prev = plans[p.index - 1]
            let block = prev.outputPerImage * N * (G / devices) * 4
            switch strategy {
            case .paperSplit:
                L.transferBytes = 2 * block
                L.transferSeconds = 2 * transfer(block)
            case .hybrid where !p.isConv:
                // The first FC layer gathers every image's conv maps; later FC layers exchange as the paper does.
                let b = prev.isConv ? prev.outputPerImage * G * (N / devices) * 4 : block
                L.transferBytes = 2 * b
                L.transferSeconds = 2 * transfer(b)
            default: break
            }
        }
        let heldGroups = strategy == .paperSplit || (strategy == .hybrid && !p.isConv) ? max(1, G / devices) : G
        params += p.parametersPerGroup * heldGroups
        L.memoryBytes = buffers.bytes(layer: p.index)
        sim.layers.append(L)
    }
    // The logits' all-gather: each device sends its groups' classes.
    let nLast = share(plans[plans.count - 1]).images
    let logits = spec.classes * nLast
    if devices > 1 && strategy != .dataParallel {
        let block = logits / devices * 4
        sim.layers[sim.layers.count - 1].transferBytes += block
        sim.layers[sim.layers.count - 1].transferSeconds += transfer(block)
    }
    // Memory: the buffers a device of this share allocates, exactly as `Network` lays them out
    // (`BufferPlan`): the input, the logits, the workspaces and labels are the network's own.
    sim.otherMemoryBytes = buffers.networkBytes
    // The update reads w, g, v and writes w, v: 20 bytes per parameter held.
    sim.updateSeconds = 20 * Double(params) / bw
    // Gradient all-reduce for data parallelism (all parameters) and the hybrid (conv parameters):
    // a ring moves 2(D−1)/D of the gradients through each device.
    if strategy == .dataParallel || strategy == .hybrid {
        let reduced = plans.filter { strategy == .dataParallel || $0.isConv }.reduce(0) { $0 + $1.parametersPerGroup * G }
        sim.extraTransferBytes = 2 * (devices - 1) * reduced * 4 / devices
        sim.extraTransferSeconds = 2 * Double(devices - 1) * latency + Double(sim.extraTransferBytes) / link
    }
    return sim
}

/// The text of `alexnet-mp simulate`.
public func simulationReport(_ spec: ModelSpec, name: String, batch N: Int, device d: DeviceProfile, epochs: Int, images: Int,
                             placementDevices: Int) throws -> String {
    let strategy: Strategy = spec.groups > 1 && placementDevices > 1 ? .paperSplit : .oneDevice
    let sim = try simulate(spec, batch: N, device: d, strategy: strategy)
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
    let isPaper = (try? spec.parameterCount()) == 60_965_224 && spec.groups == 2
    if isPaper {
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
        let a = try simulate(spec, batch: N, device: lo, strategy: strategy).stepSeconds * steps
        let b = try simulate(spec, batch: N, device: hi, strategy: strategy).stepSeconds * steps
        moves.append((name, a / total, b / total))
    }
    moves.sort { max(abs($0.1 - 1), abs($0.2 - 1)) > max(abs($1.1 - 1), abs($1.2 - 1)) }
    out += "\nwhat moves it (prediction × when the assumption is halved / doubled):\n"
    for (name, a, b) in moves { out += String(format: "  %-22@ × %.2f / × %.2f\n", name, a, b) }
    // Peak rate and memory bandwidth are the vendor's figures; the rest are assumptions.
    if let top = moves.first(where: { !["peak_tflops", "memory_bandwidth_gbs"].contains($0.0) }) {
        out += "the assumption that moves it most: \(top.0)"
        if isPaper {
            let implied = impliedConvEfficiency(spec, batch: N, device: d, strategy: strategy, targetStep: 5.5 * 86400 / steps)
            out += String(format: " — the paper's 5.5 days would mean its convolutions ran near %.0f%% of peak (all else as assumed)", 100 * implied)
        }
        out += "\n"
    }
    // The alternatives on the same devices.
    out += "\nalternatives on the same device (per step, batch \(N)):\n"
    out += "strategy                                                                     devices  MiB moved/device  transfer ms  step ms  memory MiB/device\n"
    for s in Strategy.allCases {
        let a = try simulate(spec, batch: N, device: d, strategy: s)
        let fits = a.layerThatTipsOver(d) == nil ? "" : " (does not fit)"
        out += "\(s.rawValue.padding(toLength: 76, withPad: " ", startingAt: 0)) \(pad("\(a.devices)", 7)) \(pad(mib(a.transferBytes), 17)) \(pad(ms(a.transferSeconds), 12)) \(pad(ms(a.stepSeconds), 8)) \(pad(mib(a.memoryBytes), 18))\(fits)\n"
    }
    return out
}

/// The convolution efficiency at which the modelled step takes `targetStep` seconds.
func impliedConvEfficiency(_ spec: ModelSpec, batch: Int, device: DeviceProfile, strategy: Strategy, targetStep: Double) -> Double {
    var lo = 0.01, hi = 1.0
    for _ in 0..<50 {
        let mid = (lo + hi) / 2
        var d = device
        d.convEfficiency = mid
        let t = (try? simulate(spec, batch: batch, device: d, strategy: strategy).stepSeconds) ?? 0
        if t > targetStep { lo = mid } else { hi = mid }
    }
    return (lo + hi) / 2
}

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
