import AlexNetCore
import AlexNetData
import AlexNetLayers
import AlexNetParallel
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
    public init(outDir: String, maxSteps: Int? = nil, logEvery: Int = 0, profile: Bool = false, trace: String? = nil) {
        self.outDir = outDir; self.maxSteps = maxSteps; self.logEvery = logEvery; self.profile = profile; self.trace = trace
    }
}

/// A fault to inject, for the tests that check a failing rank brings the job down:
/// `ALEXNET_MP_FAULT=RANK:STEP:throw` makes that rank throw before that (1-based) step,
/// `…:kill` makes it kill itself with SIGKILL.
struct Fault {
    let rank: Int, step: Int, kill: Bool
    static func fromEnvironment() -> Fault? {
        guard let v = ProcessInfo.processInfo.environment["ALEXNET_MP_FAULT"] else { return nil }
        let p = v.split(separator: ":").map(String.init)
        guard p.count == 3, let r = Int(p[0]), let s = Int(p[1]) else { return nil }
        return Fault(rank: r, step: s, kill: p[2] == "kill")
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
    let sgd: SGD
    let prefetcher: Prefetcher?

    public init(config: RunConfig, network: Network, batcher: Batcher, console: Console, options: TrainOptions) {
        self.config = config; self.network = network; self.batcher = batcher; self.console = console; self.options = options
        schedule = Schedule(config.train.schedule, initial: config.train.lr)
        sgd = SGD(momentum: config.train.momentum, weightDecay: config.train.weightDecay)
        prefetcher = options.prefetch ? Prefetcher(batcher: batcher, batch: network.batch) : nil
    }

    var rank: Int { network.comm.rank }
    var dir: String { options.outDir }
    func file(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

    /// One training step on minibatch `step` of `epoch`; returns its loss and error counts.
    @discardableResult
    public func step(epoch: Int, step: Int, globalStep: Int) throws -> SoftmaxCrossEntropy.Result {
        try trainingStep(network, sgd: sgd, learningRate: schedule.learningRate, globalStep: globalStep) {
            if let prefetcher {
                let last = step + 1 >= batcher.stepsPerEpoch(batch: network.batch)
                prefetcher.fill(epoch: epoch, step: step, next: last ? (epoch + 1, 0) : (epoch, step + 1),
                                input: network.input.data, labels: network.labels)
            } else {
                batcher.fillTraining(epoch: epoch, step: step, batch: network.batch, input: network.input.data, labels: network.labels)
            }
        }
    }

    /// Top-1 and top-5 error over a whole image set (the test set by default), centre crops.
    /// Error and loss over `set` (default: the test set). `logits`, when given, receives each
    /// image's logits in image order (`classes` floats per image).
    public func evaluate(_ set: ImageSet? = nil, logits: ((_ image: Int, _ values: [Float]) -> Void)? = nil) throws
        -> (top1: Double, top5: Double, loss: Double) {
        try network.profile.excluding { try evaluateCounted(set, logits: logits) }
    }

    func evaluateCounted(_ set: ImageSet?, logits: ((Int, [Float]) -> Void)? = nil) throws -> (top1: Double, top5: Double, loss: Double) {
        try evaluateCounted(set, logits: logits, stopOnSignal: false)!
    }

    /// `evaluateCounted`; with `stopOnSignal`, nil when a stop signal came to any rank (every
    /// rank checks before each batch and agrees on it).
    func evaluateCounted(_ set: ImageSet?, logits: ((Int, [Float]) -> Void)? = nil, stopOnSignal: Bool) throws
        -> (top1: Double, top5: Double, loss: Double)? {
        let set = set ?? batcher.test
        let N = network.batch
        var e1 = 0, e5 = 0, loss = 0.0, seen = 0
        var start = 0
        while start < set.count {
            if stopOnSignal, try stopRequestedOnAnyRank() { return nil }
            let valid = batcher.fillTest(start: start, batch: N, input: network.input.data, labels: network.labels, from: set)
            try network.forward(training: false, step: 0)
            let r = network.loss(valid: valid, gradient: false)
            e1 += r.errorsTop1; e5 += r.errorsTop5; loss += r.loss * Double(valid); seen += valid
            if let logits {
                let K = network.spec.classes, z = network.logits.data   // [classes][N]
                for n in 0..<valid { logits(start + n, (0..<K).map { z[$0 * N + n] }) }
            }
            start += N
        }
        return (Double(e1) / Double(seen), Double(e5) / Double(seen), loss / Double(seen))
    }

    /// Trains until `epochs` (or `options.maxSteps`), starting from `resume` when given.
    public func run(epochs: Int, resume: TrainerState? = nil) throws {
        let N = network.batch
        let stepsPerEpoch = batcher.stepsPerEpoch(batch: N)
        guard stepsPerEpoch >= 1 else {
            throw ConfigError("train.batch: \(N) is larger than the \(batcher.train.count) training images")
        }
        var state = resume ?? TrainerState(schedule: schedule, groups: network.spec.groups,
                                           fingerprint: ModelFile.fingerprint(network.spec))
        schedule = state.schedule
        history = state.history
        let stepsHeader = "step,epoch,loss,top1_error,top5_error,learning_rate\n"
        if rank == 0 {
            // On a resume, the files hold what the checkpoint holds and nothing after it.
            try writeAtomically(EpochMetrics.csvHeader + "\n" + history.map { $0.csvRow + "\n" }.joined(), to: file("metrics.csv"))
            if options.logEvery > 0 {
                var kept = stepsHeader
                if resume != nil, let old = try? String(contentsOfFile: file("steps.csv"), encoding: .utf8) {
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
            let val: (top1: Double, top5: Double, loss: Double)
            if validating {
                // A signal during validation stops it (every rank at the same batch): the checkpoint
                // holds every step of the epoch, and the resumed run validates the epoch again.
                guard let v = try network.profile.excluding({ try evaluateCounted(nil, stopOnSignal: true) }) else {
                    try checkpoint()
                    console.print("stopped by a signal while validating epoch \(epoch), after step \(state.globalStep); checkpoint written. Continue with: alexnet-mp train --resume \(dir)")
                    return
                }
                val = v
            } else {
                val = (.nan, .nan, .nan)
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
        try saveModel()
        if options.profile {
            if let report = try ProfileReport.gather(network.profile, comm: network.comm, config: config.name,
                                                     batch: N, groups: network.spec.groups, alone: []) {
                try writeAtomically(try report.json(), to: file("profile.json"))
                console.print("profile of the run (rank 0, per step):")
                console.print(report.table(rank: 0), terminator: "")
            }
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
        let t = now()
        var signalled = [StopSignal.requested ? 1.0 : 0.0]
        try network.comm.allreduceSum(&signalled)
        network.profile.control += network.profile.span("stop check", "communication", since: t)
        return signalled[0] > 0
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

    /// Each rank writes its own groups' shards into `<run>/model/`.
    public func saveModel() throws {
        let modelDir = file("model")
        for g in network.placement.localGroups {
            try ModelFile.write(network.parameters(group: g), spec: network.spec, group: g,
                                to: ModelFile.path(directory: modelDir, group: g))
        }
        try network.comm.barrier()
    }
}

/// One SGD step — fill the minibatch, forward, loss, backward, update — each piece timed in
/// the network's profile. `train`, `bench` and `profile` all step through here.
@discardableResult
public func trainingStep(_ network: Network, sgd: SGD, learningRate: Double, globalStep: Int,
                         fill: () -> Void) throws -> SoftmaxCrossEntropy.Result {
    let profile = network.profile
    let t0 = now()
    fill()
    profile.data += profile.span("data", "data", since: t0)
    try network.forward(training: true, step: globalStep)
    var t = now()
    let r = network.loss(gradient: true)
    profile.loss += profile.span("loss", "compute", since: t)
    try network.backward()
    t = now()
    network.update(sgd, learningRate: learningRate)
    profile.update += profile.span("update", "compute", since: t)
    // The step's number in the name only when tracing: building the string allocates.
    profile.stepSeconds += profile.span(profile.trace == nil ? "step" : "step \(globalStep + 1)", "step", since: t0)
    profile.steps += 1
    return r
}

public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
    /// Every rank meets this error at the same point, with the same message (a run with no
    /// checkpoint to resume, a damaged state.json, a non-finite loss): rank 0 alone prints it.
    public let onEveryRank: Bool
    public init(_ d: String, onEveryRank: Bool = false) { description = d; self.onEveryRank = onEveryRank }
}
