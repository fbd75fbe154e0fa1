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

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Model a run on the config's device (default: two GTX 580 3 GB over PCIe 2.0): per-layer time, transfers, memory, the whole run's wall time, and the alternatives.")

    @OptionGroup var configOption: ConfigOption
    @Option(parsing: .unconditional, help: "Training images per epoch (default: 1,200,000 for 1000 classes, else 60,000).") var images: Int?
    @OptionGroup var epochsOption: EpochsOption
    @OptionGroup var replicaOption: ReplicaOption
    @Option(parsing: .unconditional, help: "Devices to place the model on, as ranks in `train`: 1, one per group, one per replica, or groups × replicas (default: groups × replicas).")
    var devices: Int?
    @Flag(help: "Print, instead, the modelled scaling of each strategy (model parallel, data parallel, groups × replicas, the 2014 hybrid) on 1 to 64 devices, the config's minibatch per replica.")
    var scaling = false
    @Flag(name: .customLong("ignore-memory-limit"), help: "Do not refuse a placement whose device would run out of memory.") var ignoreMemoryLimit = false

    func validate() throws {
        if let images, images < 1 || images > 1 << 40 { throw ValidationError("--images must be from 1 to 2^40, got \(images).") }
        if let devices, devices < 1 || devices > 1 << 20 { throw ValidationError("--devices must be from 1 to 2^20, got \(devices).") }
    }

    func run() throws {
        try reportingErrors {
            let config = try replicaOption.apply(to: RunConfig.load(configOption.path))
            let spec = config.model
            if scaling {
                print(try scalingReport(spec, name: config.name, perReplica: config.train.batch, device: config.device), terminator: "")
                return
            }
            let devices = self.devices ?? spec.groups * spec.replicas
            let placement: Placement
            do {
                placement = try Placement(groups: spec.groups, replicas: spec.replicas, ranks: devices, rank: 0,
                                          ranksPerReplica: replicaOption.ranksPerReplica)
            } catch { throw ConfigError("--devices \(devices): \(error)") }
            let images = self.images ?? (spec.classes == 1000 ? 1_200_000 : 60_000)
            print(try simulationReport(spec, name: config.name, batch: config.train.batch, device: config.device,
                                       epochs: epochsOption.epochs ?? config.train.epochs, images: images, placement: placement), terminator: "")
            if !ignoreMemoryLimit {
                try checkDeviceMemory(spec, batch: config.train.batch / spec.replicas, device: config.device, devices: placement.ranksPerReplica)
            }
        }
    }
}
