import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import AlexNetSimulator
import AlexNetTraining
import Foundation

/// What `alexnet-mp report` is asked to do.
public struct ReportOptions: Sendable {
    /// The HTML page to write.
    public var out: String
    /// Data directory for every run (default: each run's config's data.dir).
    public var dataDir: String?
    /// Training images whose features the nearest-neighbour search looks through.
    public var neighbourPool = 5000
    /// Test images shown with their top-5 guesses.
    public var examples = 8
    /// Test images shown with their nearest training images, and how many of those.
    public var neighbourQueries = 4, neighbours = 6
    /// Largest class count drawn as a confusion matrix.
    public var maxConfusionClasses = 20
    /// Cores to compute with.
    public var cores = ProcessInfo.processInfo.activeProcessorCount
    public init(out: String) { self.out = out }
}

public struct ReportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// The classes' names: the data set's own (`RunData.classNames`: a prepared directory's
/// classes.txt, CIFAR-10's batches.meta.txt), else Fashion-MNIST's when the run's config or data
/// directory names it, else the indices.
public func classNames(_ config: RunConfig, data: RunData? = nil) -> [String] {
    if let names = data?.classNames, names.count >= config.model.classes { return names }
    let fashion = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    let named = (config.name + " " + config.data.dir).lowercased().contains("fashion")
    return named && config.model.classes == 10 ? fashion : (0..<config.model.classes).map { "class \($0)" }
}

/// Checks that `dir` is a run directory with at least one finished epoch; one-line errors.
public func loadRun(_ dir: String) throws -> (record: RunRecord, config: RunConfig) {
    do { try checkDirectory(dir) } catch let e as FileError {
        throw ReportError(e.problem == "no such directory" ? "\(dir): no such run directory" : "\(dir): \(e.problem) (give a run directory written by train)")
    }
    guard fileType((dir as NSString).appendingPathComponent(RunDirectory.metricsFile)) != nil else {
        throw ReportError("\(dir): not a run directory with metrics (no metrics.csv)")
    }
    let run = try RunDirectory(existing: dir)
    return (try RunRecord.load(dir), try run.config())
}

/// Rows of a run's steps.csv: global step and loss (empty when the run logged none).
func loadSteps(_ dir: String) -> [(step: Int, loss: Double)] {
    guard let text = try? readText((dir as NSString).appendingPathComponent(RunDirectory.stepsFile), limit: 1 << 30) else { return [] }
    return text.split(separator: "\n").dropFirst().compactMap { line in
        let f = line.split(separator: ",")
        guard f.count >= 3, let s = Int(f[0]), let l = Double(f[2]) else { return nil }
        return (s, l)
    }
}

