import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import AlexNetSimulator
import Foundation

/// Metrics of one epoch, one row of `metrics.csv`.
public struct EpochMetrics: Codable, Sendable, Equatable {
    public var epoch: Int
    public var steps: Int
    public var loss: Double
    public var trainErrorTop1: Double, trainErrorTop5: Double
    public var validationErrorTop1: Double, validationErrorTop5: Double
    public var learningRate: Double
    public var imagesPerSecond: Double
    public var seconds: Double

    public init(epoch: Int, steps: Int, loss: Double, trainErrorTop1: Double, trainErrorTop5: Double,
                validationErrorTop1: Double, validationErrorTop5: Double, learningRate: Double, imagesPerSecond: Double,
                seconds: Double) {
        self.epoch = epoch; self.steps = steps; self.loss = loss; self.trainErrorTop1 = trainErrorTop1
        self.trainErrorTop5 = trainErrorTop5; self.validationErrorTop1 = validationErrorTop1
        self.validationErrorTop5 = validationErrorTop5; self.learningRate = learningRate
        self.imagesPerSecond = imagesPerSecond; self.seconds = seconds
    }

    public static let csvHeader = "epoch,steps,loss,train_top1_error,train_top5_error,val_top1_error,val_top5_error,learning_rate,images_per_second,seconds"
    public var csvRow: String {
        String(format: "%d,%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6g,%.1f,%.2f", epoch, steps, loss, trainErrorTop1, trainErrorTop5,
               validationErrorTop1, validationErrorTop5, learningRate, imagesPerSecond, seconds)
    }
}

/// Options of one training run that are not part of the config.
public struct TrainOptions: Sendable {
    public var outDir: String
    /// Stop after this many steps in all (nil: run every epoch).
    public var maxSteps: Int?
    /// Write every K-th step's loss and errors to `steps.csv` (0: none).
    public var logEvery = 0
    /// Write every rank's profile counters for the whole run to `profile.json`.
    public var profile = false
    /// Write a Chrome trace-event timeline of the run here.
    public var trace: String?
    /// Checkpoint cadence (nil: no checkpoints).
    public var checkpointEvery: CheckpointEvery?
    /// Build the next minibatch on a background thread during the step (see `Prefetcher`).
    public var prefetch = true
    /// The run's id (run.yaml), which every shard it writes carries.
    public var runID: String?
    public init(outDir: String, maxSteps: Int? = nil, logEvery: Int = 0, profile: Bool = false, trace: String? = nil) {
        self.outDir = outDir; self.maxSteps = maxSteps; self.logEvery = logEvery; self.profile = profile; self.trace = trace
    }
}

/// Trains a network on this rank's groups. Every rank runs the same loop on the same minibatch;
/// rank 0 alone prints and writes the run directory's shared files; each rank writes its own
/// groups' parameter shards.
public final class Trainer {
    public let config: RunConfig
    public let network: Network
    public let batcher: Batcher
    public let console: Console
    public let options: TrainOptions
    public private(set) var schedule: Schedule
    public private(set) var history: [EpochMetrics] = []
    /// Every rank's counters for the whole run, on rank 0 after a run with `options.profile`.
    public private(set) var profileReport: ProfileReport?
    let sgd: SGD
    let prefetcher: Prefetcher?

    public init(config: RunConfig, network: Network, batcher: Batcher, console: Console, options: TrainOptions) {
        self.config = config; self.network = network; self.batcher = batcher; self.console = console; self.options = options
        schedule = Schedule(config.train.schedule, initial: config.train.lr)
        sgd = SGD(momentum: config.train.momentum, weightDecay: config.train.weightDecay)
        prefetcher = options.prefetch ? Prefetcher(batcher: batcher, batch: network.globalBatch, parts: network.placement.replicas) : nil
    }

