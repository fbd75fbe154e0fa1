import AlexNetCore
import AlexNetParallel
import AlexNetSimulator
import AlexNetTraining
import ArgumentParser
import Foundation

/// `alexnet-mp calibrate`: this machine as a device for `simulate --device FILE` and
/// `profile --compare-with FILE`, from microbenchmarks only (see `Calibration`). Run it on the
/// placement to be predicted: it measures with the BLAS threads a group has there, and under
/// mpirun it measures the link between the ranks.
struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure this machine for a config's layers (sgemm at each layer's shapes, im2col/col2im, memory bandwidth, LRN; the link under mpirun) and write a device file for simulate --device.")

    @OptionGroup var configOption: ConfigOption
    @Option(parsing: .unconditional, help: "Minibatch (default: the config's train.batch).") var batch: Int?
    @Option(help: "The device file to write (default: print it).") var out: String?
    @OptionGroup var replicaOption: ReplicaOption
    @OptionGroup var threads: ThreadOption

    func validate() throws {
        if let batch, batch < 1 || batch > TrainConfig.largestBatch { throw ValidationError("--batch must be from 1 to \(TrainConfig.largestBatch), got \(batch).") }
    }

    func run() throws {
        try Launch.run(threads: threads.threads) { launch in
            try launch.checkOutputs([(out, .device)])
            let config = try replicaOption.apply(to: RunConfig.load(configOption.path))
            let spec = config.model
            let placement = try Placement(groups: spec.groups, replicas: spec.replicas, ranks: launch.comm.size, rank: launch.comm.rank,
                                          ranksPerReplica: replicaOption.ranksPerReplica)
            let plan = ThreadPlan(cores: launch.cores, localGroups: placement.groupsPerRank)
            BLAS.setThreads(plan.blasThreads)
            // A forward pass computes one replica's slice of the minibatch: measure at its shapes.
            let slice = try Session.replicaSlice(of: batch ?? config.train.batch, replicas: spec.replicas)
            let device = try Calibration.device(spec, batch: slice, comm: launch.comm)
            guard launch.comm.rank == 0, let m = device.measured else { return }
            let text = "# alexnet-mp calibrate --config \(configOption.path): \(device.name), \(launch.comm.size) rank(s)"
                + (spec.replicas > 1 ? ", \(spec.replicas) replicas of \(slice) images" : "") + "\n"
                + (try RunConfig.deviceFile(device))
            if let out { try writeAtomically(text, to: out) } else { print(text, terminator: "") }
            let c = launch.console
            for l in m.layers {
                c.print(String(format: "%-6@ forward %6.1f, input gradient %6.1f, weight gradient %6.1f GFLOP/s; im2col %.2f ms, col2im %.2f ms",
                               l.name, l.forwardGflops, l.backwardDataGflops, l.backwardWeightsGflops, l.im2colSeconds * 1e3, l.col2imSeconds * 1e3))
            }
            c.print(String(format: "streaming %.1f GB/s; LRN %.1f / %.1f ns per element", m.streamGBs, m.lrnForwardNs, m.lrnBackwardNs)
                    + (m.linkBandwidthGBs.map { String(format: "; link %.2f GB/s, %.1f µs", $0, m.linkLatencyMicroseconds ?? 0) } ?? "; one rank: no link"))
            if let out { c.print("device file: \(out) (simulate --device \(out), profile --compare-with \(out))") }
        }
    }
}
