import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import AlexNetSimulator
import Foundation

/// Where a run is: enough to continue it exactly (the random streams are keyed by epoch, step
/// and image, so the position in the run is their position too).
public struct TrainerState: Codable, Sendable, Equatable {
    public var globalStep = 0
    /// The epoch under way (1-based) and the next step in it.
    public var epoch = 1
    public var stepInEpoch = 0
    /// The epoch's sums so far (for its metrics row).
    public var epochLoss = 0.0, epochErrorsTop1 = 0, epochErrorsTop5 = 0, epochSteps = 0
    public var schedule: Schedule
    public var history: [EpochMetrics] = []
    public var groups: Int
    public var fingerprint: UInt64
    /// The run's id (run.yaml's `run_id`), which every shard of its checkpoints carries; nil in a
    /// checkpoint written before shards were bound to their run.
    public var runID: String?
    /// The model's replicas (nil in a checkpoint written before there were replicas: 1).
    public var replicas: Int?

    public init(schedule: Schedule, groups: Int, fingerprint: UInt64, runID: String?) {
        self.schedule = schedule; self.groups = groups; self.fingerprint = fingerprint; self.runID = runID
    }

    /// The binding every shard of this state's checkpoint carries.
    public var binding: ModelFile.Binding { ModelFile.Binding(run: runID.flatMap { UInt64($0, radix: 16) } ?? 0, step: globalStep) }
}

/// Checkpoints of a run, in `<run>/checkpoints/`:
///
///     step-00000020/       a complete checkpoint: one shard per group (values and momentum,
///       group0.bin         written by the rank that holds the group) and state.json (rank 0),
///       group1.bin         which is written last
///       state.json
///     step-00000020-2/     a second checkpoint of the same step (a stop right after a cadence
///                          checkpoint, or the end of an epoch after a resume): a name is never reused
///     step-00000030.tmp/   one being written
///     latest               the name of the newest complete checkpoint
///
/// The order of the writes keeps a complete checkpoint named by `latest` at every instant, once
/// one was written:
/// 1. rank 0 picks an unused name and makes `<name>.tmp/`; every rank writes its shards there,
///    each flushed to disk and renamed into place, and flushes the directory;
/// 2. after a barrier, rank 0 writes state.json, renames `<name>.tmp` to `<name>` and flushes
///    `checkpoints/`;
/// 3. rank 0 points `latest` at `<name>` (a new file renamed over the old one, then flushed);
/// 4. only then are older checkpoints removed, all but the newest `keep` (each loses its
///    state.json first, so that a half-removed one never passes for complete).
///
/// `latest(_:)` also copes with a `latest` that is missing or names no complete checkpoint: it
/// falls back to the newest complete one. Shards are per group, so a checkpoint written by 2
/// ranks resumes on 1 and the other way round.
public enum Checkpoint {
    static func root(_ run: String) -> String { (run as NSString).appendingPathComponent("checkpoints") }

    /// `step-N` for the first checkpoint of step N in a run directory, `step-N-K` for the K-th.
    static func name(_ step: Int, _ k: Int = 1) -> String { String(format: "step-%08d", step) + (k > 1 ? "-\(k)" : "") }

    /// The step and write number of a checkpoint directory's name (`step-00000020-2`: step 20,
    /// the second of that step), and whether it is a `.tmp` one; nil for other names.
    static func parse(_ entry: String) -> (step: Int, k: Int, tmp: Bool)? {
        var s = Substring(entry)
        let tmp = s.hasSuffix(".tmp")
        if tmp { s = s.dropLast(4) }
        guard s.hasPrefix("step-") else { return nil }
        let parts = s.dropFirst(5).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              parts[0].count >= 8, let step = Int(parts[0]), let k = parts.count == 2 ? Int(parts[1]) : 1,
              parts.count == 1 || k >= 2 else { return nil }
        return (step, k, tmp)
    }

    /// The complete checkpoints in a run's `checkpoints/` directory, oldest first.
    static func complete(_ root: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return entries.compactMap { e in parse(e).flatMap { $0.tmp ? nil : (e, $0.step, $0.k) } }
            .filter { FileManager.default.fileExists(atPath: (root as NSString).appendingPathComponent($0.0 + "/state.json")) }
            .sorted { ($0.1, $0.2) < ($1.1, $1.2) }
            .map(\.0)
    }

    /// Bytes of a group's shard on disk (data, names, shapes and the fixed header).
    static func shardBytes(_ network: Network, group: Int) -> Int {
        tensors(network, group: group).reduce(32) { $0 + 3 + $1.name.utf8.count + 4 * $1.shape.count + 4 * $1.count }
    }

    /// The tensors a group's shard holds: each parameter's value and momentum.
    static func tensors(_ network: Network, group: Int) -> [Tensor] {
        network.parameters(group: group).flatMap { [$0.value, $0.momentum] }
    }

