import AlexNetCore
import AlexNetParallel
import AlexNetTraining
import ArgumentParser
import Foundation

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Top-1 and top-5 error of a saved model on the test set.")

    @Option(help: "A run directory, its model/ directory, or a shard in it (model/group<g>.bin; every group's shard is read).")
    var model: String
    @Option(help: "Data directory (default: the run config's data.dir).") var data: String?
    @Option(help: "Test views per image: 1 (the centre crop) or 10 (the four corners and the centre, and their mirrors; softmax averaged, as the paper). With 10, the 1-view numbers are printed too.")
    var views: Int = 1
    @OptionGroup var threads: ThreadOption

    func validate() throws {
        if views != 1 && views != 10 { throw ValidationError("--views takes 1 or 10, got \(views).") }
    }

    func run() throws {
        try Launch.run(threads: threads.threads) { launch in
            var runDir = model
            if model.hasSuffix(".bin") { runDir = (model as NSString).deletingLastPathComponent }
            if (runDir as NSString).lastPathComponent == "model" { runDir = (runDir as NSString).deletingLastPathComponent }
            let configPath = (runDir as NSString).appendingPathComponent("config.yaml")
            guard FileManager.default.fileExists(atPath: configPath) else {
                throw ConfigError("\(model): not a run directory (no config.yaml)")
            }
            let config = try RunConfig.load(configPath)
            let spec = try config.model.spec()
            let placement = try launch.placement(groups: spec.groups)
            let batcher = try loadBatcher(config, dataDir: data)
            let threads = launch.threadPlan(placement)
            let network = try Network(spec: spec, batch: config.train.batch, placement: placement, comm: launch.comm,
                                      seed: config.train.seed, concurrentGroups: threads.concurrentGroups)
            let modelDir = (runDir as NSString).appendingPathComponent("model")
            for g in placement.localGroups {
                try ModelFile.read(into: network.parameters(group: g), spec: spec, group: g,
                                   from: ModelFile.path(directory: modelDir, group: g))
            }
            let trainer = Trainer(config: config, network: network, batcher: batcher, console: launch.console,
                                  options: TrainOptions(outDir: runDir))
            if views > 1 {
                try reportViews(try trainer.evaluateViews(views), model: model, images: batcher.test.count, console: launch.console,
                                record: data == nil && launch.comm.rank == 0 ? runDir : nil)
                return
            }
            let r = try trainer.evaluate()
            launch.console.print(String(format: "%@: %d test images, top-1 error %.2f%%, top-5 error %.2f%%, loss %.4f",
                                        model, batcher.test.count, 100 * r.top1, 100 * r.top5, r.loss))
        }
    }
}
