import AlexNetData
import Foundation
import XCTest

/// The paper's data pipeline end to end, as a user runs it: a tree of JPEG and PNG photographs
/// (varied sizes, an EXIF-rotated one, greyscale, CMYK, and broken files) through `prepare`,
/// then the paper's net (configs/alexnet.yaml at a small batch) trained on it on 1 and 2 ranks.
final class PrepareTrainTests: XCTestCase {
    func rgb(_ w: Int, _ h: Int, _ seed: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h { for x in 0..<w { for c in 0..<3 {
            out[(y * w + x) * 3 + c] = UInt8((x * (c + 1) * 3 + y * (seed + 2) + seed * 40 + c * 60) % 256)
        } } }
        return out
    }

    func makeTree(_ root: String) throws -> [String] {
        let fm = FileManager.default
        func put(_ bytes: [UInt8], _ path: String) throws {
            try fm.createDirectory(atPath: (root + "/" + path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: root + "/" + path))
        }
        let sizes = [(300, 200), (200, 300), (256, 256), (513, 257), (97, 140)]
        for (k, cls) in ["boat", "cat", "tree"].enumerated() {
            for (i, (w, h)) in sizes.enumerated() {
                let seed = k * 10 + i
                if i % 2 == 0 {
                    try put(try PhotoEncoder.jpeg(rgb(w, h, seed), width: w, height: h, quality: 90), "train/\(cls)/\(i).jpg")
                } else {
                    try put(try PhotoEncoder.png(rgb(w, h, seed), width: w, height: h), "train/\(cls)/\(i).png")
                }
            }
            try put(try PhotoEncoder.jpeg(rgb(120, 90, k + 50), width: 120, height: 90), "val/\(cls)/v.jpg")
        }
        // Greyscale PNG, CMYK JPEG, and a JPEG whose EXIF says "rotate 90° clockwise".
        try put(try PhotoEncoder.png((0..<(150 * 180)).map { UInt8($0 % 256) }, width: 150, height: 180, components: 1), "train/cat/grey.png")
        var cmyk: [UInt8] = []
        for i in 0..<(80 * 60) { cmyk += [UInt8(i % 256), 100, 200, 240] }
        try put(try PhotoEncoder.jpeg(cmyk, width: 80, height: 60, components: 4), "train/tree/cmyk.jpg")
        let upright = try PhotoEncoder.jpeg(rgb(160, 90, 77), width: 160, height: 90)
        var tiff: [UInt8] = Array("MM".utf8) + [0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]
        tiff = Array("Exif".utf8) + [0, 0] + tiff
        try put(Array(upright[0..<2]) + [0xFF, 0xE1, 0, UInt8(tiff.count + 2)] + tiff + Array(upright[2...]), "train/boat/rotated.jpg")
        // Broken: a truncated JPEG and a file of garbage.
        try put(Array(upright[0..<(upright.count / 3)]), "train/boat/truncated.jpg")
        try put((0..<1000).map { UInt8(($0 * 89 + 3) % 256) }, "train/cat/garbage.png")
        return ["truncated.jpg", "garbage.png"]
    }