    var rank: Int { network.comm.rank }
    var dir: String { options.outDir }
    func file(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

    /// One training step on minibatch `step` of `epoch`; returns its loss and error counts.
    @discardableResult
    public func step(epoch: Int, step: Int, globalStep: Int) throws -> SoftmaxCrossEntropy.Result {
        try trainingStep(network, sgd: sgd, learningRate: schedule.learningRate, globalStep: globalStep) { replica in
            fillSlice(Prefetcher.Batch(epoch: epoch, step: step, part: replica))
        }
    }

    /// Fills the network's input with slice `b.part` of a minibatch (the whole one with one
    /// replica), prefetched during the previous step when it can be.
    func fillSlice(_ b: Prefetcher.Batch) {
        let N = network.globalBatch
        if let prefetcher {
            let next = Prefetcher.next(after: b, parts: network.localReplicas, stepsPerEpoch: batcher.stepsPerEpoch(batch: N))
            prefetcher.fill(b, next: next, input: network.input.data, labels: network.labels)
        } else {
            batcher.fillTraining(epoch: b.epoch, step: b.step, batch: N, part: (b.part, network.placement.replicas),
                                 input: network.input.data, labels: network.labels)
        }
    }

    /// The error over `set` (default: the test set), centre crops or `views` views; see `Evaluator`.
    public func evaluate(_ set: ImageSet? = nil, views: Int = 1) throws -> (centre: Evaluation, averaged: Evaluation) {
        try Evaluator(network: network, batcher: batcher).run(set, views: views)!
    }

    /// The steps of an epoch; refuses a minibatch larger than the training set (before any
    /// run directory is made: `train` asks first).
    public static func stepsPerEpoch(_ batcher: Batcher, batch: Int) throws -> Int {
        let n = batcher.stepsPerEpoch(batch: batch)
        guard n >= 1 else { throw ConfigError("train.batch: \(batch) is larger than the \(batcher.train.count) training images") }
        return n
    }

    /// Trains until `epochs` (or `options.maxSteps`), starting from `resume` when given.
    public func run(epochs: Int, resume: TrainerState? = nil) throws {
        let N = network.globalBatch
        let stepsPerEpoch = try Trainer.stepsPerEpoch(batcher, batch: N)
        var state = resume ?? TrainerState(schedule: schedule, groups: network.spec.groups,
                                           fingerprint: ModelFile.fingerprint(network.spec), runID: options.runID)
        if resume == nil { state.replicas = network.spec.replicas }
        // A position the data does not have (another batch, another data set, or an edited state.json).
        // (A checkpoint of a stop during validation is at the end of its epoch: step in it = steps per epoch.)
        guard state.stepInEpoch <= stepsPerEpoch, state.globalStep == (state.epoch - 1) * stepsPerEpoch + state.stepInEpoch else {
            throw TrainingError("\(dir): the checkpoint is at step \(state.globalStep) (epoch \(state.epoch), step \(state.stepInEpoch) in it), which an epoch of \(stepsPerEpoch) steps of \(N) images cannot reach: the data or the minibatch differ from the run's", onEveryRank: true)
        }
        schedule = state.schedule
        history = state.history
        let stepsHeader = "step,epoch,loss,top1_error,top5_error,learning_rate\n"
        if rank == 0 {
            // On a resume, the files hold what the checkpoint holds and nothing after it.
            try writeAtomically(EpochMetrics.csvHeader + "\n" + history.map { $0.csvRow + "\n" }.joined(), to: file("metrics.csv"))
            if options.logEvery > 0 {
                var kept = stepsHeader
                if resume != nil, let old = try? readText(file(RunDirectory.stepsFile), limit: 1 << 30) {
                    // Whole rows only (a crash can cut the last one short), up to the checkpoint's step.
                    for line in old.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().dropLast() {
                        let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                        if fields.count == 6, let s = Int(fields[0]), s <= state.globalStep { kept += line + "\n" }
                    }
                }
                try writeAtomically(kept, to: file("steps.csv"))
            }
        }
        let metricsOut = rank == 0 ? try AppendFile(file("metrics.csv")) : nil
        let stepsOut = rank == 0 && options.logEvery > 0 ? try AppendFile(file("steps.csv")) : nil
        var lastCheckpoint = resume.map { "step \($0.globalStep)" }
        /// Appends a row; a failure (a full disk) says which checkpoint a resume would start from.
        func append(_ row: String, to out: AppendFile?) throws {
            do { try out?.append(row) } catch {
                throw TrainingError("\(error); " + (lastCheckpoint.map { "the last checkpoint (\($0)) is kept" } ?? "no checkpoint was written yet"))
            }
        }

        // A prepared directory without val/: train all the same, and say what is missing.
        let validating = batcher.test.count > 0
        if !validating {
            let schedule = config.train.schedule.type == .plateau
                ? "the plateau schedule divides the rate when the epoch's training top-1 error (with augmentation and dropout) stops improving instead"
                : "the \(config.train.schedule.type.rawValue) schedule does not use it"
            console.print("note: no validation split in the data (prepare found no val/ folder): no validation error is measured (nan in metrics.csv); \(schedule)")
        }
        let fault = Fault.fromEnvironment()
        if options.trace != nil { network.profile.trace = [] }
        network.profile.reset()
        network.profile.origin = now()
        let lnClasses = Foundation.log(Double(network.spec.classes))
        let start = now(), firstStep = state.globalStep
        func checkpoint() throws {
            state.schedule = schedule
            state.history = history
            try Checkpoint.write(network, state: state, run: dir)
            lastCheckpoint = "step \(state.globalStep)"
        }
        var stopped = false
        while state.epoch <= epochs && !stopped {
            let epoch = state.epoch
            let t0 = now()
            while state.stepInEpoch < stepsPerEpoch {
                if let m = options.maxSteps, state.globalStep >= m { stopped = true; break }
                if let f = fault, f.rank == rank, f.step == state.globalStep + 1 {
                    if f.kill { kill(getpid(), SIGKILL) }
                    throw TrainingError("injected fault before step \(f.step) (ALEXNET_MP_FAULT)")
                }
                let s = state.stepInEpoch
                let r = try step(epoch: epoch, step: s, globalStep: state.globalStep)
                guard r.loss.isFinite else {
                    // Every rank has the same loss: rank 0 names where any rank first saw non-finite values.
                    let origin = try firstNonFiniteOnAnyRank().map { "; the first non-finite values are in \($0)" } ?? ""
                    throw TrainingError("the loss became \(r.loss) at step \(state.globalStep + 1) (epoch \(epoch))\(origin); try a smaller train.lr (now \(schedule.learningRate)) or init: he. The last checkpoint is untouched.",
                                        onEveryRank: true)
                }
                state.globalStep += 1; state.stepInEpoch += 1; state.epochSteps += 1
                state.epochLoss += r.loss; state.epochErrorsTop1 += r.errorsTop1; state.epochErrorsTop5 += r.errorsTop5
                if options.logEvery > 0, state.globalStep % options.logEvery == 0 {
                    let line = String(format: "%d,%d,%.9g,%.6f,%.6f,%.6g\n", state.globalStep, epoch, r.loss,
                                      Double(r.errorsTop1) / Double(N), Double(r.errorsTop5) / Double(N), schedule.learningRate)
                    try append(line, to: stepsOut)
                }
                if case .steps(let k)? = options.checkpointEvery, state.globalStep % k == 0, state.stepInEpoch < stepsPerEpoch {
                    try checkpoint()
                }
                // Every rank stops at the same step: agree on whether any was signalled.
                if try stopRequestedOnAnyRank() {
                    try checkpoint()
                    console.print("stopped by a signal after step \(state.globalStep); checkpoint written. Continue with: alexnet-mp train --resume \(dir)")
                    return
                }
                let done = Double(state.globalStep - firstStep)
                let rate = done * Double(N) / (now() - start)
                let left = Double((epochs - epoch) * stepsPerEpoch + (stepsPerEpoch - s - 1)) * Double(N) / rate
                console.progress(String(format: "epoch %d/%d  step %d/%d  loss %.4f  %.0f img/s  %@ left",
                                        epoch, epochs, s + 1, stepsPerEpoch, state.epochLoss / Double(state.epochSteps), rate, formatDuration(left)))
            }
            let steps = state.epochSteps
            if steps == 0 { break }
            if stopped && options.checkpointEvery != nil { try checkpoint() }   // mid-epoch: resume continues this epoch
            let trainSeconds = now() - t0
            let val: Evaluation
            if validating {
                // A signal during validation stops it (every rank at the same batch): the checkpoint
                // holds every step of the epoch, and the resumed run validates the epoch again.
                guard let v = try Evaluator(network: network, batcher: batcher).run(shouldStop: stopRequestedOnAnyRank)?.centre else {
                    try checkpoint()
                    console.print("stopped by a signal while validating epoch \(epoch), after step \(state.globalStep); checkpoint written. Continue with: alexnet-mp train --resume \(dir)")
                    return
                }
                val = v
            } else {
                val = Evaluation(views: 1, top1: .nan, top5: .nan, loss: .nan)
            }
            let m = EpochMetrics(epoch: epoch, steps: steps, loss: state.epochLoss / Double(steps),
                                 trainErrorTop1: Double(state.epochErrorsTop1) / Double(steps * N),
                                 trainErrorTop5: Double(state.epochErrorsTop5) / Double(steps * N),
                                 validationErrorTop1: val.top1, validationErrorTop5: val.top5,
                                 learningRate: schedule.learningRate, imagesPerSecond: Double(steps * N) / trainSeconds,
                                 seconds: now() - t0)
            try append(m.csvRow + "\n", to: metricsOut)
            let valText = validating ? String(format: "val top-1 %.2f%% top-5 %.2f%%", 100 * m.validationErrorTop1, 100 * m.validationErrorTop5)
                                     : "no validation"
            console.print(String(format: "epoch %d%@: loss %.4f  train top-1 %.2f%%  %@  lr %g  %.0f img/s  %.1f s",
                                 epoch, stopped ? " (partial)" : "", m.loss, 100 * m.trainErrorTop1, valText,
                                 m.learningRate, m.imagesPerSecond, m.seconds))
            history.append(m)
            if stopped { break }   // shown and written, but not in the checkpoint: a resume finishes this epoch
            // At chance level: the loss never got below ln(classes), and the error is what guessing gives.
            let chanceError = 1 - 1 / Double(network.spec.classes)
            if m.loss >= 0.99 * lnClasses && m.trainErrorTop1 >= 0.95 * chanceError {
                console.warning(String(format: "the training loss stayed at ln(%d) = %.3f or above for all of epoch %d (%.3f, training error %.1f%%): the net is at chance level. With init: paper on a small net this is expected; try init: he, or check train.lr and the data scale.",
                                       network.spec.classes, lnClasses, epoch, m.loss, 100 * m.trainErrorTop1))
            }
            if schedule.endEpoch(epoch, validationError: validating ? m.validationErrorTop1 : m.trainErrorTop1) {
                console.print("learning rate divided by \(Int((1 / config.train.schedule.factor).rounded())): now \(schedule.learningRate)")
            }
            state.epoch += 1; state.stepInEpoch = 0
            state.epochLoss = 0; state.epochErrorsTop1 = 0; state.epochErrorsTop5 = 0; state.epochSteps = 0
            if let every = options.checkpointEvery {
                let finished = state.epoch > epochs || (options.maxSteps.map { state.globalStep >= $0 } ?? false)
                let due: Bool
                switch every {
                case .epochs(let k): due = epoch % k == 0 || finished
                case .steps(let k): due = state.globalStep % k == 0 || finished
                }
                if due { try checkpoint() }
            }
        }
        try saveModel(binding: state.binding)
        if options.profile {
            profileReport = try ProfileReport.gather(network.profile, comm: network.comm, config: config.name,
                                                     batch: N, groups: network.spec.groups, alone: [])
            if let profileReport { try writeAtomically(try profileReport.json(), to: file("profile.json")) }
        }
        if let trace = options.trace {
            try writeTrace(network.profile, comm: network.comm, label: "rank \(rank)", to: trace)
        }
        if let last = history.last {
            let result = validating
                ? String(format: "final val top-1 %.2f%% top-5 %.2f%%, best top-1 %.2f%%", 100 * last.validationErrorTop1,
                         100 * last.validationErrorTop5, 100 * (history.map(\.validationErrorTop1).min() ?? 1))
                : String(format: "final train top-1 %.2f%% (no validation split)", 100 * last.trainErrorTop1)
            console.print("done: \(state.globalStep) steps in \(formatDuration(now() - start)), \(result); run directory \(dir)")
        }
    }

    /// Whether a stop signal (`StopSignal`) came to any rank: a collective, so that every rank
    /// stops at the same point.
    func stopRequestedOnAnyRank() throws -> Bool {
        try network.profile.measure(.control) { try network.comm.anyRank(StopSignal.requested) }
    }

    /// Where the first non-finite values are, on whichever rank has them earliest in the model
    /// (a collective; the answer is rank 0's to print).
    func firstNonFiniteOnAnyRank() throws -> String? {
        let found = try network.comm.gather(Array((network.firstNonFinite() ?? "").utf8), root: 0)
            .map { String(decoding: $0, as: UTF8.self) }.filter { !$0.isEmpty }
        func position(_ place: String) -> Int {
            if place.hasPrefix("the input") { return -1 }
            return network.spec.layers.firstIndex { place.contains(" of \($0.name) (") } ?? network.spec.layers.count
        }
        return found.min { position($0) < position($1) }
    }

    /// Each rank writes its own groups' shards into `<run>/model/`, bound to the run and its last step.
    public func saveModel(binding: ModelFile.Binding) throws {
        try ModelFile.writeModel(network, binding: binding, to: file(RunDirectory.modelDirectory))
    }
}

/// One SGD step — fill the minibatch, forward, loss, backward, update — each piece timed in
/// the network's profile. `train`, `bench` and `profile` all step through here. With replicas,
/// `fill(r)` fills replica r's slice of the minibatch; a rank computes its replicas' slices in
/// turn, the gradients are summed over the replicas, and the loss and the error counts are the
/// whole minibatch's (summed in replica order, so every placement prints the same numbers).
@discardableResult
public func trainingStep(_ network: Network, sgd: SGD, learningRate: Double, globalStep: Int,
                         fill: (_ replica: Int) -> Void) throws -> SoftmaxCrossEntropy.Result {
    let profile = network.profile
    return try profile.measureStep(globalStep) {
        let replicas = network.localReplicas
        var result = SoftmaxCrossEntropy.Result(loss: 0, errorsTop1: 0, errorsTop5: 0, images: 0)
        for (turn, r) in replicas.enumerated() {
            profile.measure(.data) { fill(r) }
            try network.forward(training: true, step: globalStep, replica: r)
            let slice = profile.measure(.loss) { network.loss(gradient: true) }
            try network.backward(turn: turn)
            if replicas.count == 1 { result = slice } else { Network.tally(slice, into: &result) }
        }
        try network.finishGradientSums()
        if replicas.count > 1 { result.loss /= Double(result.images) }
        if network.placement.replica != nil { result = try network.combineReplicas(result) }
        profile.measure(.update) { network.update(sgd, learningRate: learningRate) }
        return result
    }
}

extension Network {
    /// Adds a slice's loss (as a sum over its images) and error counts to the minibatch's; the
    /// caller adds the slices in replica order and divides the loss by the images at the end.
    static func tally(_ slice: SoftmaxCrossEntropy.Result, into total: inout SoftmaxCrossEntropy.Result) {
        total.loss += slice.loss * Double(slice.images)
        total.errorsTop1 += slice.errorsTop1; total.errorsTop5 += slice.errorsTop5
        total.images += slice.images; total.nonFinite += slice.nonFinite
    }

