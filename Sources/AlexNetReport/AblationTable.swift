import AlexNetCore
import AlexNetTraining
import Foundation

/// One study's finished runs: the paper's arm and the ablated arm, one run per seed each, in
/// seed order (for `views`, the same runs on both sides, tested two ways).
public struct StudyRuns: Sendable {
    public var study: AblationStudy
    public var paper: [RunRecord], ablated: [RunRecord]
    public init(study: AblationStudy, paper: [RunRecord], ablated: [RunRecord]) {
        self.study = study; self.paper = paper; self.ablated = ablated
    }

    /// Error rates with the choice and without it (final validation error; for `views`, the
    /// test errors with ten views and with the centre crop that `eval --views 10` recorded).
    func errors(top5: Bool) -> (with: [Double], without: [Double]) {
        if study == .views {
            let rows = paper.compactMap { Evaluation.load(run: $0.dir) }
            func pick(_ v: Int) -> [Double] { rows.compactMap { $0.first { $0.views == v } }.map { top5 ? $0.top5 : $0.top1 } }
            return (pick(10), pick(1))
        }
        func final(_ rs: [RunRecord]) -> [Double] { rs.compactMap { $0.final }.map { top5 ? $0.validationErrorTop5 : $0.validationErrorTop1 } }
        return (final(paper), final(ablated))
    }

    /// Error with the choice minus error without it (negative: the choice helps, as the paper reports).
    public var top1: Difference { let e = errors(top5: false); return Difference(e.without, e.with) }
    public var top5: Difference { let e = errors(top5: true); return Difference(e.without, e.with) }
}

/// The table `ablate` prints and the report shows: per study, the paper's delta beside the
/// measured one, whether it has the paper's sign and is larger than the noise, and the cost.
public func ablationTable(_ studies: [StudyRuns]) -> String {
    func pts(_ d: Difference) -> String {
        guard let p = d.points else { return "—" }
        return d.standardError.map { String(format: "%+.2f ± %.2f", p, $0) } ?? String(format: "%+.2f", p)
    }
    func sign(_ s: StudyRuns) -> String {
        guard let paper = s.study.paper.top1, let p = s.top1.points else { return s.top1.points.map { $0 < 0 ? "helps" : "hurts" } ?? "—" }
        return (p < 0) == (paper < 0) ? "yes" : "no"
    }
    var rows: [[String]] = [["study", "paper Δ top-1 / top-5", "measured Δ top-1", "measured Δ top-5", "paper's sign", "beyond noise",
                             "seeds", "params with / without", "s/epoch with / without"]]
    for s in studies {
        let params = s.study == .views ? "same" : "\((s.paper.first?.parameters ?? 0).formatted()) / \((s.ablated.first?.parameters ?? 0).formatted())"
        let seconds = s.study == .views ? "same"
            : String(format: "%.0f / %.0f", meanOf(s.paper.map(\.secondsPerEpoch)), meanOf(s.ablated.map(\.secondsPerEpoch)))
        let noise = s.top1.standardError == nil ? "one seed" : (s.top1.largerThanNoise ? "yes" : "no") + " / " + (s.top5.largerThanNoise ? "yes" : "no")
        rows.append([s.study.rawValue, s.study.paper.words, pts(s.top1), pts(s.top5), sign(s), noise,
                     "\(min(s.paper.count, s.ablated.count))", params, seconds])
    }
    var widths = [Int](repeating: 0, count: rows[0].count)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
    var out = rows.enumerated().map { k, r in
        r.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
            .trimmingCharacters(in: .whitespaces)
            + (k == 0 ? "\n" + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") : "")
    }.joined(separator: "\n") + "\n"
    out += "Δ = error with the paper's choice − error without it, in points of final validation error (views: test error, ten views − the centre crop); "
        + "mean ± standard error over seeds; beyond noise: |Δ| > 2 standard errors (top-1 / top-5).\n"
    for s in studies { out += "\(s.study.rawValue): \(s.study.title)\n" }
    return out
}

private func meanOf(_ xs: [Double]) -> Double { xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count) }

/// The study's page: the table, then one learning-curve pair per study (each arm's first seed).
/// Written atomically to `out`.
public func writeAblationReport(_ studies: [StudyRuns], title: String, to out: String) throws {
    var html = HTMLPage(title: "alexnet-mp ablate: " + title)
    html.add("<p class=\"meta\">Written by <code>alexnet-mp ablate</code> on \(ISO8601DateFormatter().string(from: Date())).</p>")
    html.section(id: "table", "The paper's claims, re-run")
    html.add("<pre>\(escapeXML(ablationTable(studies)))</pre>")
    for s in studies where s.study != .views {
        guard let a = s.paper.first, let b = s.ablated.first else { continue }
        html.section(id: s.study.rawValue, level: 3, "\(s.study.rawValue): \(s.study.title)")
        let chart = Figures.learningCurves([("with (\(a.name), seed \(a.seed))", a, loadSteps(a.dir)),
                                            ("without (\(b.name), seed \(b.seed))", b, loadSteps(b.dir))])
        html.add(chart.document())
    }
    try writeAtomically(html.document(), to: out)
}
