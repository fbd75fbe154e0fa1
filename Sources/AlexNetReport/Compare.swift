import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import AlexNetSimulator
import AlexNetTraining
import Foundation

/// What `compare` needs of a finished run: its config, its placement and its metrics.csv.
public struct RunRecord: Sendable {
    public var dir: String
    public var name: String
    public var groups: Int
    /// The model's replicas (slices of each minibatch whose gradients are summed).
    public var replicas: Int
    public var ranks: Int
    /// Ranks per replica as run.yaml records it (nil: not recorded; taken as the paper's split).
    public var ranksPerReplica: Int? = nil
    public var seed: UInt64
    public var parameters: Int
    public var epochs: [EpochMetrics]

    public var final: EpochMetrics? { epochs.last }
    /// "2g/2r": groups and ranks, and the replicas when there are several ("2g×2rep/4r"); a
    /// whole replica on each rank of several-group model says so ("2g×2rep/2r, a replica a rank").
    public var placementText: String {
        "\(groups)g" + (replicas > 1 ? "×\(replicas)rep" : "") + "/\(ranks)r"
            + (groups > 1 && replicas > 1 && ranks > 1 && ranksPerReplica == 1 ? ", a replica a rank" : "")
    }
    public var bestTop1: Double { epochs.map(\.validationErrorTop1).min() ?? .nan }
    public var bestTop5: Double { epochs.map(\.validationErrorTop5).min() ?? .nan }
    public var secondsPerEpoch: Double { epochs.isEmpty ? .nan : epochs.map(\.seconds).reduce(0, +) / Double(epochs.count) }

    /// Reads `<dir>/config.yaml`, `<dir>/run.yaml` (ranks) and `<dir>/metrics.csv`.
    public static func load(_ dir: String) throws -> RunRecord {
        let run = try RunDirectory(existing: dir)
        let config = try run.config()
        let spec = config.model
        let info = run.info(), ranks = info?.ranks ?? 1
        let path = run.file(RunDirectory.metricsFile)
        let text: String
        do { text = try readText(path, limit: 1 << 30) } catch let e as FileError {
            throw ConfigError("\(path): \(e.problem == "no such file or directory" ? "no such file (not a run directory with metrics?)" : e.problem)")
        }
        var rows: [EpochMetrics] = []
        for (i, line) in text.split(separator: "\n").enumerated() where i > 0 {
            let f = line.split(separator: ",").map { Double($0) }
            guard f.count == 10, f.allSatisfy({ $0 != nil }) else { throw ConfigError("\(path): line \(i + 1) is not a metrics row") }
            let v = f.map { $0! }
            rows.append(EpochMetrics(epoch: Int(v[0]), steps: Int(v[1]), loss: v[2], trainErrorTop1: v[3], trainErrorTop5: v[4],
                                     validationErrorTop1: v[5], validationErrorTop5: v[6], learningRate: v[7],
                                     imagesPerSecond: v[8], seconds: v[9]))
        }
        guard !rows.isEmpty else { throw ConfigError("\(path): no finished epoch yet") }
        return RunRecord(dir: dir, name: config.name, groups: spec.groups, replicas: spec.replicas, ranks: ranks,
                         ranksPerReplica: info?.ranksPerReplica, seed: config.train.seed,
                         parameters: try spec.parameterCount(), epochs: rows)
    }
}

/// The difference of two sets of error rates (y − x, in points) against the noise: the
/// standard error of the difference of the means, from each set's spread over its seeds. "Larger
/// than the noise" means larger than twice that (about a 95% two-sided test).
public struct Difference: Sendable {
    /// Points (100 × the rates' difference); nil when a set is empty or not finite.
    public var points: Double?
    /// Standard error in points; nil with one seed on either side.
    public var standardError: Double?
    public var largerThanNoise: Bool { guard let points, let standardError else { return false }; return abs(points) > 2 * standardError }

    public init(_ x: [Double], _ y: [Double]) {
        let mx = meanSD(x), my = meanSD(y)
        guard !x.isEmpty, !y.isEmpty, mx.mean.isFinite, my.mean.isFinite else { return }
        points = 100 * (my.mean - mx.mean)
        if x.count > 1 && y.count > 1 {
            standardError = 100 * (mx.sd * mx.sd / Double(x.count) + my.sd * my.sd / Double(y.count)).squareRoot()
        }
    }