    /// Writes a checkpoint of `state` and every rank's groups (a collective: every rank calls it).
    public static func write(_ network: Network, state: TrainerState, run: String, keep: Int = 2) throws {
        let comm = network.comm, root = root(run)
        let fault = CheckpointFault.nextWrite(rank: comm.rank)
        // Rank 0 names the checkpoint and makes its temporary directory; every rank learns the name.
        var chosen = [UInt8]()
        if comm.rank == 0 {
            try makeDirectory(root)
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
            let used = entries.compactMap(parse).filter { $0.step == state.globalStep }.map(\.k)
            chosen = Array(name(state.globalStep, (used.max() ?? 0) + 1).utf8)
            try makeDirectory((root as NSString).appendingPathComponent(String(decoding: chosen, as: UTF8.self) + ".tmp"))
        }
        try comm.broadcast(&chosen, root: 0)
        let final = (root as NSString).appendingPathComponent(String(decoding: chosen, as: UTF8.self))
        let tmp = final + ".tmp"
        let kept = complete(root).last.map { "the previous checkpoint (\($0)) is kept" } ?? "no checkpoint was written before"
        // Refuse before writing when this rank's shards cannot fit: the disk is left as it was.
        // Every replica holds the same weights: replica 0's ranks write the shards.
        let groups = network.placement.writesShards ? network.placement.localGroups : []
        let n = network.spec.groups
        let shard = shardBytes(network, group: network.placement.localGroups[0])   // the groups split evenly: every shard has this size
        let needed = shard * groups.count, whole = shard * n
        // Both messages say what the whole checkpoint needs: that is the room the user must make.
        let size = "it needs \(mebibytes(whole))" + (n > 1 ? " (\(n) shards of \(mebibytes(shard)))" : "")
        if let free = freeDiskBytes(tmp), free < needed {
            let share = needed < whole ? ", of which this rank writes \(mebibytes(needed))" : ""
            rmdir(tmp)   // only succeeds once empty: no rank leaves an empty .tmp behind
            throw TrainingError("\(tmp): not enough disk space for the checkpoint of step \(state.globalStep): \(size)\(share); \(mebibytes(free)) are free; \(kept)")
        }
        do {
            for g in groups {
                try ModelFile.write(tensors: tensors(network, group: g), spec: network.spec, group: g, binding: state.binding,
                                    to: ModelFile.path(directory: tmp, group: g))
            }
        } catch {
            for g in groups { unlink(ModelFile.path(directory: tmp, group: g)) }   // give the space back
            rmdir(tmp)
            if let free = freeDiskBytes(tmp), free < whole {
                throw TrainingError("\(tmp): the disk filled while writing the checkpoint of step \(state.globalStep): \(size); \(mebibytes(free)) are free; \(kept)")
            }
            throw TrainingError("\(tmp): the checkpoint of step \(state.globalStep) was not written (\(kept)): \(error)")
        }
        fault?.reached(.shards)
        try comm.barrier()   // every shard is on disk
        guard comm.rank == 0 else { return }
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try writeAtomically(Array(try e.encode(state)), to: (tmp as NSString).appendingPathComponent("state.json"))
        fault?.reached(.state)
        guard rename(tmp, final) == 0 else {
            throw TrainingError("\(final): cannot rename the checkpoint into place: \(String(cString: strerror(errno)))")
        }
        try syncDirectory(root)
        fault?.reached(.rename)
        try writeAtomically((final as NSString).lastPathComponent + "\n", to: (root as NSString).appendingPathComponent("latest"))
        fault?.reached(.latest)
        prune(root, keep: keep, newest: (final as NSString).lastPathComponent, fault: fault)
    }

    /// Removes every checkpoint but the newest `keep` complete ones (and always `newest`, the
    /// one `latest` names), and what crashed writes or removals left behind.
    static func prune(_ root: String, keep: Int, newest: String, fault: CheckpointFault? = nil) {
        let kept = Set(complete(root).suffix(keep) + [newest])
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        for entry in entries.sorted() where parse(entry) != nil && !kept.contains(entry) {
            let dir = (root as NSString).appendingPathComponent(entry)
            unlink((dir as NSString).appendingPathComponent("state.json"))   // no longer complete
            fault?.reached(.prune)
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    /// The latest complete checkpoint of `run` (a directory), or nil if it has none: the one
    /// `checkpoints/latest` names or, when `latest` is missing or names no complete checkpoint
    /// (a crash before it was first written; a file removed by hand), the newest complete one,
    /// with a line for `warn` that says so.
    public static func latest(_ run: String, warn: (String) -> Void = { _ in }) -> String? {
        let root = root(run), marker = (root as NSString).appendingPathComponent("latest")
        let all = complete(root)
        let named = (try? readText(marker, limit: 4096))?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let named, all.contains(named) { return (root as NSString).appendingPathComponent(named) }
        guard let newest = all.last else { return nil }
        warn(named.map { "\(marker) names \($0), which is not a complete checkpoint: using the newest complete one, \(newest)" }
             ?? "\(marker) is missing: using the newest complete checkpoint, \(newest)")
        return (root as NSString).appendingPathComponent(newest)
    }

    /// The trainer's state in the latest complete checkpoint of `run` (nil: none, or unreadable):
    /// how far a run has got, without building its network (`ablate` asks it of each arm).
    public static func latestState(_ run: String) -> TrainerState? {
        guard let dir = latest(run) else { return nil }
        return try? decodeJSON(TrainerState.self, from: (dir as NSString).appendingPathComponent("state.json"), what: "a checkpoint state",
                               limit: 256 << 20)
    }

    /// Makes a directory whose parent exists (or finds it there); an error names it.
    static func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw TrainingError("\(path): cannot create the checkpoint directory: \(String(cString: strerror(errno)))")
        }
    }

