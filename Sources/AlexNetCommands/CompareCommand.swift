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

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare finished runs: final and best validation top-1/top-5 error per config (mean ± sd over seeds), their difference, parameters, time per epoch.")

    @Argument(help: "Run directories (as written by train).") var runs: [String]

    func validate() throws {
        if runs.isEmpty { throw ValidationError("Give at least one run directory.") }
    }

    func run() throws {
        try reportingErrors {
            print(compareTable(try runs.map(RunRecord.load)), terminator: "")
        }
    }
}