    /// The minibatch's result from every replica's slice (each rank holds its own): gathered
    /// over the replica communicator and added in replica order, as a rank that computes the
    /// replicas in turn adds them.
    func combineReplicas(_ mine: SoftmaxCrossEntropy.Result) throws -> SoftmaxCrossEntropy.Result {
        let parts = try [mine.loss, Double(mine.errorsTop1), Double(mine.errorsTop5), Double(mine.images), Double(mine.nonFinite)]
            .map { try replicaComm.allgather($0) }
        var total = SoftmaxCrossEntropy.Result(loss: 0, errorsTop1: 0, errorsTop5: 0, images: 0)
        for r in 0..<replicaComm.size {
            Network.tally(SoftmaxCrossEntropy.Result(loss: parts[0][r], errorsTop1: Int(parts[1][r]), errorsTop5: Int(parts[2][r]),
                                                     images: Int(parts[3][r]), nonFinite: Int(parts[4][r])), into: &total)
        }
        total.loss /= Double(total.images)
        return total
    }
}

public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
    /// Every rank meets this error at the same point, with the same message (a run with no
    /// checkpoint to resume, a damaged state.json, a non-finite loss): rank 0 alone prints it.
    public let onEveryRank: Bool
    public init(_ d: String, onEveryRank: Bool = false) { description = d; self.onEveryRank = onEveryRank }
}

