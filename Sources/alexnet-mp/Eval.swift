import AlexNetCore
import AlexNetData
import AlexNetParallel
import AlexNetTraining
import ArgumentParser
import Foundation

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Top-1 and top-5 error of a saved model on the test set.")

    @Option(help: ArgumentHelp("A run directory (its model/, else its latest checkpoint), its model/ directory, a shard in it (every group's shard is read), or a .safetensors file written by `export`."))
    var model: String
    @Option(help: "Data directory (default: the config's data.dir).") var data: String?
    @Option(help: "Write the logits of the evaluated images to this .npy file (float32, [images, classes], test-set order; centre crop).")
    var logits: String?
    @Option(help: "Test views per image: 1 (the centre crop) or 10 (the four corners and the centre, and their mirrors; softmax averaged, as the paper). With 10, the 1-view numbers are printed too.")
    var views: Int = 1
    @OptionGroup var threads: ThreadOption

    func validate() throws {
        if let logits, !logits.hasSuffix(".npy") { throw ValidationError("--logits: \(logits) must end in .npy.") }
        if views != 1 && views != 10 { throw ValidationError("--views takes 1 or 10, got \(views).") }
        if logits != nil && views != 1 { throw ValidationError("--logits saves the centre crop's logits: use it with --views 1.") }
    }

    func run() throws {
        try Launch.run(threads: threads.threads) { launch in
            let safetensors = model.hasSuffix(".safetensors")
            var runDir = model
            let config: RunConfig
            var file: SafeTensors?
            if safetensors {
                let f = try SafeTensors.read(model)
                config = try PyTorchExport.config(of: f)
                file = f
            } else {
                if model.hasSuffix(".bin") { runDir = (model as NSString).deletingLastPathComponent }
                if (runDir as NSString).lastPathComponent == "model" { runDir = (runDir as NSString).deletingLastPathComponent }
                let configPath = (runDir as NSString).appendingPathComponent("config.yaml")
                guard FileManager.default.fileExists(atPath: configPath) else {
                    throw ConfigError("\(model): not a run directory (no config.yaml)")
                }
                config = try RunConfig.load(configPath)
            }
            let spec = try config.model.spec()
            let placement = try launch.placement(groups: spec.groups)
            let runData = try RunData.load(config, dataDir: data)
            guard runData.hasValidation else {
                throw DataError(runData.dir, "has no validation split (prepare found no val/ folder): there are no test images to evaluate")
            }
            let batcher = runData.batcher
            let threads = launch.threadPlan(placement)
            let network = try Network(spec: spec, batch: config.train.batch, placement: placement, comm: launch.comm,
                                      seed: config.train.seed, concurrentGroups: threads.concurrentGroups)
            if let file { try PyTorchExport.load(file, into: network) } else { _ = try loadModel(run: runDir, into: network) }
            let trainer = Trainer(config: config, network: network, batcher: batcher, console: launch.console,
                                  options: TrainOptions(outDir: safetensors ? NSTemporaryDirectory() : runDir))
            if views > 1 {
                try reportViews(try trainer.evaluateViews(views), model: model, images: batcher.test.count, console: launch.console,
                                record: data == nil && launch.comm.rank == 0 && !safetensors ? runDir : nil)
                return
            }
            let K = spec.classes
            var all = logits != nil ? [Float](repeating: 0, count: batcher.test.count * K) : []
            let r = try trainer.evaluate(logits: logits == nil ? nil : { image, values in
                for k in 0..<K { all[image * K + k] = values[k] }
            })
            if let logits, launch.comm.rank == 0 { try NumPyFile.write(all, shape: [batcher.test.count, K], to: logits) }
            launch.console.print(String(format: "%@: %d test images, top-1 error %.2f%%, top-5 error %.2f%%, loss %.4f",
                                        model, batcher.test.count, 100 * r.top1, 100 * r.top5, r.loss))
        }
    }
}
