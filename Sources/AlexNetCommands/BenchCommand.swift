import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import AlexNetReport
import AlexNetSimulator
import AlexNetTraining
import ArgumentParser
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time training steps on random data: per-layer forward/backward ms and GFLOP/s, images/s, peak memory.")

    @OptionGroup var configOption: ConfigOption
    @Option(parsing: .unconditional, help: "Minibatch size (default: the config's train.batch).") var batch: Int?
    @Option(parsing: .unconditional, help: "Timed steps, after two warm-up steps.") var steps: Int = 10
    @OptionGroup var replicaOption: ReplicaOption
    @OptionGroup var threads: ThreadOption

    func validate() throws {
        if steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps).") }
        if let batch, batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch).") }
    }

    func run() throws {
        try Launch.run(threads: threads.threads) { launch in
            let config = try replicaOption.apply(to: RunConfig.load(configOption.path))
            let spec = config.model
            let session = try launch.session(config, batch: batch, ranksPerReplica: replicaOption.ranksPerReplica)
            let network = session.network, threads = session.threads, N = network.batch
            let sgemm = BLAS.measureSgemm(n: 1024, repeats: 3)
            // The rank's cores all on one sgemm: what the model's arithmetic is measured against.
            let sgemmAllCores = BLAS.withThreads(threads.cores) { BLAS.measureSgemm(n: 1024, repeats: 3) }
            fillRandom(network)
            let r = try measureSteps(network, steps: steps, warmup: 2)
            let peak = try launch.comm.allgather(Double(r.peakResidentBytes))
            let c = launch.console
            let place = session.placement
            let replicas = spec.replicas > 1 ? " × \(spec.replicas) replicas (\(place.ranksPerReplica) rank\(place.ranksPerReplica == 1 ? "" : "s") per replica\(place.replica == nil ? ", in turn" : ""))" : ""
            c.print("bench \(config.name): \(spec.groups) group(s)\(replicas) on \(launch.comm.size) rank(s), batch \(network.globalBatch)\(spec.replicas > 1 ? " (\(N) per replica)" : ""), \(threads.concurrentGroups ? "one thread per group, " : "")\(BLAS.threads) BLAS thread(s) per group, \(BLAS.kernelsDescription), \(ElementwiseKernels.isa) element-wise kernels, \(ConvolutionAlgorithm.chosen.description)")
            c.print(String(format: "sgemm 1024³ on this rank, same run: %.1f GFLOP/s with %d thread%@, %.1f with the rank's %d core%@",
                           sgemm, BLAS.threads, BLAS.threads == 1 ? "" : "s", sgemmAllCores, threads.cores, threads.cores == 1 ? "" : "s"))
            c.print("layer       fwd ms   bwd ms  xchg ms  fwd GFLOP/s  bwd GFLOP/s   (rank 0, its groups)")
            for i in r.layers.indices {
                c.print(String(format: "%-8@ %8.2f %8.2f %8.2f %12.1f %12.1f", r.layers[i], r.forwardMs[i], r.backwardMs[i],
                               r.exchangeMs[i], r.gflopForward[i], r.gflopBackward[i]))
            }
            let layers = r.forwardMs.reduce(0, +) + r.backwardMs.reduce(0, +) + r.exchangeMs.reduce(0, +)
            let mean = r.stepMsSamples.reduce(0, +) / Double(r.stepMsSamples.count)
            c.print(String(format: "step: median %.1f ms of %d (mean %.1f = layers and exchanges %.1f + loss, update, logits %.1f + unaccounted %.1f; min %.1f, max %.1f)",
                           r.stepMs, steps, mean, layers, r.otherMs, mean - layers - r.otherMs,
                           r.stepMsSamples.min() ?? 0, r.stepMsSamples.max() ?? 0))
            c.print(String(format: "throughput: %.1f images/s, %.1f GFLOP/s of model arithmetic (forward + backward), %.0f%% of sgemm on the ranks' cores",
                           r.imagesPerSecond, r.gflopPerSecond, 100 * r.gflopPerSecond / Double(launch.comm.size) / sgemmAllCores))
            let cpu = try launch.comm.allgather(r.cpuMsPerStep)
            c.print("CPU per step: " + cpu.enumerated().map { String(format: "rank %d %.1f ms", $0.offset, $0.element) }.joined(separator: ", ")
                    + " (user + system, all threads: steadier than the wall time on a shared machine)")
            let comm = try launch.comm.allgather(r.communicationMs / mean * 100)
            let waiting = try launch.comm.allgather(r.waitingMs / mean * 100)
            c.print("communication: " + comm.indices.map { String(format: "rank %d %.1f%% (moving bytes %.1f%%, waiting %.1f%%)", $0, comm[$0],
                                                                   comm[$0] - waiting[$0], waiting[$0]) }.joined(separator: ", ")
                    + " of the step (collectives; waiting: beyond what the last rank to arrive spent in each call)")
            if threads.concurrentGroups {
                c.print(String(format: "groups on threads (rank 0): %.1f ms a step (%.1f%%) waiting for the slowest group at the end of a pass, %.1f ms (%.1f%%) waking and joining the threads",
                               r.groupWaitingMs, 100 * r.groupWaitingMs / mean, r.groupDispatchMs, 100 * r.groupDispatchMs / mean))
            }
            let sent = try launch.comm.allgather(Double(r.exchangeBytesPerStep)), sums = try launch.comm.allgather(Double(r.gradientSumBytesPerStep))
            c.print("sent per step: " + sent.indices.map { String(format: "rank %d %.1f MiB", $0, (sent[$0] + sums[$0]) / 1_048_576)
                + (spec.replicas > 1 ? String(format: " (exchanges %.1f, gradient sums %.1f)", sent[$0] / 1_048_576, sums[$0] / 1_048_576) : "") }
                .joined(separator: ", "))
            c.print(peak.enumerated().map { String(format: "rank %d peak resident %.0f MiB", $0.offset, $0.element / 1_048_576) }.joined(separator: ", "))
            // Every rank's count, so a rank that allocates shows (-1: not counted).
            let allocs = try launch.comm.allgather(r.allocationsPerStep ?? -1)
            let oneDNN = try launch.comm.allgather(r.oneDNNAllocationsPerStep ?? -1)
            if allocs.allSatisfy({ $0 >= 0 }) {
                c.print("heap allocations per step: " + allocs.enumerated().map { String(format: "rank %d %.1f", $0.offset, $0.element) }.joined(separator: ", ")
                        + " (the whole process: ours, MPI's and BLAS's); oneDNN's argument lists apart: "
                        + oneDNN.enumerated().map { String(format: "rank %d %.1f", $0.offset, $0.element) }.joined(separator: ", "))
            } else {
                c.print("heap allocations per step: not counted (preload .build/release/libAllocCounter.so to count them)")
            }
        }
    }
}