    public var text: String {
        guard let points else { return "not comparable (a run without a validation split)" }
        guard let standardError else { return String(format: "%+.2f points (one seed each: no noise estimate; use --seeds K)", points) }
        return String(format: "%+.2f ± %.2f points (%@)", points, standardError, largerThanNoise ? "larger than twice the noise" : "within the noise")
    }
}

/// Mean and sample standard deviation.
func meanSD(_ xs: [Double]) -> (mean: Double, sd: Double) {
    let m = xs.reduce(0, +) / Double(xs.count)
    guard xs.count > 1 else { return (m, .nan) }
    return (m, (xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count - 1)).squareRoot())
}

/// The table of `alexnet-mp compare`: runs grouped by config (one row per config, mean ± sd
/// over its seeds), then the difference of each later config from the first, against the noise.
public func compareTable(_ runs: [RunRecord]) -> String {
    var order: [String] = []
    var byConfig: [String: [RunRecord]] = [:]
    for r in runs {
        let key = "\(r.name) (\(r.placementText))"
        if byConfig[key] == nil { order.append(key) }
        byConfig[key, default: []].append(r)
    }
    func pct(_ v: (mean: Double, sd: Double)) -> String {
        if v.mean.isNaN { return "no val" }   // a run without a validation split (nan in metrics.csv)
        return v.sd.isNaN ? String(format: "%.2f%%", 100 * v.mean) : String(format: "%.2f ± %.2f%%", 100 * v.mean, 100 * v.sd)
    }
    var rows: [[String]] = [["config (groups/ranks)", "seeds", "epochs", "params", "final top-1", "final top-5", "best top-1", "best top-5", "s/epoch"]]
    var stats: [(top1: [Double], top5: [Double])] = []
    for key in order {
        let rs = byConfig[key]!
        let f1 = rs.compactMap { $0.final?.validationErrorTop1 }, f5 = rs.compactMap { $0.final?.validationErrorTop5 }
        stats.append((f1, f5))
        rows.append([key, "\(rs.count)", "\(rs.map { $0.epochs.count }.min() ?? 0)", rs[0].parameters.formatted(),
                     pct(meanSD(f1)), pct(meanSD(f5)), pct(meanSD(rs.map(\.bestTop1))), pct(meanSD(rs.map(\.bestTop5))),
                     String(format: "%.1f", meanSD(rs.map(\.secondsPerEpoch)).mean)])
    }
    var widths = [Int](repeating: 0, count: rows[0].count)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
    var out = rows.enumerated().map { k, r in
        r.enumerated().map { i, c in i == 0 ? c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                                            : String(repeating: " ", count: widths[i] - c.count) + c }.joined(separator: "  ")
            + (k == 0 ? "\n" + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") : "")
    }.joined(separator: "\n") + "\n"
    for i in 1..<max(1, order.count) {
        let a = stats[0], b = stats[i]
        out += "\(order[i]) − \(order[0]): final top-1 \(Difference(a.top1, b.top1).text), top-5 \(Difference(a.top5, b.top5).text)\n"
    }
    // Test views, for the runs that `eval --views 10` has recorded (eval-views.csv).
    for key in order {
        let rows = byConfig[key]!.compactMap { Evaluation.load(run: $0.dir) }
        let one = rows.compactMap { $0.first { $0.views == 1 } }, ten = rows.compactMap { $0.first { $0.views == 10 } }
        guard !one.isEmpty, one.count == ten.count else { continue }
        func pct(_ xs: [Double]) -> String { String(format: "%.2f%%", 100 * meanSD(xs).mean) }
        out += "\(key) test views (eval --views 10 of \(ten.count) run\(ten.count == 1 ? "" : "s")): 1 view top-1 \(pct(one.map(\.top1))) top-5 \(pct(one.map(\.top5))); 10 views top-1 \(pct(ten.map(\.top1))) top-5 \(pct(ten.map(\.top5)))\n"
    }
    if order.count >= 2 {
        out += "paper (ImageNet): the two-GPU net's error was 1.7 points (top-1) and 1.2 points (top-5) below the one-GPU net's\n"
    }
    return out
}
