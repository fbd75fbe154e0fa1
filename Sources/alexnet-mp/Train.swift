import AlexNetCore
import AlexNetParallel
import AlexNetTraining
import ArgumentParser
import Foundation

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model and write a run directory (config, metrics.csv, steps.csv, model/).")

    @OptionGroup var configOption: ConfigOption
    @Option(help: "Epochs to train (default: the config's train.epochs).") var epochs: Int?
    @Option(help: "Stop after this many training steps in all.") var steps: Int?
    @Option(help: "Data directory (default: the config's data.dir).") var data: String?
    @Option(help: "Run directory to write (default: runs/<config name>-<time>).") var out: String?
    @Option(help: "Random seed (default: the config's train.seed).") var seed: UInt64?
    @Option(name: .customLong("log-every"), help: "Write the loss and errors of every K-th step to steps.csv.") var logEvery: Int = 0
    @Option(name: .customLong("checkpoint-every"), help: "Checkpoint every N steps (\"500\") or N epochs (\"1e\"); \"0\" for none. The end of the run is always checkpointed.")
    var checkpointEvery: String = "1e"
    @Option(help: "Continue the run in this directory from its latest complete checkpoint (its config.yaml is used).") var resume: String?
    @Flag(help: "Keep every rank's compute and communication counters for the whole run; write them to profile.json.") var profile = false
    @Option(help: "Write a Chrome trace-event timeline of the run (every step: big for long runs).") var trace: String?
    @Flag(name: .customLong("ignore-memory-limit"), help: "Run even if a rank needs more memory than the config's device has.") var ignoreMemoryLimit = false
    @OptionGroup var threads: ThreadOption

    func validate() throws {
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs).") }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps).") }
        if logEvery < 0 { throw ValidationError("--log-every must not be negative, got \(logEvery).") }
        if checkpointEvery != "0" && CheckpointEvery(checkpointEvery) == nil {
            throw ValidationError("--checkpoint-every takes a number of steps (500) or epochs (1e), or 0 for none; got \(checkpointEvery).")
        }
        if resume != nil && (seed != nil || out != nil) {
            throw ValidationError("--resume continues a run with its own seed and directory: drop --seed and --out.")
        }
    }

    func run() throws {
        try Launch.run(threads: threads.threads) { launch in
            var config = try RunConfig.load(resume.map { ($0 as NSString).appendingPathComponent("config.yaml") } ?? configOption.config)
            if let epochs { config.train.epochs = epochs }
            if let seed { config.train.seed = seed }
            if let data { config.data.dir = data }
            let spec = try config.model.spec()
            let placement = try launch.placement(groups: spec.groups)
            if !ignoreMemoryLimit { try checkDeviceMemory(config, devices: launch.comm.size) }
            let batcher = try RunData.load(config).batcher
            let threads = launch.threadPlan(placement)
            launch.announceBLAS()

            let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
            // Rank 0 names the run directory, or refuses one that holds another run (its checkpoints
            // would mix with this run's): an empty name tells every rank so.
            let wanted = resume ?? out ?? "runs/\(config.name)-\(stamp)"
            let taken = launch.comm.rank == 0 && resume == nil
                && FileManager.default.fileExists(atPath: (wanted as NSString).appendingPathComponent("config.yaml"))
            var dirBytes = taken ? [] : Array(wanted.utf8)
            try launch.comm.broadcast(&dirBytes, root: 0)
            let dir = String(decoding: dirBytes, as: UTF8.self)
            guard !dir.isEmpty else {
                throw TrainingError("\(wanted): holds a run already (config.yaml): continue it with --resume \(wanted), or choose another --out", onEveryRank: true)
            }
            if launch.comm.rank == 0 && resume == nil {
                do {
                    try FileManager.default.createDirectory(atPath: dir + "/model", withIntermediateDirectories: true)
                } catch { throw TrainingError("\(dir): cannot create the run directory: \(error.localizedDescription)") }
                try writeAtomically(try config.yaml(), to: dir + "/config.yaml")
                try writeAtomically("""
                    # how this run was placed and started (config.yaml holds the model and training settings)
                    ranks: \(launch.comm.size)
                    groups: \(spec.groups)
                    cores_per_rank: \(launch.cores)
                    blas_core: \(BLAS.coreName)
                    elementwise_kernels: \(ElementwiseKernels.isa)
                    command: \(CommandLine.arguments.joined(separator: " "))

                    """, to: dir + "/run.yaml")
            }
            try launch.comm.barrier()

            let network = try Network(spec: spec, batch: config.train.batch, placement: placement, comm: launch.comm,
                                      seed: config.train.seed, concurrentGroups: threads.concurrentGroups)
            let total = try spec.parameterCount()
            var perRank = [Double](repeating: 0, count: launch.comm.size)
            perRank[launch.comm.rank] = Double(network.localParameterCount)
            try launch.comm.allreduceSum(&perRank)
            launch.console.print("model \(config.name): \(spec.groups) group\(spec.groups == 1 ? "" : "s") on \(launch.comm.size) rank\(launch.comm.size == 1 ? "" : "s"), \(total.formatted()) parameters; "
                + perRank.enumerated().map { "rank \($0.offset) holds \(Int($0.element).formatted()) (groups \(Placement.groupsText(try! launch.placement(groups: spec.groups), rank: $0.offset)))" }.joined(separator: ", "))
            launch.console.print("data: \(batcher.train.count) training and \(batcher.test.count) validation images of \(batcher.train.height)×\(batcher.train.width); run directory \(dir)")

            var options = TrainOptions(outDir: dir, maxSteps: steps, logEvery: logEvery, profile: profile, trace: trace)
            options.checkpointEvery = CheckpointEvery(checkpointEvery)
            let trainer = Trainer(config: config, network: network, batcher: batcher, console: launch.console, options: options)
            var state: TrainerState?
            if let resume {
                guard let latest = Checkpoint.latest(resume, warn: launch.console.warning) else {
                    throw TrainingError("\(resume): no complete checkpoint to resume from", onEveryRank: true)
                }
                state = try Checkpoint.read(network, from: latest)
                launch.console.print("resuming \(resume) from \(latest): step \(state!.globalStep), epoch \(state!.epoch)")
            }
            StopSignal.install(acknowledge: launch.comm.rank == 0 ? StopSignal.trainingLines : nil)
            try trainer.run(epochs: config.train.epochs, resume: state)
        }
    }
}

extension Placement {
    static func groupsText(_ p: Placement, rank: Int) -> String {
        let per = p.groupsPerRank
        return ((rank * per)..<((rank + 1) * per)).map(String.init).joined(separator: ", ")
    }
}
