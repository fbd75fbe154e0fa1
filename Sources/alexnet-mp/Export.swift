import AlexNetCore
import AlexNetParallel
import AlexNetTraining
import ArgumentParser
import Foundation

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a run's model, all groups merged, as safetensors in PyTorch's names and layouts.",
        discussion: """
        Reads RUN_DIR/model/ (the final model) or, when the run has not finished, its latest complete
        checkpoint. Tensors: convN.weight [kernels, in/groups, size, size], convN.bias, fcN.weight
        [outputs, inputs] (inputs in the order of PyTorch's flatten of NCHW), fcN.bias, and mean_image
        [channels, height, width]. The metadata holds the run's config (alexnet_mp.config) and what a
        PyTorch module needs (alexnet_mp.torch); bench/pytorch_alexnet.py builds that module.
        """)

    @Argument(help: "The run directory.") var runDir: String
    @Option(help: "The .safetensors file to write.") var out: String
    @Option(help: "Data directory for the mean image (default: the run config's data.dir).") var data: String?

    func run() throws {
        try reportingErrors {
            let configPath = (runDir as NSString).appendingPathComponent("config.yaml")
            guard FileManager.default.fileExists(atPath: configPath) else {
                throw ConfigError("\(runDir): not a run directory (no config.yaml)")
            }
            let config = try RunConfig.load(configPath)
            let spec = try config.model.spec()
            let placement = try Placement(groups: spec.groups, ranks: 1, rank: 0)
            let network = try Network(spec: spec, batch: 1, placement: placement, comm: LocalCommunicator(),
                                      seed: config.train.seed, concurrentGroups: false)
            let source = try loadModel(run: runDir, into: network)
            var mean: (values: [Float], shape: [Int])?
            if config.data.meanImage {
                let batcher = try RunData.load(config, dataDir: data).batcher
                mean = (batcher.mean, [batcher.train.channels, batcher.train.height, batcher.train.width])
            }
            try PyTorchExport.write(network, config: config, mean: mean, to: out)
            let bytes = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
            print("wrote \(out): \(try spec.parameterCount().formatted()) parameters from \(source), \(String(format: "%.1f", Double(bytes) / 1_048_576)) MiB")
        }
    }
}

/// Loads this process's groups of a run's model: `model/` when every group's shard is there (a
/// run can be stopped while its ranks write them), else the latest checkpoint. Returns which it read.
func loadModel(run: String, into network: Network) throws -> String {
    let modelDir = (run as NSString).appendingPathComponent("model")
    if (0..<network.spec.groups).allSatisfy({ FileManager.default.fileExists(atPath: ModelFile.path(directory: modelDir, group: $0)) }) {
        for g in network.placement.localGroups {
            try ModelFile.read(into: network.parameters(group: g), spec: network.spec, group: g,
                               from: ModelFile.path(directory: modelDir, group: g))
        }
        return modelDir
    }
    let warn = { (line: String) in if network.comm.rank == 0 { writeStandardError("alexnet-mp: warning: \(line)\n") } }
    guard let latest = Checkpoint.latest(run, warn: warn) else {
        throw TrainingError("\(run): no model/ and no complete checkpoint to read", onEveryRank: true)
    }
    _ = try Checkpoint.read(network, from: latest)
    return latest
}
