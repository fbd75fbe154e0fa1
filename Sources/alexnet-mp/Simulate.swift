import AlexNetTraining
import ArgumentParser
import Foundation

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Model a run on the config's device (default: two GTX 580 3 GB over PCIe 2.0): per-layer time, transfers, memory, the whole run's wall time, and the alternatives.")

    @OptionGroup var configOption: ConfigOption
    @Option(help: "Epochs (default: the config's train.epochs).") var epochs: Int?
    @Option(help: "Training images per epoch (default: 1,200,000 for 1000 classes, else 60,000).") var images: Int?
    @Option(help: "Devices to place the groups on: 1, or one per group (default).") var devices: Int?
    @Flag(name: .customLong("ignore-memory-limit"), help: "Do not refuse a placement whose device would run out of memory.") var ignoreMemoryLimit = false

    func validate() throws {
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs).") }
        if let images, images < 1 { throw ValidationError("--images must be at least 1, got \(images).") }
    }

    func run() throws {
        try reportingErrors {
            let config = try RunConfig.load(configOption.config)
            let spec = try config.model.spec()
            let devices = self.devices ?? spec.groups
            guard devices == 1 || devices == spec.groups else {
                throw ConfigError("--devices \(devices): a \(spec.groups)-group model runs on 1 device or on \(spec.groups)")
            }
            let images = self.images ?? (spec.classes == 1000 ? 1_200_000 : 60_000)
            print(try simulationReport(config, epochs: epochs ?? config.train.epochs, images: images, placementDevices: devices), terminator: "")
            if !ignoreMemoryLimit {
                try checkDeviceMemory(config, devices: devices)
            }
        }
    }
}