/// Writes the report of `runs` to `options.out` (one self-contained HTML page: inline SVG and
/// base64 PNG, no scripts, nothing fetched), and each run's figures as separate SVG / PNG
/// files in `<run>/report/`. Every run directory is checked before anything is written; the
/// page is written under a temporary name and renamed. `log` receives progress and notes.
@discardableResult
public func writeReport(runs dirs: [String], options: ReportOptions, log: (String) -> Void = { _ in }) throws -> [String] {
    guard !dirs.isEmpty else { throw ReportError("give at least one run directory") }
    let runs = try dirs.map(loadRun)
    do { try OutputFile.check(options.out, as: .report) } catch let e as FileError { throw ReportError(e.description) }
    var labels = runs.map { "\($0.record.name) \($0.record.placementText) seed \($0.record.seed)" }
    if Set(labels).count < labels.count { labels = zip(labels, dirs).map { "\($0) (\(($1 as NSString).lastPathComponent))" } }
    var written: [String] = []
    func write(_ text: String, _ path: String) throws { try writeAtomically(text, to: path); written.append(path) }
    func write(_ bytes: [UInt8], _ path: String) throws { try writeAtomically(bytes, to: path); written.append(path) }

    var html = HTMLPage(title: "alexnet-mp report: " + labels.joined(separator: ", "))
    html.add("<p class=\"meta\">\(runs.count) run\(runs.count == 1 ? "" : "s"): " + zip(labels, dirs).map { "<b>\(escapeXML($0))</b> (<code>\(escapeXML($1))</code>)" }.joined(separator: "; ")
             + ". Written by <code>alexnet-mp report</code> on \(ISO8601DateFormatter().string(from: Date())).</p>")
    html.nav([("learning-curves", "Learning curves")] + dirs.indices.map { ("run-\($0)", labels[$0]) })

    // Learning curves, every run on one chart.
    let curves = Figures.learningCurves(runs.indices.map { (labels[$0], runs[$0].record, loadSteps(dirs[$0])) })
    html.section(id: "learning-curves", "Learning curves")
    html.add(curves.document())
    html.add("<p class=\"note\">Loss per logged step (steps.csv) when the run logged steps, else per epoch; errors on the validation set after each epoch. A dashed line marks the end of an epoch after which the learning rate was divided.</p>")
    html.add("<pre>" + escapeXML(compareTable(runs.map(\.record))) + "</pre>")

    for (r, run) in runs.enumerated() {
        let dir = dirs[r], config = run.config, label = labels[r]
        let figDir = (dir as NSString).appendingPathComponent("report")
        try FileManager.default.createDirectory(atPath: figDir, withIntermediateDirectories: true)
        func fig(_ name: String) -> String { (figDir as NSString).appendingPathComponent(name) }
        try write(Figures.learningCurves([(label, run.record, loadSteps(dir))]).document(standalone: true), fig("learning-curves.svg"))
        html.section(id: "run-\(r)", "Run: " + label)
        let last = run.record.epochs.last!
        let finalError = last.validationErrorTop1.isFinite
            ? String(format: "final validation top-1 error %.2f%%, top-5 %.2f%%", 100 * last.validationErrorTop1, 100 * last.validationErrorTop5)
            : String(format: "no validation split (final training top-1 error %.2f%%)", 100 * last.trainErrorTop1)
        html.add(String(format: "<p class=\"meta\"><code>%@</code>: %d epoch%@ (%d steps of %d), %@; %@ parameters in %d group%@ on %d rank%@.</p>",
                        escapeXML(dir), run.record.epochs.count, run.record.epochs.count == 1 ? "" : "s",
                        run.record.epochs.reduce(0) { $0 + $1.steps }, config.train.batch,
                        finalError, run.record.parameters.formatted(),
                        run.record.groups, run.record.groups == 1 ? "" : "s", run.record.ranks, run.record.ranks == 1 ? "" : "s"))

        // Everything that needs the model and the data.
        var model: TrainedModel?
        do {
            log("report: \(label): loading the model and the data")
            model = try TrainedModel(run: dir, config: config, dataDir: options.dataDir, cores: options.cores)
        } catch {
            log("report: \(label): no model sections: \(error)")
            html.section(level: 3, "conv1 kernels")
            html.add("<p class=\"skip\">Skipped: \(escapeXML("\(error)")). The kernels, guesses, neighbours and confusion matrix need the run's model/ and its data.</p>")
        }
        let names = classNames(config, data: model?.data)
        if let model {
            try kernelSection(model, &html, fig, write)
        }
        if let model, model.batcher.test.count == 0 {
            log("report: \(label): no test images (no validation split)")
            html.section(level: 3, "Top-5 guesses")
            html.add("<p class=\"skip\">Skipped: \(escapeXML(model.data.dir)) has no validation split (prepare found no val/ folder), so there are no test images for the top-5 guesses, the nearest neighbours and the confusion matrix.</p>")
        } else if let model {
            log("report: \(label): classifying the \(model.batcher.test.count) test images")
            let test = model.batcher.test
            let testOut = try model.outputs(of: test, features: false)
            let pool = model.batcher.train.evenSample(options.neighbourPool)
            log("report: \(label): features of \(pool.set.count) training images for the nearest neighbours")
            let poolOut = try model.outputs(of: pool.set, features: true)

            html.section(level: 3, "Top-5 guesses")
            let examples = (0..<min(options.examples, test.count)).map { $0 * test.count / max(1, options.examples) + 1 }
                .map { min($0, test.count - 1) }
            let top5 = Figures.topFive(set: test, images: examples, outputs: testOut, names: names)
            try write(top5.document(standalone: true), fig("top5.svg"))
            html.add(top5.document())
            html.add("<p class=\"note\">Test images \(examples.map(String.init).joined(separator: ", ")) (evenly spaced), centre crops as in evaluation. Under each: the true class (green when it is the top guess), and the five most probable classes; the true class's bar is green.</p>")

            let layerName = model.network.plans[model.featureLayer].spec.name
            html.section(level: 3, "Nearest neighbours in \(layerName)")
            let queries = (0..<min(options.neighbourQueries, test.count)).map { min(test.count - 1, $0 * test.count / max(1, options.neighbourQueries) + 7) }
            // Features of the query images only (the whole test set's would be 50,000 × 4096 floats on ILSVRC).
            let queryOut = try model.outputs(of: test.subset(queries), features: true)
            let d = queryOut.featureSize, q = queryOut.features
            let matches = NearestNeighbours.search(queries: q, base: poolOut.features, dimensions: d, k: options.neighbours)
            let nn = Figures.neighbours(test: test, queries: queries, train: pool.set, matches: matches, names: names)
            try write(nn.document(standalone: true), fig("neighbours.svg"))
            html.add(nn.document())
            let agree = zip(queries, matches).reduce(0) { acc, qm in acc + qm.1.filter { pool.set.labels[$0.index] == test.labels[qm.0] }.count }
            html.add("<p class=\"note\">Euclidean distance between \(d)-dimensional \(layerName) activations (the last hidden layer, after ReLU, no dropout) of each test image and of \(pool.set.count) training images spread evenly over the training set. \(agree) of \(matches.reduce(0) { $0 + $1.count }) neighbours share the test image's class (green).</p>")

            html.section(level: 3, "Confusion matrix")
            if config.model.classes <= options.maxConfusionClasses {
                var cm = ConfusionMatrix(classes: config.model.classes)
                for i in 0..<testOut.count { cm.add(truth: testOut.labels[i], predicted: testOut.top(1, of: i)[0].label) }
                let svg = cm.svg(names: names)
                try write(svg.document(standalone: true), fig("confusion-matrix.svg"))
                html.add(svg.document())
                html.add(String(format: "<p class=\"note\">All %d test images, centre crops: %d right (top-1 error %.2f%%). Rows: the true class; columns: the top guess; the last column: the share of the class found.</p>",
                                cm.total, cm.correct, 100 * (1 - Double(cm.correct) / Double(max(cm.total, 1)))))
            } else {
                html.add("<p class=\"skip\">\(config.model.classes) classes: too many to draw (at most \(options.maxConfusionClasses)).</p>")
            }
        }

        html.section(level: 3, "Communication profile")
        let spec = config.model
        let profilePath = (dir as NSString).appendingPathComponent("profile.json")
        var measured: ProfileReport?
        if fileType(profilePath) != nil {
            do { measured = try decodeJSON(ProfileReport.self, from: profilePath, what: "a profile", limit: 256 << 20) } catch {
                log("report: \(error); showing the model only")
            }
        }
        // The model on the groups × replicas devices it was made for.
        let (strategy, devices) = modelledStrategy(try Placement(groups: spec.groups, replicas: spec.replicas,
                                                                 ranks: spec.groups * spec.replicas, rank: 0))
        let sim = try simulate(spec, batch: config.train.batch, device: config.device, strategy: strategy, devices: devices)
        let chart = Figures.profile(measured: measured, modelled: sim, device: config.device.name)
        try write(chart.document(standalone: true), fig("profile.svg"))
        html.add(chart.document())
        var text = ""
        if let m = measured {
            for (i, rr) in m.ranks.enumerated() {
                let steps = Double(max(rr.steps, 1))
                let comm = rr.communicationSeconds
                text += String(format: "rank %d: step %.1f ms, of which communication %.2f ms (%.1f%%), over %d steps. ", i,
                               1e3 * rr.stepSeconds / steps, 1e3 * comm / steps, 100 * comm / max(rr.stepSeconds, 1e-12), rr.steps)
            }
        } else {
            text += "No profile.json in this run (train with --profile to measure it); only the model is shown. "
        }
        text += String(format: "Modelled on %@ (%@): step %.2f ms, of which transfers %.2f ms (%.1f%%).", config.device.name, strategy.rawValue,
                       1e3 * sim.stepSeconds, 1e3 * sim.transferSeconds, 100 * sim.transferSeconds / max(sim.stepSeconds, 1e-12))
        html.add("<p class=\"note\">\(escapeXML(text))</p>")

        // What more devices would buy: every strategy modelled on 1 to 64 of the run's device.
        html.section(level: 3, "Modelled scaling")
        let rows = try scalingTable(spec, perReplica: config.train.batch, device: config.device)
        let scaling = Figures.scaling(rows, device: config.device.name)
        try write(scaling.document(standalone: true), fig("scaling.svg"))
        html.add(scaling.document())
        html.add("<p class=\"note\">\(escapeXML("alexnet-mp simulate --scaling, for this run's config: each replica computes \(config.train.batch) images a step (model parallelism keeps the minibatch at \(config.train.batch)); speed-up against one device; compute and transfers added, not overlapped. See docs/SIMULATOR.md for the model and its validation."))</p>")
    }
    try write(html.document(), options.out)
    return written
}

/// conv1's kernels, one block per group (Figure 3), and each group's mean colour saturation.
func kernelSection(_ model: TrainedModel, _ html: inout HTMLPage, _ fig: (String) -> String,
                   _ write: (([UInt8], String) throws -> Void)) throws {
    let p = model.network.plans[0]
    let C = p.inChannels, k = p.spec.size, K = p.outChannels
    html.section(level: 3, "conv1 kernels")
    let zoom = max(2, 44 / max(k, 1))
    var blocks: [Bitmap] = []
    var rows = "<div class=\"kernels\">"
    for g in 0..<model.spec.groups {
        let w = model.conv1Weights(group: g)
        let grid = KernelGrid.grid(w, kernels: K, channels: C, size: k, columns: 8, zoom: zoom)
        blocks.append(grid)
        try write(grid.png(), fig("conv1-group\(g).png"))
        let measure = KernelGrid.meanSaturation(w, kernels: K, channels: C, size: k)
            .map { String(format: "mean colour saturation %.3f", $0) } ?? "mean colour saturation: not applicable (\(C)-channel input has no colour)"
        rows += "<figure><img alt=\"conv1 kernels of group \(g)\" src=\"\(grid.dataURI)\"><figcaption>\(model.spec.groups == 1 ? "the one group" : "group \(g) (GPU \(g + 1) in the paper)"): \(K) kernels \(k)×\(k)×\(C); \(measure)</figcaption></figure>"
    }
    rows += "</div>"
    // The groups one above the other, as in the paper's Figure 3.
    let gap = 6
    var all = Bitmap(width: blocks.map(\.width).max() ?? 1, height: blocks.reduce(0) { $0 + $1.height } + gap * max(0, blocks.count - 1),
                     channels: blocks.first?.channels ?? 1, fill: 160)
    var y = 0
    for b in blocks { all.paste(b, x: 0, y: y); y += b.height + gap }
    try write(all.png(), fig("conv1-kernels.png"))
    html.add(rows)
    html.add("<p class=\"note\">Each kernel normalised on its own (its smallest weight black, its largest white, over all its channels). The paper (Figure 3) found the kernels of one GPU largely colour-agnostic and the other's colour-specific; the saturation measure (mean HSV saturation of the normalised kernels' pixels, 0 for grey) shows whether a run on colour data did the same.</p>")
}

/// The page: a head with its style, sections with headings, and a table of contents.
struct HTMLPage {
    let title: String
    var body: [String] = []
    init(title: String) { self.title = title }
    mutating func add(_ s: String) { body.append(s) }
    mutating func section(id: String? = nil, level: Int = 2, _ heading: String) {
        body.append("<h\(level)\(id.map { " id=\"\($0)\"" } ?? "")>\(escapeXML(heading))</h\(level)>")
    }
    mutating func nav(_ items: [(String, String)]) {
        body.append("<nav>" + items.map { "<a href=\"#\($0.0)\">\(escapeXML($0.1))</a>" }.joined(separator: " · ") + "</nav>")
    }
    func document() -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">\(OutputFile.reportMark)<title>\(escapeXML(title))</title>
        <style>
        body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1240px; }
        h1 { font-size: 22px; } h2 { font-size: 18px; border-bottom: 1px solid #ccc; margin-top: 28px; } h3 { font-size: 15px; margin-top: 18px; }
        .meta, .note { font-size: 13px; color: #444; max-width: 1100px; } .skip { color: #b42318; font-size: 13px; }
        pre { font-size: 11px; background: #f6f6f6; padding: 8px; overflow-x: auto; }
        .kernels { display: flex; gap: 24px; flex-wrap: wrap; } figure { margin: 0; } figcaption { font-size: 12px; max-width: 420px; }
        img { image-rendering: pixelated; } nav { font-size: 13px; }
        </style></head><body>
        <h1>alexnet-mp report</h1>
        \(body.joined(separator: "\n"))
        </body></html>

        """
    }
}
