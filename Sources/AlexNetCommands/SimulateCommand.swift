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
    @Option(help: "The device: a device file (what calibrate writes, or the keys of a config's device: section), or this-machine (calibrated now, on this process); default: the config's device: section.")
    var device: String?
    @Flag(help: "Print, instead, the modelled scaling of each strategy (model parallel, data parallel, groups × replicas, the 2014 hybrid) on 1 to 64 devices, the config's minibatch per replica.")
    var scaling = false
    @Option(help: "Print, instead, the scaling table over these values: devices=1,2,4,8 and/or batch=128,256 (images per replica); repeat the option for both.")
    var sweep: [String] = []
    @Flag(name: .customLong("ignore-memory-limit"), help: "Do not refuse a placement whose device would run out of memory.") var ignoreMemoryLimit = false

    func validate() throws {
        if let images, images < 1 || images > 1 << 40 { throw ValidationError("--images must be from 1 to 2^40, got \(images).") }
        if let devices, devices < 1 || devices > 1 << 20 { throw ValidationError("--devices must be from 1 to 2^20, got \(devices).") }
    }

    func run() throws {
        try reportingErrors {
            var config = try replicaOption.apply(to: RunConfig.load(configOption.path))
            let spec = config.model
            if device == "this-machine" {
                BLAS.setThreads(ThreadPlan(cores: ProcessInfo.processInfo.activeProcessorCount, localGroups: spec.groups).blasThreads)
                config.device = try Calibration.device(spec, batch: config.train.batch / spec.replicas)
            } else if let device {
                config.device = try RunConfig.loadDevice(device)
            }
            if scaling || !sweep.isEmpty {
                var devices = [1, 2, 4, 8, 16, 64], batches = [config.train.batch]
                for s in sweep {
                    let parts = s.split(separator: "=", maxSplits: 1).map(String.init)
                    let values = parts.count == 2 ? parts[1].split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) } : []
                    guard parts.count == 2, ["devices", "batch"].contains(parts[0]), !values.isEmpty, values.allSatisfy({ $0 != nil && $0! >= 1 && $0! <= 1 << 16 }) else {
                        throw ConfigError("--sweep \(s): give devices=N,N,… or batch=N,N,… with whole numbers from 1 to 65536")
                    }
                    if parts[0] == "devices" { devices = values.map { $0! } } else { batches = values.map { $0! } }
                }
                print(try scalingReport(spec, name: config.name, perReplica: batches, devices: devices, device: config.device), terminator: "")
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
