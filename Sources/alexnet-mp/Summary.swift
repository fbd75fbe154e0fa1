import AlexNetTraining
import ArgumentParser

struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per-layer table: output shape, parameters and multiply-adds per group and in total, activation memory.")

    @OptionGroup var configOption: ConfigOption
    @Option(help: "Show how the groups and parameters split over this many ranks.") var ranks: Int = 1

    func run() throws {
        do {
            let config = try RunConfig.load(configOption.config)
            print(try summaryTable(try config.model.spec(), name: config.name, ranks: ranks, batch: config.train.batch,
                                   device: config.device), terminator: "")
        } catch {
            FileHandle.standardError.write(Data("alexnet-mp: error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

import Foundation
