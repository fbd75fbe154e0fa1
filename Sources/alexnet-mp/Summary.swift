import AlexNetTraining
import ArgumentParser

struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per-layer table: output shape, parameters and multiply-adds per group and in total, activation memory.")

    @OptionGroup var configOption: ConfigOption
    @Option(help: "Show how the groups and parameters split over this many ranks.") var ranks: Int = 1
    @Flag(help: "Print, instead of the table, the JSON description of the equivalent PyTorch module (what `export` stores as alexnet_mp.torch; bench/pytorch_alexnet.py reads it).")
    var torch = false

    func run() throws {
        try reportingErrors {
            let config = try RunConfig.load(configOption.config)
            if torch { print(try PyTorchExport.torchDescription(config)); return }
            print(try summaryTable(try config.model.spec(), name: config.name, ranks: ranks, batch: config.train.batch,
                                   device: config.device), terminator: "")
        }
    }
}

import Foundation
