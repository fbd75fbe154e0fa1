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

struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Run training steps after a warm-up and show, per layer, compute and communication time, bytes moved and share of the step.")

    @OptionGroup var configOption: ConfigOption
    @Option(parsing: .unconditional, help: "Timed steps, after the warm-up.") var steps: Int = 20
    @Option(parsing: .unconditional, help: "Warm-up steps, not timed.") var warmup: Int = 3
    @Option(parsing: .unconditional, help: "Minibatch size (default: the config's train.batch).") var batch: Int?
    @Option(help: "Write a Chrome trace-event timeline (open in Perfetto or chrome://tracing).") var trace: String?
    @Option(help: "Write every rank's counters as JSON.") var json: String?
    @Option(help: "Data directory (default: the config's data.dir).") var data: String?
    @Flag(help: "Use random images instead of the data set (also used when the data directory does not exist).") var synthetic = false
    @Flag(name: .customLong("no-prefetch"), help: "Build each minibatch at the start of its step instead of on a background thread during the previous one.") var noPrefetch = false
    @Option(name: .customLong("compare-with"), help: "A device file from `calibrate` on this placement: print what it predicts for each layer beside what was measured.")
    var compareWith: String?
    @OptionGroup var replicaOption: ReplicaOption
    @OptionGroup var threads: ThreadOption

    func validate() throws {
        if steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps).") }
        if warmup < 0 { throw ValidationError("--warmup must not be negative, got \(warmup).") }
        if let batch, batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch).") }
    }

    func run() throws {
        try Launch.run(threads: threads.threads) { launch in
            try launch.checkOutputs([(trace, .trace), (json, .profile)])
            let config = try replicaOption.apply(to: RunConfig.load(configOption.path))
            let predictor = try compareWith.map { try RunConfig.loadDevice($0) }
            let dir = data ?? config.data.dir
            let useData = !synthetic && fileType(dir) != nil
            let batcher = useData ? try RunData.load(config, dataDir: dir).batcher : nil
            let session = try launch.session(config, batch: batch, ranksPerReplica: replicaOption.ranksPerReplica)
            let network = session.network, placement = session.placement, N = network.globalBatch
            launch.announceBLAS()
            let perEpoch = try batcher.map { try Trainer.stepsPerEpoch($0, batch: N) } ?? 1
            let prefetcher = noPrefetch ? nil : batcher.map { Prefetcher(batcher: $0, batch: N, parts: placement.replicas) }
            if batcher == nil {
                fillRandom(network)
                launch.console.print("profile: random images (\(synthetic ? "--synthetic" : "no data at \(dir)"))")
            }
            // Minibatch s of the data set (replica r's slice of it), epoch after epoch, as train would draw it.
            func fill(_ s: Int, _ r: Int) {
                let at = Prefetcher.Batch(epoch: 1 + s / perEpoch, step: s % perEpoch, part: r)
                if let prefetcher {
                    prefetcher.fill(at, next: Prefetcher.next(after: at, parts: network.localReplicas, stepsPerEpoch: perEpoch),
                                    input: network.input.data, labels: network.labels)
                } else {
                    batcher?.fillTraining(epoch: at.epoch, step: at.step, batch: N, part: (r, placement.replicas),
                                          input: network.input.data, labels: network.labels)
                }
            }
            _ = try measureSteps(network, steps: steps, warmup: warmup, learningRate: config.train.lr, trace: trace != nil,
                                 fill: batcher == nil ? nil : fill)
            // The exchanges' collectives, each timed alone on the same ranks (those of one replica).
            let blocks = network.profile.record.blockBytes(ranks: network.groupComm.size)
            let alone = try timeAllgatherAlone(comm: network.groupComm, blockBytes: network.groupComm.size > 1 ? blocks : [])
            if let trace {
                try writeTrace(network.profile, comm: launch.comm,
                               label: "rank \(launch.comm.rank) (group\(placement.groupsPerRank > 1 ? "s" : "") \(placement.localGroups.map(String.init).joined(separator: ", ")))",
                               to: trace)
            }
            let report = try ProfileReport.gather(network.profile, comm: launch.comm, config: config.name, batch: N,
                                                  groups: config.model.groups, alone: alone)
            if let report {
                let c = launch.console
                c.print("profile \(config.name): \(config.model.groups) group(s) on \(launch.comm.size) rank(s), batch \(N), \(steps) steps after \(warmup) warm-up; per step:")
                c.print(report.table(rank: 0), terminator: "")
                for r in 1..<report.ranks.count {
                    let rec = report.ranks[r]
                    let comm = rec.communicationSeconds
                    c.print(String(format: "rank %d: step %.2f ms, communication %.2f ms (%.1f%%%@)", r,
                                   rec.stepSeconds / Double(rec.steps) * 1e3, comm / Double(rec.steps) * 1e3, 100 * comm / rec.stepSeconds,
                                   rec.waitingText(steps: Double(rec.steps))))
                }
                if launch.comm.size > 1 { c.print(report.bandwidthTable(rank: 0), terminator: "") }
                if let predictor {
                    c.print(try predictionTable(report.ranks[0], spec: config.model, batch: N, device: predictor, placement: placement,
                                                concurrentGroups: session.threads.concurrentGroups, file: compareWith!), terminator: "")
                }
                if let json { try writeAtomically(try report.json(), to: json); c.print("counters of every rank: \(json)") }
                if let trace { c.print("timeline: \(trace) (Chrome trace-event JSON; open in https://ui.perfetto.dev or chrome://tracing)") }
            }
        }
    }
}
