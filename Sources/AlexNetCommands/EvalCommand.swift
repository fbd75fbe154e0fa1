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

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Top-1 and top-5 error of a saved model on the test set.")

    @Option(help: ArgumentHelp("A run directory (its model/, else its latest checkpoint), its model/ directory, a shard in it (every group's shard is read), or a .safetensors file written by `export`."))
    var model: String
    @Option(help: "Data directory (default: the config's data.dir).") var data: String?
    @Option(help: "Write the logits of the evaluated images to this .npy file (float32, [images, classes], test-set order; centre crop).")
    var logits: String?
    @Option(parsing: .unconditional, help: "Test views per image: 1 (the centre crop) or 10 (the four corners and the centre, and their mirrors; softmax averaged, as the paper). With 10, the 1-view numbers are printed too.")
    var views: Int = 1
    @OptionGroup var threads: ThreadOption

    func validate() throws {
        if let logits, !logits.hasSuffix(".npy") { throw ValidationError("--logits: \(logits) must end in .npy.") }
        if views != 1 && views != 10 { throw ValidationError("--views takes 1 or 10, got \(views).") }
        if logits != nil && views != 1 { throw ValidationError("--logits saves the centre crop's logits: use it with --views 1.") }
    }

    func run() throws {
        try Launch.run(threads: threads.threads) { launch in
            try launch.checkOutputs([(logits, .logits)])
            let r = try evaluateViews(model, views: views, dataDir: data, launch: launch, record: data == nil, logits: logits)
            let bad = max(r.centre.nonFinite, r.averaged.nonFinite)
            if bad > 0 {
                throw TrainingError("\(model): the model produces non-finite outputs (NaN or infinity) for \(bad) of \(r.images) test images, counted as errors above: its weights are not usable", onEveryRank: true)
            }
        }
    }
}

/// Evaluates a saved model (a run directory or an exported file) on its test set with 1 or 10
/// views and prints the result; with `record`, a run directory evaluated with 10 views records
/// both rows in its eval-views.csv (which `compare` and `ablate` read); with `logits`, the centre
/// crop's logits are saved. `eval` and `ablate --study views` both come here.
func evaluateViews(_ model: String, views: Int, dataDir: String? = nil, launch: Launch, record: Bool,
                   logits: String? = nil) throws -> (centre: Evaluation, averaged: Evaluation, images: Int) {
    let saved = try SavedModel.open(model)
    let data = try RunData.load(saved.config, dataDir: dataDir)
    guard data.hasValidation else {
        throw DataError(data.dir, "has no validation split (prepare found no val/ folder): there are no test images to evaluate")
    }
    let session = try launch.session(saved.config)
    _ = try saved.load(into: session.network, warn: launch.console.warning)
    let K = saved.config.model.classes, images = data.batcher.test.count
    var all = [Float](repeating: 0, count: logits == nil ? 0 : images * K)
    let r = try Evaluator(network: session.network, batcher: data.batcher).run(views: views, logits: logits == nil ? nil : { image, z, stride in
        for k in 0..<K { all[image * K + k] = z[k * stride] }
    })!
    if let logits, launch.comm.rank == 0 { try NumPyFile.write(all, shape: [images, K], to: logits) }
    for e in views == 1 ? [r.centre] : [r.centre, r.averaged] {
        launch.console.print(String(format: "%@: %d test images, %@top-1 error %.2f%%, top-5 error %.2f%%, loss %.4f", model, images,
                                    views == 1 ? "" : String(format: "%2d view%@: ", e.views, e.views == 1 ? " " : "s"),
                                    100 * e.top1, 100 * e.top5, e.loss))
    }
    if views > 1, record, launch.comm.rank == 0, let run = saved.run {
        try writeAtomically(Evaluation.csvHeader + "\n" + [r.centre, r.averaged].map { $0.csvRow + "\n" }.joined(),
                            to: run.file(Evaluation.fileName))
    }
    return (r.centre, r.averaged, images)
}
