import _TestSupport
import AlexNetCore
@testable import AlexNetReport
import AlexNetTraining
import XCTest

/// The whole report of a small run made by hand (`TinyRun`): the page, its sections, the files
/// beside it; bad input; and the page as a person sees it, rendered by headless Chromium.
final class ReportTests: XCTestCase {
    static let headings = ["Learning curves", "conv1 kernels", "Top-5 guesses", "Nearest neighbours in fc4",
                           "Confusion matrix", "Communication profile"]

    func options(_ out: String) -> ReportOptions {
        var o = ReportOptions(out: out)
        o.neighbourPool = 20; o.examples = 4; o.neighbourQueries = 2; o.neighbours = 3; o.cores = 1
        return o
    }

    func testWholeReport() throws {
        let root = try makeScratchDirectory(self)
        let run = try TinyRun.make(in: root)
        let out = root + "/report.html"
        let files = try writeReport(runs: [run], options: options(out))
        let html = try String(contentsOfFile: out, encoding: .utf8)
        for h in Self.headings { XCTAssertTrue(html.contains(">\(h)</h"), "heading \(h)") }
        XCTAssertTrue(html.contains("mean colour saturation: not applicable"), "grey input says the measure does not apply")
        XCTAssertTrue(html.contains("lr 0.001"), "the learning-rate drop is marked")
        // Self-contained: every src and href is inline data or a link within the page.
        for attribute in ["src=\"", "href=\""] {
            for part in html.components(separatedBy: attribute).dropFirst() {
                XCTAssertTrue(part.hasPrefix("data:") || part.hasPrefix("#"), "\(attribute)\(part.prefix(40))")
            }
        }
        XCTAssertFalse(html.contains("<script"), "no scripts")
        for name in ["learning-curves.svg", "conv1-kernels.png", "conv1-group0.png", "conv1-group1.png", "top5.svg",
                     "neighbours.svg", "confusion-matrix.svg", "profile.svg"] {
            XCTAssertTrue(files.contains(run + "/report/" + name), name)
            XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/report/" + name), name)
        }
        XCTAssertEqual(files.last, out)
        // conv1: 4 kernels of 3×3 per group, 4 columns, zoom max(2, 44/3) = 14, gap 2 → 4·44+2 wide, 44+2 high.
        let g0 = try decodePNGIndependently(run + "/report/conv1-group0.png", in: root)
        XCTAssertEqual([g0.width, g0.height, g0.channels], [178, 46, 1])
        // The confusion matrix counts all 12 test images.
        XCTAssertTrue(html.contains("All 12 test images"), "confusion matrix over the test set")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.contains(".tmp") }, [])
    }

    /// A colour run (CIFAR-10's binary format): the data is loaded as train loads it, the conv1
    /// kernels are drawn in colour, and each group gets its mean colour saturation — the number
    /// checked against one computed here from the run's conv1 weights. TinyRun made group 0's
    /// kernels grey (every channel alike) and left group 1's random.
    func testColourRunHasColourKernelsAndASaturationPerGroup() throws {
        let root = try makeScratchDirectory(self)
        let run = try TinyRun.make(in: root, colour: true)
        let out = root + "/report.html"
        try writeReport(runs: [run], options: options(out))
        let html = try String(contentsOfFile: out, encoding: .utf8)
        for h in Self.headings { XCTAssertTrue(html.contains(">\(h)</h"), "heading \(h)") }
        XCTAssertFalse(html.contains("Skipped"), "every model section is there")
        XCTAssertFalse(html.contains("not applicable"), "colour input has a saturation measure")
        XCTAssertTrue(html.contains("All 12 test images"), "confusion matrix over CIFAR-10's test batch")
        XCTAssertTrue(html.contains("red thing") && html.contains("blue thing"), "class names from batches.meta.txt")

        // The saturation by hand: each kernel normalised over its 27 weights, then per pixel
        // (max − min) / max of (r, g, b), averaged over the 4 kernels × 9 pixels of the group.
        let config = try RunConfig.load(run + "/config.yaml")
        let model = try TrainedModel(run: run, config: config, dataDir: nil, cores: 1)
        var saturation: [Double] = []
        for g in 0..<2 {
            let w = model.conv1Weights(group: g).map(Double.init)
            XCTAssertEqual(w.count, 4 * 27)
            var sum = 0.0
            for k in 0..<4 {
                let kernel = Array(w[(k * 27)..<((k + 1) * 27)]), lo = kernel.min()!, hi = kernel.max()!
                let v = kernel.map { ($0 - lo) / (hi - lo) }
                for p in 0..<9 {
                    let rgb = [v[p], v[9 + p], v[18 + p]]
                    if rgb.max()! > 0 { sum += (rgb.max()! - rgb.min()!) / rgb.max()! }
                }
            }
            saturation.append(sum / 36)
        }
        XCTAssertEqual(saturation[0], 0, accuracy: 1e-12, "group 0 is grey by construction")
        XCTAssertGreaterThan(saturation[1], 0.1, "group 1's random kernels have colour")
        for g in 0..<2 {
            let caption = "group \(g) (GPU \(g + 1) in the paper): 4 kernels 3×3×3; mean colour saturation " + String(format: "%.3f", saturation[g])
            XCTAssertTrue(html.contains(caption), "no '\(caption)' in the page")
        }

        // The kernel pictures are RGB; group 0's pixels are grey (r = g = b), group 1's are not.
        for g in 0..<2 {
            let png = try decodePNGIndependently(run + "/report/conv1-group\(g).png", in: root)
            XCTAssertEqual(png.channels, 3, "group \(g)")
            var coloured = 0
            for i in stride(from: 0, to: png.pixels.count, by: 3) where png.pixels[i] != png.pixels[i + 1] || png.pixels[i] != png.pixels[i + 2] {
                coloured += 1
            }
            if g == 0 { XCTAssertEqual(coloured, 0, "group 0's kernels are grey") } else { XCTAssertGreaterThan(coloured, 100, "group 1's kernels are in colour") }
        }
        // The test images are shown in colour too: the top-5 figure embeds RGB PNGs.
        XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/report/top5.svg"))
    }

    func testBadInputWritesNothing() throws {
        let root = try makeScratchDirectory(self)
        let out = root + "/report.html"
        XCTAssertThrowsError(try writeReport(runs: [root + "/nope"], options: options(out))) {
            XCTAssertEqual("\($0)", "\(root)/nope: no such run directory")
        }
        try FileManager.default.createDirectory(atPath: root + "/empty", withIntermediateDirectories: true)
        XCTAssertThrowsError(try writeReport(runs: [root + "/empty"], options: options(out))) {
            XCTAssertEqual("\($0)", "\(root)/empty: not a run directory with metrics (no metrics.csv)")
        }
        try "x".write(toFile: root + "/file", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try writeReport(runs: [root + "/file"], options: options(out))) {
            XCTAssertEqual("\($0)", "\(root)/file: is a file, not a directory (give a run directory written by train)")
        }
        try (EpochMetrics.csvHeader + "\n").write(toFile: root + "/empty/metrics.csv", atomically: true, encoding: .utf8)
        try TinyRun.config.write(toFile: root + "/empty/config.yaml", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try writeReport(runs: [root + "/empty"], options: options(out))) {
            XCTAssertEqual("\($0)", "\(root)/empty/metrics.csv: no finished epoch yet")
        }
        // A good run followed by a bad one: refused before anything is written.
        let run = try TinyRun.make(in: root)
        XCTAssertThrowsError(try writeReport(runs: [run, root + "/empty"], options: options(out)))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertFalse(FileManager.default.fileExists(atPath: run + "/report"))
    }

    /// A run without its model or data still gets its curves and profile; the rest says why not.
    func testMissingModelIsANote() throws {
        let root = try makeScratchDirectory(self)
        let run = try TinyRun.make(in: root)
        try FileManager.default.removeItem(atPath: run + "/model/group1.bin")
        try writeReport(runs: [run], options: options(root + "/r.html"))
        let html = try String(contentsOfFile: root + "/r.html", encoding: .utf8)
        XCTAssertTrue(html.contains("Skipped: \(run)/model/group1.bin: no such file"), html)
        XCTAssertTrue(html.contains(">Learning curves</h2>") && html.contains(">Communication profile</h3>"))
    }

    /// The page as a person sees it: headless Chromium renders it to a PNG, which must not be
    /// blank (many colours, much that is not white), and Chromium's DOM must hold every section.
    func testRendersInChromium() throws {
        guard let chromium = findProgram(["chromium", "chromium-browser", "google-chrome"]) else {
            throw XCTSkip("chromium is not installed (apt-get install chromium; ./launch.sh setup installs it): the render test needs it")
        }
        let root = try makeScratchDirectory(self)
        let run = try TinyRun.make(in: root)
        let out = root + "/report.html"
        try writeReport(runs: [run], options: options(out))
        let shot = root + "/shot.png"
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=\(root)/profile"]
        let r = try runProgram(chromium, flags + ["--screenshot=\(shot)", "--window-size=1200,3000", "file://\(out)"])
        XCTAssertEqual(r.status, 0, r.err)
        let png = try decodePNGIndependently(shot, in: root)
        XCTAssertEqual([png.width, png.height], [1200, 3000])
        var colours = Set<UInt32>(), nonWhite = 0
        for i in stride(from: 0, to: png.pixels.count, by: png.channels) {
            let r = png.pixels[i], g = png.pixels[i + 1], b = png.pixels[i + 2]
            colours.insert(UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b))
            if r < 240 || g < 240 || b < 240 { nonWhite += 1 }
        }
        let share = Double(nonWhite) / Double(png.width * png.height)
        XCTAssertGreaterThan(colours.count, 50, "a blank or nearly blank screenshot: \(colours.count) colours")
        XCTAssertGreaterThan(share, 0.02, "only \(share * 100)% of the screenshot is not white")
        let dom = try runProgram(chromium, flags + ["--dump-dom", "file://\(out)"])
        XCTAssertEqual(dom.status, 0, dom.err)
        for h in Self.headings { XCTAssertTrue(dom.out.contains(">\(h)</h"), "rendered DOM lacks \(h)") }
        XCTAssertEqual(dom.out.components(separatedBy: "<svg").count - 1 >= 5, true, "the charts are in the rendered page")
    }
}
