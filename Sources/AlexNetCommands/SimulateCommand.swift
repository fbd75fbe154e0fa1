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
    @Option(parsing: .unconditional, help: "Devices to place the groups on: 1, or one per group (default).") var devices: Int?
    @Flag(name: .customLong("ignore-memory-limit"), help: "Do not refuse a placement whose device would run out of memory.") var ignoreMemoryLimit = false

    func validate() throws {
        if let images, images < 1 || images > 1 << 40 { throw ValidationError("--images must be from 1 to 2^40, got \(images).") }
    }

    func run() throws {
        try reportingErrors {
            let config = try RunConfig.load(configOption.path)
            let spec = config.model
            let devices = self.devices ?? spec.groups
            do { _ = try Placement(groups: spec.groups, ranks: devices, rank: 0) } catch { throw ConfigError("--devices \(devices): \(error)") }
            let images = self.images ?? (spec.classes == 1000 ? 1_200_000 : 60_000)
            print(try simulationReport(spec, name: config.name, batch: config.train.batch, device: config.device, epochs: epochsOption.epochs ?? config.train.epochs, images: images, placementDevices: devices), terminator: "")
            if !ignoreMemoryLimit {
                try checkDeviceMemory(spec, batch: config.train.batch, device: config.device, devices: devices)
            }
        }
    }
}
