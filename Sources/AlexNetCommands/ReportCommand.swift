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

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write one self-contained HTML page about finished runs: learning curves, conv1 kernels, top-5 guesses, nearest neighbours, confusion matrix, communication profile.",
        discussion: "Each run's figures are also written as SVG / PNG files in <run>/report/. Runs on 1 process (no mpirun needed).")

    @Argument(help: "Run directories (as written by train).") var runs: [String]
    @Option(help: "The HTML file to write (default: report.html in the run directory, or in the first run's parent directory for several runs).")
    var out: String?
    @Option(help: "Data directory (default: each run config's data.dir).") var data: String?
    @Option(name: .customLong("neighbour-pool"), parsing: .unconditional, help: "Training images searched for the nearest neighbours.") var neighbourPool = 5000
    @Option(parsing: .unconditional, help: "Test images shown with their top-5 guesses.") var examples = 8
    @OptionGroup var threads: ThreadOption

    func validate() throws {
        if runs.isEmpty { throw ValidationError("Give at least one run directory.") }
        if neighbourPool < 1 { throw ValidationError("--neighbour-pool must be at least 1, got \(neighbourPool).") }
        if examples < 1 { throw ValidationError("--examples must be at least 1, got \(examples).") }
    }

    func run() throws {
        try reportingErrors {
            let first = (runs[0] as NSString).standardizingPath
            let defaultOut = runs.count == 1 ? (first as NSString).appendingPathComponent("report.html")
                                             : (parentDirectory(of: first) as NSString).appendingPathComponent("report.html")
            var options = ReportOptions(out: out ?? defaultOut)
            options.dataDir = data
            options.neighbourPool = neighbourPool
            options.examples = examples
            if let t = threads.threads { options.cores = t }
            let files = try writeReport(runs: runs, options: options) {
                writeStandardError($0 + "\n")
            }
            print("figures: \(files.dropLast().count) files in \(Set(files.dropLast().map { parentDirectory(of: $0) }).sorted().joined(separator: ", "))")
            print("report: \(options.out)")
        }
    }
}
