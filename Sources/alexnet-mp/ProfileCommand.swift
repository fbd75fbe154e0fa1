import AlexNetCore
import AlexNetData
import AlexNetParallel
import AlexNetTraining
import ArgumentParser
import Foundation

struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Run training steps after a warm-up and show, per layer, compute and communication time, bytes moved and share of the step.")

    @OptionGroup var configOption: ConfigOption
    @Option(help: "Timed steps, after the warm-up.") var steps: Int = 20
    @Option(help: "Warm-up steps, not timed.") var warmup: Int = 3
    @Option(help: "Minibatch size (default: the config's train.batch).") var batch: Int?
    @Option(help: "Write a Chrome trace-event timeline (open in Perfetto or chrome://tracing).") var trace: String?
    @Option(help: "Write every rank's counters as JSON.") var json: String?
    @Option(help: "Data directory (default: the config's data.dir).") var data: String?
    @Flag(help: "Use random images instead of the data set (also used when the data directory does not exist).") var synthetic = false
    @Flag(name: .customLong("no-prefetch"), help: "Build each minibatch at the start of its step instead of on a background thread during the previous one.") var noPrefetch = false
    @OptionGroup var threads: ThreadOption

    func validate() throws {
        if steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps).") }
        if warmup < 0 { throw ValidationError("--warmup must not be negative, got \(warmup).") }
        if let batch, batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch).") }
    }

    func run() throws {
        try Launch.run(threads: threads.threads) { launch in
            var config = try RunConfig.load(configOption.config)
            if let batch { config.train.batch = batch }
            let spec = try config.model.spec()
            let placement = try launch.placement(groups: spec.groups)
            let dir = data ?? config.data.dir
            let useData = !synthetic && FileManager.default.fileExists(atPath: dir)
            let batcher = useData ? try RunData.load(config, dataDir: dir).batcher : nil
            let plan = launch.threadPlan(placement)
            launch.announceBLAS()
            let network = try Network(spec: spec, batch: config.train.batch, placement: placement, comm: launch.comm,
                                      seed: config.train.seed, concurrentGroups: plan.concurrentGroups)
            let N = network.batch
            if batcher == nil {
                var rng = RandomStream(seed: 7, .test, 0)
                for i in 0..<network.input.count { network.input[i] = rng.uniform() - 0.5 }
                for n in 0..<N { network.labels[n] = Int32(rng.below(spec.classes)) }
                launch.console.print("profile: random images (\(synthetic ? "--synthetic" : "no data at \(dir)"))")
            }
            let sgd = SGD(momentum: config.train.momentum, weightDecay: config.train.weightDecay)
            let perEpoch = batcher?.stepsPerEpoch(batch: N) ?? 1
            if let batcher, perEpoch < 1 {
                throw ConfigError("train.batch: \(N) is larger than the \(batcher.train.count) training images of \(dir)")
            }
            let prefetcher = noPrefetch ? nil : batcher.map { Prefetcher(batcher: $0, batch: N) }
            func step(_ s: Int) throws {
                try trainingStep(network, sgd: sgd, learningRate: config.train.lr, globalStep: s) {
                    if let prefetcher {
                        prefetcher.fill(epoch: 1 + s / perEpoch, step: s % perEpoch, next: (1 + (s + 1) / perEpoch, (s + 1) % perEpoch),
                                        input: network.input.data, labels: network.labels)
                    } else {
                        batcher?.fillTraining(epoch: 1 + s / perEpoch, step: s % perEpoch, batch: N,
                                              input: network.input.data, labels: network.labels)
                    }
                }
            }
            for s in 0..<warmup { try step(s) }
            try launch.comm.barrier()
            network.profile.reset()
            if trace != nil { network.profile.trace = [] }
            network.profile.origin = now()
            for s in 0..<steps { try step(warmup + s) }
            let blocks = network.profile.record.blockBytes(ranks: launch.comm.size)
            let alone = try timeAllgatherAlone(comm: launch.comm, blockBytes: launch.comm.size > 1 ? blocks : [])
            if let trace {
                try writeTrace(network.profile, comm: launch.comm,
                               label: "rank \(launch.comm.rank) (group\(placement.groupsPerRank > 1 ? "s" : "") \(placement.localGroups.map(String.init).joined(separator: ", ")))",
                               to: trace)
            }
            let report = try ProfileReport.gather(network.profile, comm: launch.comm, config: config.name, batch: N,
                                                  groups: spec.groups, alone: alone)
            if let report {
                let c = launch.console
                c.print("profile \(config.name): \(spec.groups) group(s) on \(launch.comm.size) rank(s), batch \(N), \(steps) steps after \(warmup) warm-up; per step:")
                c.print(report.table(rank: 0), terminator: "")
                for r in 1..<report.ranks.count {
                    let rec = report.ranks[r]
                    let comm = rec.layers.reduce(0) { $0 + ($1.exchangeForward?.seconds ?? 0) + ($1.exchangeBackward?.seconds ?? 0) } + rec.logits.seconds
                    c.print(String(format: "rank %d: step %.2f ms, communication %.2f ms (%.1f%%)", r,
                                   rec.stepSeconds / Double(rec.steps) * 1e3, comm / Double(rec.steps) * 1e3, 100 * comm / rec.stepSeconds))
                }
                if launch.comm.size > 1 { c.print(report.bandwidthTable(rank: 0), terminator: "") }
                if let json { try writeAtomically(try report.json(), to: json); c.print("counters of every rank: \(json)") }
                if let trace { c.print("timeline: \(trace) (Chrome trace-event JSON; open in https://ui.perfetto.dev or chrome://tracing)") }
            }
        }
    }
}
