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

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a run's model, all groups merged, as safetensors in PyTorch's names and layouts.",
        discussion: """
        Reads RUN_DIR/model/ (the final model) or, when the run has not finished, its latest complete
        checkpoint. Tensors: convN.weight [kernels, in/groups, size, size], convN.bias, fcN.weight
        [outputs, inputs] (inputs in the order of PyTorch's flatten of NCHW), fcN.bias, and mean_image
        [channels, height, width]. The metadata holds the run's config (alexnet_mp.config), what a
        PyTorch module needs (alexnet_mp.torch; bench/pytorch_alexnet.py builds that module), and
        which maps LRN normalises over (alexnet_mp.lrn_across: group, each group's own maps).
        """)

    @Argument(help: "The run directory.") var runDir: String
    @Option(help: "The .safetensors file to write.") var out: String
    @Option(help: "Data directory for the mean image (default: the run config's data.dir).") var data: String?

    func run() throws {
        try reportingErrors {
            do { try OutputFile.check(out, as: .safetensors) } catch let e as FileError { throw ConfigError(e.description) }
            let saved = try SavedModel.open(runDir)
            guard saved.run != nil else { throw ConfigError("\(runDir): give a run directory (an exported file is exported already)") }
            let config = saved.config
            // Every group in this process, one image at a time: only the parameters matter here.
            let session = try Session(config: config, comm: LocalCommunicator(), cores: 1, batch: 1)
            let source = try saved.load(into: session.network) { writeStandardError("alexnet-mp: warning: \($0)\n") }
            var mean: (values: [Float], shape: [Int])?
            if config.data.meanImage {
                let batcher = try RunData.load(config, dataDir: data).batcher
                mean = (batcher.mean, [batcher.train.channels, batcher.train.height, batcher.train.width])
            }
            try PyTorchExport.write(config.model, parameters: session.network.parameters(group:), mean: mean, configYAML: try config.yaml(),
                                    preprocess: config.preprocess, to: out)
            let bytes = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
            print("wrote \(out): \(try config.model.parameterCount().formatted()) parameters from \(source), \(String(format: "%.1f", Double(bytes) / 1_048_576)) MiB")
        }
    }
}