    func testPhotoTreeGoesThroughPrepareAndTrainsAlexNetOnOneAndTwoRanks() throws {
        let dir = Run.tempDir("prepare-train")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let broken = try makeTree(dir + "/photos")
        let prep = try Run.alexnet(["prepare", "--source", dir + "/photos", "--out", dir + "/prepared", "--jobs", "2"])
        XCTAssertEqual(prep.status, 0, prep.stderr)
        XCTAssertTrue(prep.stdout.contains("wrote 18 train, 3 val images of 256×256, 3 classes"), prep.stdout)
        XCTAssertTrue(prep.stdout.contains("skipped 2 files"), prep.stdout)
        for b in broken { XCTAssertTrue(prep.stdout.contains(b), "\(b) not reported: \(prep.stdout)") }

        // configs/alexnet.yaml as shipped, but for the batch (18 images here) and the data directory.
        let text = try String(contentsOfFile: Run.packageRoot.path + "/configs/alexnet.yaml", encoding: .utf8)
        let config = text.replacingOccurrences(of: "batch: 128", with: "batch: 4")
            .replacingOccurrences(of: "dir: data/imagenet", with: "dir: \(dir)/prepared")
        XCTAssertNotEqual(config, text)
        try config.write(toFile: dir + "/alexnet-small.yaml", atomically: true, encoding: .utf8)
        let common = ["train", "--config", dir + "/alexnet-small.yaml", "--steps", "3", "--log-every", "1"]
        let a = try Run.alexnet(common + ["--out", dir + "/one"])
        XCTAssertEqual(a.status, 0, a.stderr)
        let b = try Run.alexnet(common + ["--out", dir + "/two"], ranks: 2)
        XCTAssertEqual(b.status, 0, b.stderr)
        let la = try Run.losses(dir + "/one"), lb = try Run.losses(dir + "/two")
        XCTAssertEqual(la.count, 3); XCTAssertEqual(lb.count, 3)
        for (i, (x, y)) in zip(la, lb).enumerated() {
            XCTAssertTrue(x.isFinite, "step \(i + 1): \(x)")
            XCTAssertLessThanOrEqual(abs(x - y) / max(abs(x), 1e-12), 1e-5, "step \(i + 1): 1 rank \(x), 2 ranks \(y)")
        }
        XCTAssertTrue(a.stdout.contains("18 training and 3 validation images of 256×256"), a.stdout)

        // The ten-view evaluation prints the 1-view and the 10-view numbers.
        let e = try Run.alexnet(["eval", "--model", dir + "/two", "--views", "10"])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stdout.contains(" 1 view : top-1 error") && e.stdout.contains("10 views: top-1 error"), e.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/two/eval-views.csv"))
        let c = try Run.alexnet(["compare", dir + "/two"])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertTrue(c.stdout.contains("test views (eval --views 10 of 1 run): 1 view top-1"), c.stdout)
        let bad = try Run.alexnet(["eval", "--model", dir + "/two", "--views", "5"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--views takes 1 or 10"), bad.stderr)

        // The report of the paper's config on prepared photographs: every model section, the
        // conv1 kernels in colour with a saturation per group, the classes by name.
        let r = try Run.alexnet(["report", dir + "/two", "--neighbour-pool", "18", "--examples", "3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let html = try String(contentsOfFile: dir + "/two/report.html", encoding: .utf8)
        for h in ["conv1 kernels", "Top-5 guesses", "Nearest neighbours in fc7", "Confusion matrix"] {
            XCTAssertTrue(html.contains(">\(h)</h"), "no section \(h)")
        }
        XCTAssertFalse(html.contains("Skipped"), "a model section was skipped")
        for g in 0..<2 { XCTAssertTrue(html.contains("group \(g) (GPU \(g + 1) in the paper): 48 kernels 11×11×3; mean colour saturation 0."), "group \(g)") }
        for name in ["boat", "cat", "tree"] { XCTAssertTrue(html.contains(">\(name)<"), "class name \(name)") }
    }

    /// A prepared directory without val/ (which prepare allows): train runs, saying once that
    /// there is no validation and what the plateau schedule watches instead; metrics.csv has nan
    /// validation errors; eval refuses in one line; compare and the report say so.
    func testPreparedDirectoryWithoutValidationTrainsAndSaysSo() throws {
        let dir = Run.tempDir("prepare-noval")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try makeTree(dir + "/photos")
        try FileManager.default.removeItem(atPath: dir + "/photos/val")
        let prep = try Run.alexnet(["prepare", "--source", dir + "/photos", "--out", dir + "/prepared", "--size", "32", "--jobs", "2"])
        XCTAssertEqual(prep.status, 0, prep.stderr)
        XCTAssertTrue(prep.stdout.contains("wrote 18 train images of 32×32") && prep.stdout.contains("no validation images"), prep.stdout)
        // The CIFAR-10 net (24×24 crops of 32×32 colour images) on the prepared directory.
        let text = try String(contentsOfFile: Run.packageRoot.path + "/configs/cifar10.yaml", encoding: .utf8)
        let config = text.replacingOccurrences(of: "source: cifar10", with: "source: prepared")
            .replacingOccurrences(of: "batch: 128", with: "batch: 4")
        try config.write(toFile: dir + "/noval.yaml", atomically: true, encoding: .utf8)
        let t = try Run.alexnet(["train", "--config", dir + "/noval.yaml", "--data", dir + "/prepared", "--epochs", "2", "--out", dir + "/run"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let notes = t.stdout.split(separator: "\n").filter { $0.hasPrefix("note: ") }
        XCTAssertEqual(notes.count, 1, t.stdout)
        XCTAssertTrue(notes.first?.contains("no validation split") == true && notes.first?.contains("plateau schedule divides the rate when the epoch's training top-1 error") == true, t.stdout)
        XCTAssertTrue(t.stdout.contains("18 training and 0 validation images") && t.stdout.contains("(no validation split)"), t.stdout)
        let rows = try String(contentsOfFile: dir + "/run/metrics.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(rows.count, 2)
        for row in rows { XCTAssertEqual(row.split(separator: ",")[5...6].map(String.init), ["nan", "nan"], String(row)) }

        let e = try Run.alexnet(["eval", "--model", dir + "/run"])
        XCTAssertEqual(e.status, 1)
        XCTAssertEqual(e.stderr, "alexnet-mp: error: \(dir)/prepared: has no validation split (prepare found no val/ folder): there are no test images to evaluate\n")
        let c = try Run.alexnet(["compare", dir + "/run"])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertTrue(c.stdout.contains("no val") && !c.stdout.contains("nan"), c.stdout)
        let r = try Run.alexnet(["report", dir + "/run", "--neighbour-pool", "18"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let html = try String(contentsOfFile: dir + "/run/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("has no validation split (prepare found no val/ folder), so there are no test images"), "no note on the missing test images")
        XCTAssertTrue(html.contains("no validation split (final training top-1 error"))
        XCTAssertTrue(html.contains("mean colour saturation 0."), "the colour kernels are still shown")
    }

    /// Output names of one character, relative to the working directory ("o", "./p", "r",
    /// "q/"): Foundation's deletingLastPathComponent traps on them on Linux; the tools take the
    /// parent directory with a helper of their own (`parentDirectory(of:)`), so these just work.
    func testOneCharacterOutputNamesWork() throws {
        let dir = Run.tempDir("short-names")
        _ = try makeTree(dir + "/src")
        let config = Run.packageRoot.path + "/configs/fashion-mnist.yaml"
        for args in [["prepare", "--source", "src", "--out", "o", "--size", "32", "--jobs", "1"],
                     ["prepare", "--source", "src", "--out", "./p", "--size", "32", "--jobs", "1"],
                     ["train", "--config", config, "--data", Run.smallData, "--steps", "1", "--out", "r"],
                     ["train", "--config", config, "--data", Run.smallData, "--steps", "1", "--out", "q/"]] {
            let quoted = ([Run.binary] + args).map { "'\($0)'" }.joined(separator: " ")
            let r = try Run.command(["/bin/sh", "-c", "cd '\(dir)' && exec \(quoted)"], timeout: 120)
            XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("crashed"), r.stderr)
        }
        for out in ["o", "p", "r", "q"] {
            var isDirectory: ObjCBool = false
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/" + out, isDirectory: &isDirectory) && isDirectory.boolValue, out)
        }
    }

    func testPrepareRefusesBadSourcesInOneLine() throws {
        let dir = Run.tempDir("prepare-bad")
        try FileManager.default.createDirectory(atPath: dir + "/empty/train/cat", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (source, words) in [(dir + "/none", "source directory does not exist"), (dir + "/empty", "empty class folder")] {
            let r = try Run.alexnet(["prepare", "--source", source, "--out", dir + "/out"])
            XCTAssertEqual(r.status, 1, r.stdout)
            XCTAssertTrue(r.stderr.hasPrefix("alexnet-mp: error: ") && r.stderr.contains(words), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out"))
        }
    }

    /// Ctrl-C or SIGTERM in the middle of `prepare` (while it writes shards): it stops, removes
    /// its OUT.partial-HOST-PID directory, leaves the earlier OUT as it was, and exits 128 + signal.
    func testSignalledPrepareRemovesItsPartialOutput() throws {
        guard FileManager.default.isExecutableFile(atPath: Run.binary) else { throw XCTSkip("no release binary at \(Run.binary)") }
        let dir = Run.tempDir("prepare-signal")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try makeTree(dir + "/small")
        let first = try Run.alexnet(["prepare", "--source", dir + "/small", "--out", dir + "/out", "--jobs", "1"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let before = FileManager.default.contents(atPath: dir + "/out/index.json")
        XCTAssertNotNil(before)
        // A tree that takes seconds: 160 photographs of 2000×1500 (one JPEG, written 160 times).
        let big = try PhotoEncoder.jpeg(rgb(2000, 1500, 3), width: 2000, height: 1500, quality: 90)
        for cls in ["a", "b"] {
            try FileManager.default.createDirectory(atPath: "\(dir)/big/train/\(cls)", withIntermediateDirectories: true)
            for i in 0..<80 { try Data(big).write(to: URL(fileURLWithPath: "\(dir)/big/train/\(cls)/\(i).jpg")) }
        }
        for (sig, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Run.binary)
            p.arguments = ["prepare", "--source", dir + "/big", "--out", dir + "/out", "--jobs", "1", "--shard-mb", "1"]
            let err = Pipe()
            p.standardError = err; p.standardOutput = FileHandle.nullDevice
            try p.run()
            // Signal once the partial output holds a shard: mid-write.
            let t0 = Date()
            var partial: String?
            while p.isRunning && Date().timeIntervalSince(t0) < 60 {
                if let d = try FileManager.default.contentsOfDirectory(atPath: dir).first(where: { $0.hasPrefix("out.partial-") }),
                   (try? FileManager.default.contentsOfDirectory(atPath: dir + "/" + d))?.contains("train-00001.bin") == true {
                    partial = d; break
                }
                usleep(20_000)
            }
            XCTAssertNotNil(partial, "\(name): prepare finished (or never wrote a shard) before it could be signalled")
            XCTAssertTrue(partial?.hasSuffix("-\(p.processIdentifier)") ?? false, partial ?? "")
            kill(p.processIdentifier, sig)
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 128 + sig, "\(name): \(stderr)")
            XCTAssertTrue(stderr.hasPrefix("alexnet-mp: prepare interrupted: removed the partial output ") && stderr.hasSuffix("/out is as it was\n"), "\(name): \(stderr)")
            XCTAssertEqual(stderr.split(separator: "\n").count, 1, stderr)
            let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".partial") || $0.contains(".old") }
            XCTAssertEqual(left, [], "\(name): left behind")
            XCTAssertEqual(FileManager.default.contents(atPath: dir + "/out/index.json"), before, "\(name): the earlier output changed")
        }
    }

    func testCIFAR10ConfigTrainsOnBinaryBatches() throws {
        let dir = Run.tempDir("cifar")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func batch(_ n: Int, _ seed: Int) -> Data {
            var d = Data()
            for r in 0..<n { d.append(UInt8((r + seed) % 10)); d.append(contentsOf: (0..<3072).map { UInt8(($0 * (r % 7 + 1) + seed) % 256) }) }
            return d
        }
        for b in 1...5 { try batch(30, b).write(to: URL(fileURLWithPath: dir + "/data_batch_\(b).bin")) }
        try batch(20, 9).write(to: URL(fileURLWithPath: dir + "/test_batch.bin"))
        let r = try Run.alexnet(["train", "--config", "configs/cifar10.yaml", "--data", dir, "--steps", "1", "--out", dir + "/run"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("150 training and 20 validation images of 32×32"), r.stdout)
        try Data(count: 3072).write(to: URL(fileURLWithPath: dir + "/test_batch.bin"))
        let bad = try Run.alexnet(["train", "--config", "configs/cifar10.yaml", "--data", dir, "--steps", "1", "--out", dir + "/run2"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("test_batch.bin: 3072 bytes is not a whole number of 3073-byte"), bad.stderr)
    }
}
