import AlexNetCore
import AlexNetLayers
import AlexNetParallel
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
}

/// Checkpoints of a run: `<run>/checkpoints/step-NNNNNNNN/` holds one shard per group (values
/// and momentum, written by the rank that holds the group) and `state.json` (rank 0). A
/// checkpoint is written under a temporary name, every shard flushed, the directory renamed,
/// and only then is `<run>/checkpoints/latest` pointed at it: a crash at any moment leaves the
/// previous checkpoint usable. Shards are per group, so a checkpoint written by 2 ranks
/// resumes on 1 and the other way round.
public enum Checkpoint {
    static func root(_ run: String) -> String { (run as NSString).appendingPathComponent("checkpoints") }
    static func name(_ step: Int) -> String { String(format: "step-%08d", step) }

    /// Bytes of a group's shard on disk (data, names, shapes and the fixed header).
    static func shardBytes(_ network: Network, group: Int) -> Int {
        tensors(network, group: group).reduce(32) { $0 + 3 + $1.name.utf8.count + 4 * $1.shape.count + 4 * $1.count }
    }

    /// The tensors a group's shard holds: each parameter's value and momentum.
    static func tensors(_ network: Network, group: Int) -> [Tensor] {
        network.parameters(group: group).flatMap { [$0.value, $0.momentum] }
    }

    public static func write(_ network: Network, state: TrainerState, run: String, keep: Int = 2) throws {
        let comm = network.comm
        let final = (root(run) as NSString).appendingPathComponent(name(state.globalStep))
        let tmp = final + ".tmp"
        if comm.rank == 0 {
            try? FileManager.default.removeItem(atPath: tmp)
            try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        }
        try comm.barrier()
        // Refuse before writing when this rank's shards cannot fit: the disk is left as it was.
        let groups = network.placement.localGroups
        let needed = groups.reduce(0) { $0 + shardBytes(network, group: $1) }
        if let free = freeDiskBytes(tmp), free < needed {
            throw TrainingError("\(tmp): not enough disk space for the checkpoint of step \(state.globalStep): this rank's shards need \(mebibytes(needed)), \(mebibytes(free)) are free; the previous checkpoint is kept")
        }
        do {
            for g in groups {
                try ModelFile.write(tensors: tensors(network, group: g), spec: network.spec, group: g,
                                    to: ModelFile.path(directory: tmp, group: g))
            }
        } catch {
            for g in groups { unlink(ModelFile.path(directory: tmp, group: g)) }   // give the space back
            let whole = shardBytes(network, group: groups[0]) * network.spec.groups
            if let free = freeDiskBytes(tmp), free < whole {
                throw TrainingError("\(tmp): the disk filled while writing the checkpoint of step \(state.globalStep): it needs \(mebibytes(whole)) (\(network.spec.groups) shards of \(mebibytes(whole / network.spec.groups))), \(mebibytes(free)) are free; the previous checkpoint is kept")
            }
            throw TrainingError("checkpoint of step \(state.globalStep) not written, the previous one is kept: \(error)")
        }
        try comm.barrier()   // every shard is on disk
        guard comm.rank == 0 else { return }
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try writeAtomically(Array(try e.encode(state)), to: (tmp as NSString).appendingPathComponent("state.json"))
        try? FileManager.default.removeItem(atPath: final)
        guard rename(tmp, final) == 0 else {
            throw TrainingError("\(final): cannot rename the checkpoint into place: \(String(cString: strerror(errno)))")
        }
        try writeAtomically(name(state.globalStep) + "\n", to: (root(run) as NSString).appendingPathComponent("latest"))
        // Keep the newest `keep` complete checkpoints.
        let all = (try? FileManager.default.contentsOfDirectory(atPath: root(run))) ?? []
        let done = all.filter { $0.hasPrefix("step-") && !$0.hasSuffix(".tmp") }.sorted()
        for old in done.dropLast(keep) { try? FileManager.default.removeItem(atPath: (root(run) as NSString).appendingPathComponent(old)) }
    }

    /// The latest complete checkpoint of `run`, or nil if it has none.
    public static func latest(_ run: String) throws -> String? {
        let marker = (root(run) as NSString).appendingPathComponent("latest")
        guard let text = try? String(contentsOfFile: marker, encoding: .utf8) else { return nil }
        let dir = (root(run) as NSString).appendingPathComponent(text.trimmingCharacters(in: .whitespacesAndNewlines))
        guard FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("state.json")) else {
            throw TrainingError("\(marker): points at \(dir), which is not a complete checkpoint")
        }
        return dir
    }

    /// Loads this rank's groups and the trainer's state from checkpoint directory `dir`.
    public static func read(_ network: Network, from dir: String) throws -> TrainerState {
        let statePath = (dir as NSString).appendingPathComponent("state.json")
        guard let data = FileManager.default.contents(atPath: statePath) else { throw TrainingError("\(statePath): no such file") }
        let state: TrainerState
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { state = try decoder.decode(TrainerState.self, from: data) } catch {
            throw TrainingError("\(statePath): not a checkpoint state (\(String(describing: error).split(separator: "\n").joined(separator: " ")))")
        }
        guard state.globalStep >= 0, state.epoch >= 1, state.stepInEpoch >= 0, state.epochSteps >= 0,
              state.epochErrorsTop1 >= 0, state.epochErrorsTop5 >= 0, state.history.count < state.epoch else {
            throw TrainingError("\(statePath): not a checkpoint state (impossible position: step \(state.globalStep), epoch \(state.epoch), step in epoch \(state.stepInEpoch))")
        }
        guard state.groups == network.spec.groups, state.fingerprint == ModelFile.fingerprint(network.spec) else {
            throw TrainingError("\(statePath): the checkpoint is of another model (\(state.groups) groups) than the run's config")
        }
        for g in network.placement.localGroups {
            try ModelFile.read(into: tensors(network, group: g), spec: network.spec, group: g,
                               from: ModelFile.path(directory: dir, group: g))
        }
        return state
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
