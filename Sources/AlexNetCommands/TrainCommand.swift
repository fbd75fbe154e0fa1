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

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model and write a run directory (config, metrics.csv, steps.csv, model/).")

    @OptionGroup var configOption: ConfigOption
    @OptionGroup var epochsOption: EpochsOption
    @Option(parsing: .unconditional, help: "Stop after this many training steps in all.") var steps: Int?
    @OptionGroup var replicaOption: ReplicaOption
    @Option(help: "Data directory (default: the config's data.dir).") var data: String?
    @Option(help: "Run directory to write (default: runs/<config name>-<time>).") var out: String?
    @Option(parsing: .unconditional, help: "Random seed (default: the config's train.seed).") var seed: UInt64?
    @Option(name: .customLong("log-every"), parsing: .unconditional, help: "Write the loss and errors of every K-th step to steps.csv.") var logEvery: Int = 0
    @Option(name: .customLong("checkpoint-every"), parsing: .unconditional, help: "Checkpoint every N steps (\"500\") or N epochs (\"1e\"); \"0\" for none. The end of the run is always checkpointed.")
    var checkpointEvery: String = "1e"
    @Option(help: "Continue the run in this directory from its latest complete checkpoint (its config.yaml is used).") var resume: String?
    @Flag(help: "Keep every rank's compute and communication counters for the whole run; write them to profile.json.") var profile = false
    @Option(help: "Write a Chrome trace-event timeline of the run (every step: big for long runs).") var trace: String?
    @Flag(name: .customLong("ignore-memory-limit"), help: "Run even if a rank needs more memory than the config's device has.") var ignoreMemoryLimit = false
    @OptionGroup var threads: ThreadOption

    func validate() throws {
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps).") }
        if logEvery < 0 { throw ValidationError("--log-every must not be negative, got \(logEvery).") }
        if checkpointEvery != "0" && CheckpointEvery(checkpointEvery) == nil {
            throw ValidationError("--checkpoint-every takes a number of steps (500) or epochs (1e), or 0 for none; got \(checkpointEvery).")
        }
        if resume != nil && (seed != nil || out != nil) {
            throw ValidationError("--resume continues a run with its own seed and directory: drop --seed and --out.")
        }
        if resume != nil && replicaOption.replicas != nil {
            throw ValidationError("--resume continues a run with its own replicas (they are part of the model): drop --replicas.")
        }
        if resume != nil && configOption.config != nil {
            throw ValidationError("--resume continues a run with its own config.yaml: drop --config (--epochs and --steps still apply).")
        }
    }

    func run() throws {
        try Launch.run(threads: threads.threads) { launch in
            try launch.checkOutputs([(trace, .trace)])
            // The config (the run's own on a resume), then every check, then the network: all of
            // it before the run directory is made, so a refusal leaves nothing behind.
            let resumed = try resume.map { try RunDirectory(existing: $0) }
            var config = try resumed?.config() ?? RunConfig.load(configOption.path)
            if let epochs = epochsOption.epochs { config.train.epochs = epochs }
            if let seed { config.train.seed = seed }
            if let replicas = replicaOption.replicas { config.model.replicas = replicas }
            if let data { config.data.dir = data }
            // The paper's check (`lint`) on the valid config, before the job (which validates it
            // again). Train's own: the arms of `ablate` depart from the paper on purpose.
            do { try config.validate() } catch { throw ConfigError("\(error)") }
            try checkFidelity(config, resumed: resumed != nil, console: launch.console)
            var job = TrainJob(config: config, out: out, resume: resumed)
            job.steps = steps; job.logEvery = logEvery; job.checkpointEvery = CheckpointEvery(checkpointEvery)
            job.profile = profile; job.trace = trace; job.deviceMemory = !ignoreMemoryLimit
            job.ranksPerReplica = replicaOption.ranksPerReplica
            try job.run(launch)
        }
    }

    /// The paper's check (`alexnet-mp lint`), before any work: an undeclared refusal stops a new
    /// run (one line, every rank exits 1); every other undeclared departure is a warning, printed
    /// by rank 0. A resumed run only warns: its model is the one its checkpoints hold.
    func checkFidelity(_ config: RunConfig, resumed: Bool, console: Console) throws {
        let twin = resumed ? nil : Fidelity.twinPath(of: config, at: configOption.path).flatMap { try? RunConfig.load($0) }
        let undeclared = try Fidelity.departures(of: config, twin: twin).filter { $0.declared == nil }
        if !resumed, let error = undeclared.first(where: \.isError) { throw ConfigError("config \(configOption.path): \(error.message)") }
        for var d in undeclared {
            d.refused = false
            console.warning(d.message)
        }
    }
}

