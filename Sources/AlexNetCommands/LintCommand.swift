import AlexNetCore
import AlexNetTraining
import ArgumentParser
import Foundation

struct Lint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a config against the paper: one line per departure (error, choice or declared), then a summary.",
        discussion: """
        A departure is refused (error) or a choice (warning) unless the config declares it under \
        departures: with a one-line reason. train runs the same check before any work. Exits 1 when \
        there is an error, 0 otherwise.
        """)

    @OptionGroup var configOption: ConfigOption

    func run() throws {
        var report = (text: "", errors: 0)
        try reportingErrors { report = try lint(configPath: configOption.path) }
        print(report.text, terminator: "")
        if report.errors > 0 { throw ExitCode(1) }
    }
}

/// What `lint` prints for the config at `path`: its departures from the paper, notes, and a
/// summary line; and how many errors (undeclared refusals) there are.
func lint(configPath path: String) throws -> (text: String, errors: Int) {
    let config = try RunConfig.load(path)
    var notes: [String] = []
    var twin: RunConfig?
    if let twinPath = Fidelity.twinPath(of: config, at: path) {
        do {
            twin = try RunConfig.load(twinPath)
            notes.append("the one-group rule is checked against \(twinPath), the two-group net of this comparison net")
        } catch {
            notes.append("the one-group rule is not checked: \(error)")
        }
    }
    let departures = try Fidelity.departures(of: config, twin: twin)
    let unused = config.departures.keys.filter { id in !departures.contains { $0.id.rawValue == id } }.sorted()
    notes += unused.map { "departures.\($0) is declared, but the config does not depart from the paper there" }
    if config.model.groups > 1 && config.model.layers.contains(where: \.lrn) {
        notes.append("LRN normalises over the maps of each layer's own group: this project's reading of the paper's N (README, \"LRN within a group\")")
    }
    let errors = departures.filter(\.isError).count, choices = departures.filter(\.isUndeclaredChoice).count
    let declared = departures.count - errors - choices
    var lines = departures.map(\.line) + notes.map { "note: " + $0 }
    lines.append(departures.isEmpty ? "\(path): no departures from the paper"
        : "\(path): \(departures.count) departure\(departures.count == 1 ? "" : "s") from the paper: \(errors) error\(errors == 1 ? "" : "s"), \(choices) undeclared choice\(choices == 1 ? "" : "s"), \(declared) declared")
    return (lines.joined(separator: "\n") + "\n", errors)
}