extension ModelFile {
    /// Each rank writes its own groups' values into the model directory `dir` (a collective:
    /// every rank calls it, and it returns once every shard is on disk).
    public static func writeModel(_ network: Network, binding: Binding, to dir: String) throws {
        for g in network.placement.writesShards ? network.placement.localGroups : [] {
            try write(network.parameters(group: g), spec: network.spec, group: g, binding: binding, to: path(directory: dir, group: g))
        }
        try network.comm.barrier()
    }

    /// Reads this rank's groups of the model in directory `dir`, refusing shards that belong to
    /// different runs or steps (a shard copied in from elsewhere). Every rank learns every
    /// shard's binding, so a mix is refused on every rank, naming the odd shard.
    public static func readModel(_ network: Network, from dir: String) throws {
        let mine = try collectively(network.comm) {
            try network.placement.localGroups.map { g in
                (group: g, binding: try read(into: network.parameters(group: g), spec: network.spec, group: g, from: path(directory: dir, group: g)))
            }
        }
        // Every group's binding, on every rank (run id and step as two numbers; -1 for none).
        var all: [(group: Int, binding: Binding?)] = []
        for g in 0..<network.spec.groups {
            let b = mine.first { $0.group == g }?.binding
            let holder = network.placement.rank(of: g)
            let run = try network.comm.allgather(b.map { Double(bitPattern: $0.run) } ?? -1)[holder]
            let step = try network.comm.allgather(b.map { Double($0.step) } ?? -1)[holder]
            all.append((g, run == -1 && step == -1 ? nil : Binding(run: UInt64(run.bitPattern), step: Int(step))))
        }
        if let odd = all.first(where: { $0.binding != all[0].binding }) {
            throw TrainingError("\(path(directory: dir, group: odd.group)): belongs to \(odd.binding.map { "\($0)" } ?? "no run") but \(path(directory: dir, group: 0)) to \(all[0].binding.map { "\($0)" } ?? "no run"): the model mixes shards of two runs or steps", onEveryRank: true)
        }
    }
}
