import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import AlexNetReport
import AlexNetTraining
import ArgumentParser
import Foundation

/// `alexnet-mp ablate`: the paper's claims re-run. For each study it derives the paired configs
/// from the one given (`AblationStudy.arms`), trains both arms with the same seeds (the paper's
/// arm is shared by every study that leaves it as given), resumes a stopped study and skips
/// finished arms, then prints the paper's delta beside the measured one and writes a report.
struct Ablate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-run the paper's claims: train each study's two arms with the same seeds; print the paper's delta beside the measured one.")

    @OptionGroup var configOption: ConfigOption
    @Option(help: "Studies, comma-separated: groups, lrn, overlap, pca, dropout, views.") var study: String
    @Option(parsing: .unconditional, help: "Seeds per arm: the config's train.seed and the next ones.") var seeds: Int = 2
    @OptionGroup var epochsOption: EpochsOption
    @Option(parsing: .unconditional, help: "Stop each run after this many steps in all (a quick study).") var steps: Int?
    @Option(help: "Data directory (default: the config's data.dir).") var data: String?
    @Option(help: "The study's directory (default: ablations/<config name>); run the same command again to resume it.") var out: String?
    @OptionGroup var threads: ThreadOption

    /// The study's own record: what it was asked, and the id of every run it started, so that it
    /// resumes only its own runs and removes only a run it started that has nothing to keep.
    struct Manifest: Codable, Equatable {
        var tool = "alexnet-mp ablate"
        var config: String
        var epochs: Int
        var steps: Int?
        var runs: [String: String] = [:]
        static let file = "ablation.json"
    }

    func validate() throws {
        if seeds < 1 || seeds > 100 { throw ValidationError("--seeds must be from 1 to 100, got \(seeds).") }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps).") }
        for s in study.split(separator: ",") where AblationStudy(rawValue: s.trimmingCharacters(in: .whitespaces)) == nil {
            throw ValidationError("--study: unknown study \"\(s)\"; the studies are \(AblationStudy.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
    }

    func run() throws {
        try Launch.run(threads: threads.threads) { launch in
            var base = try RunConfig.load(configOption.path)
            if let epochs = epochsOption.epochs { base.train.epochs = epochs }
            if let data { base.data.dir = data }
            do { try base.validate() } catch { throw ConfigError("\(error)") }
            var studies: [AblationStudy] = []
            for s in study.split(separator: ",").compactMap({ AblationStudy(rawValue: $0.trimmingCharacters(in: .whitespaces)) }) where !studies.contains(s) {
                studies.append(s)
            }
            // Every arm, derived and placed before any work: a refusal leaves nothing behind.
            var arms: [(name: String, config: RunConfig)] = [("paper", base)]
            var pairs: [(study: AblationStudy, with: String, without: String)] = []
            for s in studies {
                let (on, off) = try s.arms(of: base)
                func named(_ c: RunConfig, _ fallback: String) -> String {
                    if let found = arms.first(where: { $0.config == c }) { return found.name }
                    arms.append((fallback, c))
                    return fallback
                }
                pairs.append((s, named(on, "with-\(s.rawValue)"), named(off, s.ablatedArm)))
            }
            arms = try arms.map { ($0.name, try placed($0.config, like: base, ranks: launch.comm.size, arm: $0.name)) }
            let dir = out ?? "ablations/\(base.name)"
            var manifest = try openStudy(dir, base: base, launch: launch)
            let firstSeed = base.train.seed
            // Seed by seed, so that a stopped study already has whole pairs to compare.
            for k in 0..<seeds {
                for arm in arms {
                    var config = arm.config
                    config.train.seed = firstSeed + UInt64(k)
                    let runDir = (dir as NSString).appendingPathComponent("\(arm.name)-seed\(config.train.seed)")
                    if try !trainArm(config, runDir: runDir, manifest: &manifest, studyDir: dir, launch: launch) {
                        launch.console.print("ablate: stopped; run the same command again to resume the study in \(dir)")
                        return
                    }
                }
            }
            // The views study tests the paper's arm two ways.
            if studies.contains(.views) {
                for k in 0..<seeds {
                    let runDir = (dir as NSString).appendingPathComponent("paper-seed\(firstSeed + UInt64(k))")
                    if Evaluation.load(run: runDir)?.contains(where: { $0.views == 10 }) != true {
                        launch.console.print("ablate: testing \(runDir) with ten views")
                        _ = try evaluateViews(runDir, views: 10, launch: launch, record: true)
                    }
                }
            }
            guard launch.comm.rank == 0 else { return }
            let results = try pairs.map { p -> StudyRuns in
                func records(_ arm: String) throws -> [RunRecord] {
                    try (0..<seeds).map { try RunRecord.load((dir as NSString).appendingPathComponent("\(arm)-seed\(firstSeed + UInt64($0))")) }
                }
                return StudyRuns(study: p.study, paper: try records(p.with), ablated: try records(p.without))
            }
            let table = ablationTable(results)
            launch.console.print(table, terminator: "")
            try writeAtomically(table, to: (dir as NSString).appendingPathComponent("ablation.txt"))
            let report = (dir as NSString).appendingPathComponent("report.html")
            try writeAblationReport(results, title: "\(base.name), \(studies.map(\.rawValue).joined(separator: ", "))", to: report)
            launch.console.print("ablate: table in \((dir as NSString).appendingPathComponent("ablation.txt")), report \(report)")
        }
    }

    /// An arm with fewer groups than the paper's arm (the one-group net) runs as that many
    /// replicas, so that it runs wherever the paper's arm does (1 rank, or one per group) and a
    /// study stopped on one placement resumes on the other. It is the same model: its gradient is
    /// the sum of the slices' gradients of the same mean loss, each image keeps its dropout mask;
    /// only the order of the sums differs.
    func placed(_ config: RunConfig, like paper: RunConfig, ranks: Int, arm: String) throws -> RunConfig {
        var c = config
        if c.model.groups < paper.model.groups, c.model.replicas == 1, paper.model.groups % c.model.groups == 0 {
            c.model.replicas = paper.model.groups / c.model.groups
            guard c.train.batch % c.model.replicas == 0 else {
                throw ConfigError("ablate: the \(arm) arm: its minibatch of \(c.train.batch) does not divide into \(c.model.replicas) replicas")
            }
        }
        do { _ = try Placement(groups: c.model.groups, replicas: c.model.replicas, ranks: ranks, rank: 0) } catch {
            throw ConfigError("ablate: the \(arm) arm: \(error)")
        }
        return c
    }

    /// Opens the study's directory: a new or empty one is made; one this command made before is
    /// resumed when it was asked the same (config, epochs, steps); anything else is refused.
    func openStudy(_ dir: String, base: RunConfig, launch: Launch) throws -> Manifest {
        let asked = Manifest(config: try base.yaml(), epochs: base.train.epochs, steps: steps)
        let path = (dir as NSString).appendingPathComponent(Manifest.file)
        var message = [UInt8]()
        if launch.comm.rank == 0 {
            do {
                switch fileType(dir) {
                case nil:
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                    try writeAtomically(try jsonText(asked), to: path)
                    message = Array("ok".utf8)
                case S_IFDIR?:
                    if fileType(path) == nil {
                        guard try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty else {
                            throw ConfigError("ablate: \(dir) exists and is not a study that ablate started (no \(Manifest.file)): choose another --out, or move it away yourself")
                        }
                        try writeAtomically(try jsonText(asked), to: path)
                    } else {
                        let found = try decodeJSON(Manifest.self, from: path, what: "an ablation record", limit: 1 << 20)
                        var same = found
                        same.runs = [:]
                        guard same == asked else {
                            let what = found.config != asked.config ? "another config" : found.epochs != asked.epochs ? "\(found.epochs) epochs" : "--steps \(found.steps.map(String.init) ?? "none")"
                            throw ConfigError("ablate: \(dir) holds a study of \(what); resume it with the same command, or choose another --out")
                        }
                    }
                    message = Array("ok".utf8)
                default:
                    throw ConfigError("ablate: \(dir) exists and is not a directory")
                }
            } catch { message = Array("\(error)".utf8) }
        }
        try launch.comm.broadcast(&message, root: 0)
        let text = String(decoding: message, as: UTF8.self)
        guard text == "ok" else { throw ConfigError(text.hasPrefix("ablate: ") ? String(text.dropFirst(8)) : text) }
        return try decodeJSON(Manifest.self, from: path, what: "an ablation record", limit: 1 << 20)
    }

    /// Trains one arm of one seed to the end, resuming it or skipping it when it is done; false
    /// when a stop signal ended it early.
    func trainArm(_ config: RunConfig, runDir: String, manifest: inout Manifest, studyDir: String, launch: Launch) throws -> Bool {
        let key = (runDir as NSString).lastPathComponent
        var job = TrainJob(config: config, out: runDir)
        job.steps = steps
        if fileType(runDir) != nil {
            let run = try RunDirectory(existing: runDir)
            guard let mine = manifest.runs[key], run.info()?.runID == mine else {
                throw ConfigError("ablate: \(runDir) is not a run this study started: move it away yourself")
            }
            if let state = Checkpoint.latestState(runDir) {
                if state.history.count >= config.train.epochs || (steps.map { state.globalStep >= $0 } ?? false) {
                    launch.console.print("ablate: \(key) is done")
                    return true
                }
                job.resume = run
                launch.console.print("ablate: resuming \(key)")
            } else {
                // Started by this study, stopped before its first checkpoint: nothing to keep.
                if launch.comm.rank == 0 { try FileManager.default.removeItem(atPath: runDir) }
                try launch.comm.barrier()
            }
        }
        if job.resume == nil {
            job.runID = RunInfo.newID()
            // Every rank learns rank 0's id, and the study records it before the run exists.
            var id = Array(job.runID!.utf8)
            try launch.comm.broadcast(&id, root: 0)
            job.runID = String(decoding: id, as: UTF8.self)
            manifest.runs[key] = job.runID
            if launch.comm.rank == 0 { try writeAtomically(try jsonText(manifest), to: (studyDir as NSString).appendingPathComponent(Manifest.file)) }
            launch.console.print("ablate: training \(key) (\(config.name))")
        }
        try job.run(launch)
        return !(try launch.comm.anyRank(StopSignal.requested))
    }
}

private func jsonText<T: Encodable>(_ value: T) throws -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys]
    return String(decoding: try e.encode(value), as: UTF8.self) + "\n"
}