/// One training run as `train` makes it: every check, then the network, then the run directory
/// (made only after everything was accepted), then the trainer; or the resumption of `resume`.
/// `train` runs one; `ablate` runs one per arm and seed.
struct TrainJob {
    var config: RunConfig
    /// The run directory to make (nil: runs/<name>-<time>); ignored on a resume.
    var out: String?
    var resume: RunDirectory?
    var steps: Int?
    var logEvery = 0
    var checkpointEvery: CheckpointEvery? = CheckpointEvery("1e")
    var profile = false
    var trace: String?
    var deviceMemory = true
    var ranksPerReplica: Int?
    /// The new run's id (nil: a fresh one); `ablate` records it before the run starts.
    var runID: String?

    init(config: RunConfig, out: String?, resume: RunDirectory? = nil) {
        self.config = config; self.out = out; self.resume = resume
    }

    /// Trains; returns the run directory.
    @discardableResult
    func run(_ launch: Launch) throws -> RunDirectory {
        let config = self.config
        do { try config.validate() } catch { throw ConfigError("\(error)") }
        let session = try launch.session(config, deviceMemory: deviceMemory, ranksPerReplica: ranksPerReplica)
        let network = session.network, spec = config.model
        let batcher = try RunData.load(config).batcher
        _ = try Trainer.stepsPerEpoch(batcher, batch: config.train.batch)
        launch.announceBLAS()
        let (run, runID) = try resume.map { ($0, $0.info()?.runID) } ?? makeRunDirectory(config, launch: launch, placement: session.placement, out: out, runID: runID)

        let perRank = try launch.comm.allgather(Double(network.localParameterCount))
        let place = session.placement
        launch.console.print("model \(config.name): \(spec.groups) group\(spec.groups == 1 ? "" : "s")\(spec.replicas > 1 ? " × \(spec.replicas) replicas" : "") on \(launch.comm.size) rank\(launch.comm.size == 1 ? "" : "s"), \(try spec.parameterCount().formatted()) parameters; "
            + perRank.enumerated().map { r in
                let replica = place.replica == nil ? "" : ", replica \(r.offset / place.ranksPerReplica)"
                let groups = place.groups(ofRank: r.offset)
                return "rank \(r.offset) holds \(Int(r.element).formatted()) (group\(groups.count == 1 ? "" : "s") \(groups.map(String.init).joined(separator: ", "))\(replica))"
            }.joined(separator: ", "))
        launch.console.print("data: \(batcher.train.count) training and \(batcher.test.count) validation images of \(batcher.train.height)×\(batcher.train.width); run directory \(run.path)")

        var options = TrainOptions(outDir: run.path, maxSteps: steps, logEvery: logEvery, profile: profile, trace: trace)
        options.checkpointEvery = checkpointEvery
        options.runID = runID
        let trainer = Trainer(config: config, network: network, batcher: batcher, console: launch.console, options: options)
        var state: TrainerState?
        if let resume {
            guard let latest = Checkpoint.latest(resume.path, warn: launch.console.warning) else {
                throw TrainingError("\(resume.path): no complete checkpoint to resume from", onEveryRank: true)
            }
            state = try Checkpoint.read(network, from: latest)
            if let a = runID, let b = state?.runID, a != b {
                throw TrainingError("\(latest): belongs to run \(b), but \(run.file(RunDirectory.infoFile)) says this run is \(a): the checkpoint was copied in from another run", onEveryRank: true)
            }
            launch.console.print("resuming \(resume.path) from \(latest): step \(state!.globalStep), epoch \(state!.epoch)")
        }
        StopSignal.install(acknowledge: launch.comm.rank == 0 ? StopSignal.trainingLines : nil)
        try trainer.run(epochs: config.train.epochs, resume: state)
        if let report = trainer.profileReport {
            launch.console.print("profile of the run (rank 0, per step):")
            launch.console.print(report.table(rank: 0), terminator: "")
        }
        return run
    }

    /// Rank 0 makes the run directory (`--out`, or `runs/<name>-<time>`) with config.yaml and
    /// run.yaml, and tells every rank its path and the run's id, or the refusal every rank then
    /// stops with.
    func makeRunDirectory(_ config: RunConfig, launch: Launch, placement: Placement, out: String?, runID: String?) throws -> (RunDirectory, String?) {
        var message = [UInt8]()
        if launch.comm.rank == 0 {
            let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
            let info = RunInfo(ranks: launch.comm.size, groups: config.model.groups, ranksPerReplica: placement.ranksPerReplica,
                               coresPerRank: launch.cores,
                               blasCore: BLAS.coreName, elementwiseKernels: ElementwiseKernels.isa,
                               command: CommandLine.arguments.joined(separator: " "), runID: runID ?? RunInfo.newID())
            do {
                let run = try RunDirectory.create(out ?? "runs/\(config.name)-\(stamp)", config: config, info: info)
                message = Array(("ok\u{0}" + run.path + "\u{0}" + info.runID).utf8)
            } catch { message = Array("\(error)".utf8) }
        }
        try launch.comm.broadcast(&message, root: 0)
        let parts = String(decoding: message, as: UTF8.self).split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts[0] == "ok" else { throw ConfigError(parts.joined()) }
        return (try RunDirectory(existing: parts[1]), parts[2])
    }
}
