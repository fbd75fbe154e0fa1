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

struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per-layer table: output shape, parameters and multiply-adds per group and in total, activation memory.")

    @OptionGroup var configOption: ConfigOption
    @Option(parsing: .unconditional, help: "Show how the groups and parameters split over this many ranks, and what each sends a step.") var ranks: Int = 1
    @OptionGroup var replicaOption: ReplicaOption
    @Flag(help: "Print, instead of the table, the JSON description of the equivalent PyTorch module (what `export` stores as alexnet_mp.torch; bench/pytorch_alexnet.py reads it).")
    var torch = false

    func run() throws {
        try reportingErrors {
            let config = try replicaOption.apply(to: RunConfig.load(configOption.path))
            if torch { print(try PyTorchExport.torchDescription(config.model, preprocess: config.preprocess)); return }
            print(try summaryTable(config.model, name: config.name, ranks: ranks, ranksPerReplica: replicaOption.ranksPerReplica,
                                   batch: config.train.batch,
                                   device: config.device), terminator: "")
        }
    }
}

