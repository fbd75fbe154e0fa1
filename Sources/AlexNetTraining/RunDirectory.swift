import AlexNetCore
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import Foundation
import Yams

/// How a run was placed and started: `run.yaml`, written once when the run directory is made
/// (config.yaml holds the model and the training settings).
public struct RunInfo: Codable, Sendable, Equatable {
    public var ranks: Int
    public var groups: Int
    public var coresPerRank: Int
    public var blasCore: String
    public var elementwiseKernels: String
    public var command: String
    /// Made at random when the run starts: every checkpoint shard of the run carries it, so a
    /// shard copied in from another run is refused.
    public var runID: String
    /// Ranks per replica (1: each rank a whole replica; the groups: the paper's split); nil in a
    /// run.yaml written before there were replicas.
    public var ranksPerReplica: Int?

    enum CodingKeys: String, CodingKey {
        case ranks, groups, ranksPerReplica = "ranks_per_replica", coresPerRank = "cores_per_rank", blasCore = "blas_core"
        case elementwiseKernels = "elementwise_kernels", command, runID = "run_id"
    }

    public init(ranks: Int, groups: Int, ranksPerReplica: Int? = nil, coresPerRank: Int, blasCore: String, elementwiseKernels: String,
                command: String, runID: String = RunInfo.newID()) {
        self.ranks = ranks; self.groups = groups; self.ranksPerReplica = ranksPerReplica; self.coresPerRank = coresPerRank; self.blasCore = blasCore
        self.elementwiseKernels = elementwiseKernels; self.command = command; self.runID = runID
    }

    /// 16 hex digits from the system's random source.
    public static func newID() -> String { String(format: "%016llx", UInt64.random(in: .min ... .max)) }
}

/// A run's directory: the names of its files, its creation (only once everything else was
/// accepted, and atomically), its config, and the model it holds in either of its forms.
///
///     config.yaml  run.yaml  metrics.csv  steps.csv  profile.json  eval-views.csv
///     model/group<g>.bin           the final model, one shard per group
///     checkpoints/step-N/…         see `Checkpoint`
public struct RunDirectory: Sendable {
    public let path: String

    public static let configFile = "config.yaml", infoFile = "run.yaml", metricsFile = "metrics.csv"
    public static let stepsFile = "steps.csv", profileFile = "profile.json", modelDirectory = "model"

    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
    public var modelDirectory: String { file(RunDirectory.modelDirectory) }

    /// An existing run directory; the error says what `path` is instead.
    public init(existing path: String) throws {
        do { try checkDirectory(path) } catch let e as FileError {
            throw ConfigError("\(path): \(e.problem == "no such directory" ? "no such run directory" : e.problem + " (give a run directory written by train)")")
        }
        self.path = path
        guard fileType(file(RunDirectory.configFile)) != nil else {
            throw ConfigError("\(path): not a run directory (no \(RunDirectory.configFile))")
        }
    }

    private init(made path: String) { self.path = path }

    /// The run's config.
    public func config() throws -> RunConfig { try RunConfig.load(file(RunDirectory.configFile)) }

    /// The run's run.yaml, or nil for a run without one (or one that cannot be read).
    public func info() -> RunInfo? {
        guard let text = try? readText(file(RunDirectory.infoFile), limit: 1 << 20),
              (try? checkNesting(text, limit: 8)) != nil else { return nil }
        return try? YAMLDecoder().decode(RunInfo.self, from: text)
    }