    /// Loads this rank's groups and the trainer's state from checkpoint directory `dir`. Every
    /// rank reads state.json, so its errors are met alike by every rank; a shard's error is met
    /// by the rank that holds its group, and the ranks agree on it (a collective) before any of
    /// them goes on: every rank stops, the failing one with the line that names the file.
    public static func read(_ network: Network, from dir: String) throws -> TrainerState {
        let statePath = (dir as NSString).appendingPathComponent("state.json")
        func refuse(_ problem: String) -> TrainingError { TrainingError("\(statePath): \(problem)", onEveryRank: true) }
        let state: TrainerState
        do {
            state = try decodeJSON(TrainerState.self, from: statePath, what: "a checkpoint state", limit: 256 << 20)
        } catch let e as FileError { throw refuse(e.problem) }
        try validate(state, network: network, directory: dir).map { throw refuse($0) }
        try collectively(network.comm) {
            for g in network.placement.localGroups {
                let path = ModelFile.path(directory: dir, group: g)
                let binding = try ModelFile.read(into: tensors(network, group: g), spec: network.spec, group: g, from: path)
                // A shard of another run or another step would mix two half-models.
                if let binding, state.runID != nil, binding != state.binding {
                    throw ModelFileError(path, "belongs to \(binding), not to this checkpoint (\(state.binding)): it was copied in from another run or step")
                }
                if binding == nil && state.runID != nil {
                    throw ModelFileError(path, "carries no run id, but this checkpoint's state.json does (\(state.binding)): it was copied in from an older run")
                }
            }
        }
        return state
    }

    /// What is impossible in a state, in words (nil when it is consistent): every number in
    /// range, the step the directory's name says, and a schedule that a run could have reached.
    static func validate(_ s: TrainerState, network: Network, directory dir: String) -> String? {
        let name = (dir as NSString).lastPathComponent
        if let named = parse(name), !named.tmp, named.step != s.globalStep {
            return "says step \(s.globalStep), but its directory is \(name) (step \(named.step))"
        }
        guard s.globalStep >= 0, s.epoch >= 1, s.epoch <= 1_000_000, s.stepInEpoch >= 0, s.epochSteps == s.stepInEpoch,
              s.history.count == s.epoch - 1 else {
            return "not a checkpoint state (impossible position: step \(s.globalStep), epoch \(s.epoch), step in epoch \(s.stepInEpoch), \(s.epochSteps) steps counted, \(s.history.count) epochs of history)"
        }
        let images = s.epochSteps * network.globalBatch
        guard s.epochErrorsTop1 >= 0, s.epochErrorsTop5 >= 0, s.epochErrorsTop5 <= s.epochErrorsTop1, s.epochErrorsTop1 <= images,
              s.epochLoss.isFinite, s.epochLoss >= 0 else {
            return "not a checkpoint state (the epoch's sums are impossible: loss \(s.epochLoss), \(s.epochErrorsTop1) top-1 and \(s.epochErrorsTop5) top-5 errors in \(images) images)"
        }
        let lr = s.schedule.learningRate
        guard lr.isFinite, lr > 0, lr <= 10 else { return "the learning rate \(lr) is not a finite number above 0 and at most 10" }
        do { try s.schedule.config.validate() } catch { return "schedule.config: \(error)" }
        guard s.schedule.drops >= 0, s.schedule.drops <= s.schedule.config.maxDrops, s.schedule.epochsSinceBest >= 0,
              !s.schedule.best.isNaN else {
            return "the schedule's state is impossible (\(s.schedule.drops) drops of at most \(s.schedule.config.maxDrops), best \(s.schedule.best))"
        }
        guard s.groups == network.spec.groups, s.fingerprint == ModelFile.fingerprint(network.spec) else {
            return "the checkpoint is of another model (\(s.groups) groups) than the run's config"
        }
        guard (s.replicas ?? 1) == network.spec.replicas else {
            return "the checkpoint is of a model with \(s.replicas ?? 1) replica\((s.replicas ?? 1) == 1 ? "" : "s"), the run's config has \(network.spec.replicas)"
        }
        if let id = s.runID, id.count != 16 || UInt64(id, radix: 16) == nil { return "run id '\(id)' is not 16 hex digits" }
        return nil
    }
}

/// `--checkpoint-every`: a number of steps (`500`) or of epochs (`1e`).
public enum CheckpointEvery: Equatable, Sendable {
    case steps(Int), epochs(Int)

    public init?(_ text: String) {
        if text.hasSuffix("e"), let n = Int(text.dropLast()), n >= 1 { self = .epochs(n) }
        else if let n = Int(text), n >= 1 { self = .steps(n) }
        else { return nil }
    }
}
