import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import AlexNetReport
import AlexNetSimulator
import AlexNetTraining
import Foundation

/// The per-layer table of `alexnet-mp summary`: output shape, parameters and multiply-adds per
/// group and in total, activation memory per image; with `ranks`, what each rank holds.
public func summaryTable(_ spec: ModelSpec, name: String, ranks: Int = 1, ranksPerReplica: Int? = nil, batch: Int = 128,
                         device: DeviceProfile = DeviceProfile()) throws -> String {
    let plans = try spec.plan()
    let G = spec.groups
    func n(_ v: Int) -> String { v.formatted() }
    var rows: [[String]] = [["layer", "reads", "output (all groups)", "params/group", "params", "mult-adds/group", "mult-adds", "act. KiB/image"]]
    for p in plans {
        let reads = p.index == 0 ? "image" : (p.exchange ? "all groups" : "own group")
        let outShape = "\(p.outChannels * G)×\(p.pooledHeight)×\(p.pooledWidth)"
        // Activations kept per image for the backward pass: conv/fc output, plus LRN and pooling outputs.
        var floats = p.outChannels * G * p.outHeight * p.outWidth
        if p.spec.lrn { floats += 2 * p.outChannels * G * p.outHeight * p.outWidth }
        if p.spec.pool { floats += p.outputPerImage * G }
        rows.append([p.spec.name, reads, outShape, n(p.parametersPerGroup), n(p.parametersPerGroup * G),
                     n(p.multiplyAddsPerGroup), n(p.multiplyAddsPerGroup * G), String(format: "%.1f", Double(floats * 4) / 1024)])
    }
    let params = try spec.parameterCount(), macs = try spec.multiplyAddsPerImage()
    rows.append(["total", "", "", "", n(params), "", n(macs), ""])
    var widths = [Int](repeating: 0, count: rows[0].count)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
    var out = "\(name): \(G) group\(G == 1 ? "" : "s"), input \(spec.inputChannels)×\(spec.inputHeight)×\(spec.inputWidth), \(spec.classes) classes\n"
    for (k, r) in rows.enumerated() {
        out += r.enumerated().map { i, c in i < 3 ? c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                                                  : String(repeating: " ", count: widths[i] - c.count) + c }.joined(separator: "  ") + "\n"
        if k == 0 || k == rows.count - 2 { out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
    }
    out += String(format: "%@ parameters; %.1f M multiply-adds (%.2f GFLOP) per image forward\n", n(params), Double(macs) / 1e6, 2 * Double(macs) / 1e9)
    if ranks > 1 || G > 1 || spec.replicas > 1 {
        do { _ = try Placement(groups: G, replicas: spec.replicas, ranks: ranks, rank: 0, ranksPerReplica: ranksPerReplica) } catch {
            throw ModelSpecError("--ranks \(ranks): \(error)")
        }
        func mib(_ b: Int) -> String { String(format: "%.1f MiB", Double(b) / 1_048_576) }
        for r in 0..<ranks {
            let placement = try Placement(groups: G, replicas: spec.replicas, ranks: ranks, rank: r, ranksPerReplica: ranksPerReplica)
            let groups = placement.groups(ofRank: r)
            let held = plans.reduce(0) { $0 + $1.parametersPerGroup * groups.count }
            let replicas = placement.replica.map { "replica \($0)" } ?? (spec.replicas > 1 ? "replicas 0–\(spec.replicas - 1) in turn" : "")
            let traffic = StepTraffic(spec: spec, plans: plans, placement: placement, batch: batch)
            out += "rank \(r) of \(ranks): group\(groups.count == 1 ? "" : "s") \(groups.map(String.init).joined(separator: ", "))\(replicas.isEmpty ? "" : ", " + replicas), \(n(held)) parameters (\(mib(held * 4)) of weights); "
                + "sends \(mib(traffic.exchanges)) a step to its replica's ranks (exchanges, logits)"
                + (spec.replicas > 1 ? " and \(mib(traffic.gradientSums)) to the other replicas (gradient sums)" : "") + "\n"
        }
    }
    // Rank 0's buffers, as its network allocates them (one replica's slice of the minibatch at a time).
    let p = try Placement(groups: G, replicas: spec.replicas, ranks: ranks, rank: 0, ranksPerReplica: ranksPerReplica)
    let buffers = BufferPlan(spec: spec, plans: plans, batch: batch / spec.replicas, localGroups: p.localGroups,
                             ranks: p.ranksPerReplica, replicas: spec.replicas, replicasApart: p.replica != nil)
    let total = buffers.bytes, weights = buffers.parameterBytes
    out += String(format: "memory per device at batch %d: %.0f MiB (weights, gradients and momentum %.0f MiB; activations, their gradients and workspace %.0f MiB) of a %@'s %.0f MiB%@\n",
                  batch, Double(total) / 1_048_576, Double(weights) / 1_048_576, Double(total - weights) / 1_048_576,
                  device.name, device.memoryBytes / 1_048_576, Double(total) <= device.memoryBytes ? "" : " — does not fit")
    return out
}
