import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import AlexNetReport
import AlexNetSimulator
import AlexNetTraining
import Foundation

/// Times training steps on random data at a given batch, like `caffe time`.
public struct BenchResult: Sendable {
    public var layers: [String]
    public var forwardMs: [Double], backwardMs: [Double], exchangeMs: [Double]
    public var gflopForward: [Double], gflopBackward: [Double]
    /// Mean ms per step of the trainer's pieces outside the layers: data, loss, update, logits' gather.
    public var otherMs: Double
    /// Mean ms per step in collectives (the exchanges and the logits' all-gather), and of it the
    /// ms spent waiting for the other ranks (`Network.measureWaiting`); the rest moved bytes.
    public var communicationMs: Double, waitingMs: Double
    /// Groups on this rank's threads: ms per step a group waited for the slowest at the end of a
    /// pass (mean over the groups), and ms waking and joining the threads (0 without threads).
    public var groupWaitingMs: Double, groupDispatchMs: Double
    /// Bytes this rank sent per step: to its replica's ranks (exchanges, logits) and to the other
    /// replicas (gradient sums), as the profile counted them call by call.
    public var exchangeBytesPerStep: Int, gradientSumBytesPerStep: Int
    public var stepMs: Double, stepMsSamples: [Double]
    /// CPU ms (user + system, all threads of this rank) per timed step: steadier than wall time
    /// on a shared machine, as it leaves out the time spent waiting for a core.
    public var cpuMsPerStep: Double
    public var imagesPerSecond: Double
    public var gflopPerSecond: Double
    public var peakResidentBytes: Int
    /// Heap allocations per timed step (all of the process: ours, MPI's, BLAS's), when
    /// libAllocCounter.so is preloaded; nil otherwise.
    public var allocationsPerStep: Double?
    /// Of those, counted apart: oneDNN's argument lists (one per primitive call).
    public var oneDNNAllocationsPerStep: Double?
}

/// Multiply-adds of one training step for this rank's groups: forward, plus the weight gradient
/// and (except for the first layer) the input gradient backward, per layer.
func stepMultiplyAdds(_ p: LayerPlan, batch: Int, groups: Int) -> (forward: Double, backward: Double) {
    let fwd = Double(p.multiplyAddsPerGroup * batch * groups)
    return (fwd, fwd * (p.index == 0 ? 1 : 2))
}

/// Random images and labels in the network's input (bench, and profile without data).
func fillRandom(_ network: Network) {
    var rng = RandomStream(seed: 7, .test, 0)
    for i in 0..<network.input.count { network.input[i] = rng.uniform() - 0.5 }
    for n in 0..<network.batch { network.labels[n] = Int32(rng.below(network.spec.classes)) }
}

/// Times `steps` training steps after `warmup` untimed ones, the one measurement behind `bench`
/// and `profile`: each step's wall time, CPU time and heap allocations around the steps, and
/// the network's profile (per layer, per exchange) of the timed steps only. `fill(s)` fills
/// the minibatch of step s (nil: the random minibatch already in the input is reused).
func measureSteps(_ network: Network, steps: Int, warmup: Int, learningRate: Double = 1e-5, trace: Bool = false,
                  fill: ((_ step: Int, _ replica: Int) -> Void)? = nil) throws -> BenchResult {
    let sgd = SGD(momentum: 0.9, weightDecay: 0.0005)
    func step(_ s: Int) throws { try trainingStep(network, sgd: sgd, learningRate: learningRate, globalStep: s) { fill?(s, $0) } }
    for s in 0..<warmup { try step(s) }
    try network.comm.barrier()
    network.profile.reset()
    // Room for every communication call of the timed steps: per replica computed here, 3 per
    // layer (all-gather, the reduce-scatter's start and finish) and the logits, or 2 per layer
    // of gradient sums.
    network.profile.logCalls(capacity: steps * network.placement.localReplicas.count * (3 * network.plans.count + 1))
    if trace { network.profile.trace = [] }
    network.profile.origin = now()
    var samples = [Double](repeating: 0, count: steps)
    let traceAllocations = ProcessInfo.processInfo.environment["ALEXNET_MP_TRACE_ALLOCATIONS"] != nil
    _ = heapAllocations()   // the first call looks the counter up
    _ = oneDNNHeapAllocations()
    let allocationsBefore = heapAllocations(), oneDNNBefore = oneDNNHeapAllocations()
    let cpuBefore = processCPUSeconds()
    if traceAllocations { traceHeapAllocations(true) }
    for s in 0..<steps {
        let t = now()
        try step(warmup + s)
        samples[s] = now() - t
    }
    let cpu = processCPUSeconds() - cpuBefore
    if traceAllocations { traceHeapAllocations(false) }
    let allocations = heapAllocations().flatMap { after in allocationsBefore.map { Double(after - $0) / Double(steps) } }
    let oneDNNAllocations = oneDNNHeapAllocations().flatMap { after in oneDNNBefore.map { Double(after - $0) / Double(steps) } }
    let waiting = try network.measureWaiting()
    let P = network.profile, per = Double(steps), local = network.placement.groupsPerRank
    // The images this rank computes a step (its replicas' slices), and the share of the model's
    // arithmetic that is: its groups of its replicas.
    let place = network.placement, images = network.batch * place.localReplicas.count
    let ranksLikeThis = Double(network.spec.groups / local) * Double(place.replicas / place.localReplicas.count)
    var gf: [Double] = [], gb: [Double] = []
    var totalMacs = 0.0
    for p in network.plans {
        let m = stepMultiplyAdds(p, batch: images, groups: local)
        totalMacs += (m.forward + m.backward) * ranksLikeThis
        gf.append(2 * m.forward / (P.forward[p.index] / per) / 1e9)
        gb.append(2 * m.backward / (P.backward[p.index] / per) / 1e9)
    }
    let median = samples.sorted()[samples.count / 2]
    return BenchResult(layers: P.layers, forwardMs: P.forward.map { $0 / per * 1e3 }, backwardMs: P.backward.map { $0 / per * 1e3 },
                       exchangeMs: P.layers.indices.map { (P.exchangeForward[$0].seconds + P.exchangeBackward[$0].seconds + P.gradientSum[$0].seconds) / per * 1e3 },
                       gflopForward: gf, gflopBackward: gb,
                       otherMs: (P.data + P.loss + P.update + P.logits.seconds) / per * 1e3,
                       communicationMs: P.communicationSeconds / per * 1e3, waitingMs: waiting / per * 1e3,
                       groupWaitingMs: P.groupWaiting / per * 1e3, groupDispatchMs: P.groupDispatch / per * 1e3,
                       exchangeBytesPerStep: (P.exchangeForward + P.exchangeBackward + [P.logits]).reduce(0) { $0 + $1.bytesSent } / steps,
                       gradientSumBytesPerStep: P.gradientSum.reduce(0) { $0 + $1.bytesSent } / steps,
                       stepMs: median * 1e3, stepMsSamples: samples.map { $0 * 1e3 }, cpuMsPerStep: cpu / per * 1e3,
                       imagesPerSecond: Double(network.globalBatch) / median, gflopPerSecond: 2 * totalMacs / median / 1e9,
                       peakResidentBytes: peakResidentBytes(), allocationsPerStep: allocations,
                       oneDNNAllocationsPerStep: oneDNNAllocations)
}