    /// Makes the run directory `path` with its config.yaml and run.yaml, as one step: both are
    /// written into `<path>.tmp-<pid>`, which is then renamed to `path`. `path` may be an empty
    /// directory; anything else there is refused (a run: continue it with --resume). A refusal
    /// or a failure leaves nothing behind.
    public static func create(_ given: String, config: RunConfig, info: RunInfo) throws -> RunDirectory {
        let path = withoutTrailingSlashes(given)
        if let type = fileType(path) {
            if type == S_IFDIR, fileType((path as NSString).appendingPathComponent(configFile)) != nil {
                throw ConfigError("\(path): holds a run already (config.yaml): continue it with --resume \(path), or choose another --out")
            }
            guard type == S_IFDIR, ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? ["?"]).isEmpty else {
                throw ConfigError("\(path): exists and is not an empty directory: choose another --out (a run directory is made new)")
            }
        }
        let parent = parentDirectory(of: path)
        if !parent.isEmpty && fileType(parent) == nil {
            do { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) } catch {
                throw ConfigError("\(path): cannot create its parent directory \(parent): \(describeErrno(errno))")
            }
        }
        let tmp = path + ".tmp-\(getpid())"
        guard mkdir(tmp, 0o755) == 0 else { throw ConfigError("\(path): cannot create the run directory: \(describeErrno(errno))") }
        do {
            guard mkdir((tmp as NSString).appendingPathComponent(modelDirectory), 0o755) == 0 else {
                throw FileError(tmp, "cannot create model/: \(describeErrno(errno))")
            }
            try writeAtomically(try config.yaml(), to: (tmp as NSString).appendingPathComponent(configFile))
            try writeAtomically(try YAMLEncoder().encode(info), to: (tmp as NSString).appendingPathComponent(infoFile))
            guard rename(tmp, path) == 0 else { throw FileError(path, "cannot create the run directory: \(describeErrno(errno))") }
            try syncDirectory(parent)
        } catch {
            for f in [configFile, infoFile] { unlink((tmp as NSString).appendingPathComponent(f)) }
            rmdir((tmp as NSString).appendingPathComponent(modelDirectory))
            rmdir(tmp)
            throw ConfigError("\(error)")
        }
        return RunDirectory(made: path)
    }

    /// Where this rank's groups of the model are read from: `model/` when it holds a shard of
    /// every group (a run can be stopped while its ranks write them), else the latest complete
    /// checkpoint; `warn` hears why when `model/` is incomplete.
    public func modelSource(groups: Int, warn: (String) -> Void) throws -> String {
        let shards = (0..<groups).map { ModelFile.path(directory: modelDirectory, group: $0) }
        let present = shards.filter { fileType($0) != nil }
        if present.count == groups { return modelDirectory }
        if !present.isEmpty {
            warn("\(modelDirectory) lacks \(shards.filter { fileType($0) == nil }.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")): reading the latest checkpoint instead")
        }
        guard let latest = Checkpoint.latest(path, warn: warn) else {
            throw TrainingError("\(path): no model/ and no complete checkpoint to read", onEveryRank: true)
        }
        return latest
    }
}

/// A saved model as the command line names it: a run directory (its model/, else its latest
/// complete checkpoint), its model/ directory, a shard in it, or a `.safetensors` file that
/// `export` wrote. Its config comes with it.
public struct SavedModel {
    public let path: String
    public let config: RunConfig
    /// The run directory, when the model is one; nil for an exported file.
    public let run: RunDirectory?
    private let file: SafeTensors?

    public static func open(_ path: String) throws -> SavedModel {
        if path.hasSuffix(".safetensors") {
            let f = try SafeTensors.read(path)
            let config = try RunConfig.parse(try PyTorchExport.configText(of: f), file: "\(path) (\(PyTorchExport.configKey))")
            return SavedModel(path: path, config: config, run: nil, file: f)
        }
        var dir = path
        if path.hasSuffix(".bin") { dir = parentDirectory(of: path) }
        if (dir as NSString).lastPathComponent == RunDirectory.modelDirectory { dir = parentDirectory(of: dir) }
        let run = try RunDirectory(existing: dir.isEmpty ? "." : dir)
        return SavedModel(path: path, config: try run.config(), run: run, file: nil)
    }

    /// Loads this rank's groups into `network`; returns what was read.
    public func load(into network: Network, warn: (String) -> Void) throws -> String {
        if let file {
            try PyTorchExport.load(file, spec: network.spec, groups: network.placement.localGroups, parameters: network.parameters(group:))
            return path
        }
        let run = run!
        let source = try run.modelSource(groups: network.spec.groups, warn: warn)
        if source == run.modelDirectory {
            try ModelFile.readModel(network, from: source)
        } else {
            _ = try Checkpoint.read(network, from: source)
        }
        return source
    }
}
