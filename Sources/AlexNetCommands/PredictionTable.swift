import AlexNetCore
import AlexNetLayers
import AlexNetParallel
import AlexNetSimulator
import Foundation

/// What a device file (from `calibrate`) predicts for this run's placement, beside what
/// `profile` measured (rank 0): per layer forward, backward and communication, the update, and
/// the step, each with predicted ÷ measured. The groups of one rank that run on threads of their
/// own, and the groups on ranks of their own, are one device each; groups run in turn share one.
func predictionTable(_ measured: Profile.Record, spec: ModelSpec, batch N: Int, device: DeviceProfile, placement: Placement,
                     concurrentGroups: Bool, file: String) throws -> String {
    // Replicas on ranks of their own are data parallel (or groups × replicas); replicas computed
    // in turn cost what the whole minibatch costs on the same devices.
    let parallel = spec.groups > 1 && (placement.ranks >= spec.groups || concurrentGroups)
    let (strategy, devices): (Strategy, Int) = placement.replica != nil ? modelledStrategy(placement)
        : (parallel ? .paperSplit : .oneDevice, parallel ? spec.groups : 1)
    let sim = try simulate(spec, batch: N, device: device, strategy: strategy, devices: devices)
    let steps = Double(max(measured.steps, 1))
    func ms(_ s: Double) -> String { String(format: "%.2f", s * 1e3) }
    func ratio(_ p: Double, _ m: Double) -> String { m > 1e-7 ? String(format: "%.2f", p / m) : "" }
    let step = measured.stepSeconds / steps
    var out = "predicted by \(file) (\(device.name); \(strategy.rawValue) on \(sim.devices) device\(sim.devices == 1 ? "" : "s")), against measured, per step:\n"
    out += "layer     fwd ms meas / pred / ratio      bwd ms meas / pred / ratio     comm ms meas / pred   share\n"
    var flagged: [String] = []
    for (l, m) in zip(sim.layers, measured.layers) {
        let f = m.forwardSeconds / steps, b = m.backwardSeconds / steps, c = m.communicationSeconds / steps
        let share = (f + b) / step
        out += String(format: "%-7@ %9@ %8@ %6@    %9@ %8@ %6@    %8@ %8@  %5.1f%%\n", l.name, ms(f), ms(l.forwardSeconds), ratio(l.forwardSeconds, f),
                      ms(b), ms(l.backwardSeconds), ratio(l.backwardSeconds, b), ms(c), ms(l.transferSeconds), 100 * share)
        let r = (l.forwardSeconds + l.backwardSeconds) / max(f + b, 1e-12)
        if share > 0.05 && abs(r - 1) > 0.25 { flagged.append(String(format: "%@ (%.2f)", l.name, r)) }
    }
    let update = measured.updateSeconds / steps
    out += String(format: "update  %9@ %8@ %6@\n", ms(update), ms(sim.updateSeconds), ratio(sim.updateSeconds, update))
    let other = (measured.dataSeconds + measured.lossSeconds + measured.logits.seconds) / steps
    out += String(format: "step    %9@ %8@ %6@    (measured: of which data wait, loss and logits %.2f ms, not modelled)\n",
                  ms(step), ms(sim.stepSeconds), ratio(sim.stepSeconds, step), other * 1e3)
    out += "targets: the step within ±10%" + String(format: " (%@)", abs(sim.stepSeconds / step - 1) <= 0.10 ? "met" : "missed")
        + "; each layer over 5% of the step within ±25% (" + (flagged.isEmpty ? "met" : "missed by " + flagged.joined(separator: ", ")) + ")\n"
    return out
}
