import _TestSupport
import AlexNetCore
import AlexNetData
import XCTest

/// `prepare` on a photo tree the test writes: JPEG and PNG of varied sizes, a greyscale one, a
/// CMYK one, one rotated by EXIF, and broken files that must be skipped and reported.
final class PrepareTests: XCTestCase {
    /// The exact 256×256 PNG of the tree (train/dog/a-square.png), interleaved RGB.
    let square = rgbImage(256, 256) { x, y, c in (x * 7 + y * 13 + c * 50) % 256 }

    func makeTree(_ root: String) throws {
        let fm = FileManager.default
        for d in ["train/cat", "train/dog", "val/cat", "val/dog"] {
            try fm.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true)
        }
        func put(_ bytes: [UInt8], _ path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: root + "/" + path)) }
        try put(try PhotoEncoder.jpeg(smoothImage(300, 200), width: 300, height: 200), "train/cat/c1.jpg")
        try put(try PhotoEncoder.png((0..<(180 * 240)).map { UInt8($0 % 251) }, width: 180, height: 240, components: 1), "train/cat/c2-grey.png")
        try put(withEXIFOrientation(try PhotoEncoder.jpeg(halvesImage(120, 60), width: 120, height: 60), 6), "train/cat/c3-rotated.JPEG")
        try put(try PhotoEncoder.png(square, width: 256, height: 256), "train/dog/a-square.png")
        var cmyk: [UInt8] = []
        for i in 0..<(64 * 64) { cmyk += [UInt8(i % 200), 90, 180, 230] }
        try put(try PhotoEncoder.jpeg(cmyk, width: 64, height: 64, components: 4), "train/dog/d2-cmyk.jpeg")
        let good = try PhotoEncoder.jpeg(smoothImage(90, 70), width: 90, height: 70)
        try put(Array(good[0..<(good.count / 2)]), "train/dog/d3-truncated.jpg")
        try put((0..<777).map { UInt8(($0 * 131 + 7) % 256) }, "train/dog/d4-garbage.png")
        try put(Array("not a photo\n".utf8), "train/dog/notes.txt")
        try put(try PhotoEncoder.png(smoothImage(50, 80), width: 50, height: 80), "val/cat/v1.png")
        try put(try PhotoEncoder.jpeg(smoothImage(333, 111), width: 333, height: 111), "val/dog/v2.jpg")
    }

    func prepare(_ root: String, _ out: String, jobs: Int = 2, shardImages: Int = 2) throws -> Prepare.Report {
        var o = Prepare.Options(source: root, out: out)
        o.jobs = jobs
        o.shardBytes = shardImages * 3 * 256 * 256
        return try Prepare.run(o)
    }

    func testPrepareWritesShardsLabelsMeanAndReportsSkippedFiles() throws {
        let dir = try makeScratchDirectory(self)
        let root = dir + "/photos", out = dir + "/prepared"
        try makeTree(root)
        let report = try prepare(root, out)
        XCTAssertEqual(report.written.map(\.split), ["train", "val"])
        XCTAssertEqual(report.written.map(\.images), [5, 2])
        XCTAssertEqual(report.classes, 2)
        let skipped = Dictionary(uniqueKeysWithValues: report.skipped.map { (($0.file as NSString).lastPathComponent, $0.reason) })
        XCTAssertEqual(Set(skipped.keys), ["d3-truncated.jpg", "d4-garbage.png", "notes.txt"], "\(report.skipped)")
        XCTAssertTrue(skipped["d3-truncated.jpg"]!.contains("JPEG"), skipped["d3-truncated.jpg"]!)
        XCTAssertTrue(skipped["d4-garbage.png"]!.contains("neither a JPEG nor a PNG"), skipped["d4-garbage.png"]!)

        XCTAssertEqual(try String(contentsOfFile: out + "/classes.txt", encoding: .utf8), "cat\ndog\n")
        // 5 training images at 2 per shard: 3 shards, the last holding one image.
        for (name, images) in [("train-00000.bin", 2), ("train-00001.bin", 2), ("train-00002.bin", 1), ("val-00000.bin", 2)] {
            let size = try FileManager.default.attributesOfItem(atPath: out + "/" + name)[.size] as! Int
            XCTAssertEqual(size, images * 3 * 256 * 256, name)
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".partial") || $0.contains(".old") }
        XCTAssertEqual(leftovers, [])

        let data = try PreparedData.open(out, classes: 1000)
        XCTAssertEqual([data.train.count, data.train.channels, data.train.height, data.train.width], [5, 3, 256, 256])
        let val = try XCTUnwrap(data.val)
        XCTAssertEqual([val.count, val.channels, val.height, val.width], [2, 3, 256, 256])
        XCTAssertEqual(data.train.labels, [0, 0, 0, 1, 1])   // cat: c1, c2, c3; dog: a-square, d2
        XCTAssertEqual(val.labels, [0, 1])
        XCTAssertEqual(data.classes, ["cat", "dog"])

        // The 256×256 PNG is stored unchanged (planar).
        let pixels = allPixels(data.train)
        let stored = Array(pixels[(3 * 196608)..<(4 * 196608)])
        XCTAssertEqual(stored, planar(square, 256, 256))
        // The greyscale PNG has equal channels; the rotated JPEG is taller than wide, red on top.
        let grey = Array(pixels[196608..<(2 * 196608)])
        XCTAssertEqual(Array(grey[0..<65536]), Array(grey[65536..<131072]))
        let rotated = Array(pixels[(2 * 196608)..<(3 * 196608)])
        XCTAssertGreaterThan(rotated[10 * 256 + 128], 200, "top of the rotated image is red")
        XCTAssertLessThan(rotated[2 * 65536 + 10 * 256 + 128], 60)
        XCTAssertGreaterThan(rotated[2 * 65536 + 245 * 256 + 128], 200, "bottom is blue")

        // The mean image: the plain average of the five stored training images.
        var worst: Float = 0
        for j in stride(from: 0, to: 196608, by: 97) {
            var s = 0.0
            for i in 0..<5 { s += Double(pixels[i * 196608 + j]) }
            worst = max(worst, abs(data.mean[j] - Float(s / 5)))
        }
        XCTAssertLessThan(worst, 1e-4, "mean image")

        // The colour PCA: eigenpairs of the covariance of the training RGB values / 255.
        var cov = [Double](repeating: 0, count: 9), mu = [Double](repeating: 0, count: 3)
        let n = Double(5 * 65536)
        for i in 0..<5 { for p in 0..<65536 { for a in 0..<3 { mu[a] += Double(pixels[i * 196608 + a * 65536 + p]) / 255 / n } } }
        for i in 0..<5 { for p in 0..<65536 {
            let x = (0..<3).map { Double(pixels[i * 196608 + $0 * 65536 + p]) / 255 - mu[$0] }
            for a in 0..<3 { for b in 0..<3 { cov[a * 3 + b] += x[a] * x[b] / n } }
        } }
        XCTAssertEqual(data.pca.values.reduce(0, +), cov[0] + cov[4] + cov[8], accuracy: 1e-9, "trace")
        for k in 0..<3 {
            let v = data.pca.vectors[k], l = data.pca.values[k]
            for a in 0..<3 {
                let cv = (0..<3).reduce(0.0) { $0 + cov[a * 3 + $1] * v[$1] }
                XCTAssertEqual(cv, l * v[a], accuracy: 1e-9, "C p = λ p for eigenpair \(k)")
            }
        }
        XCTAssertGreaterThanOrEqual(data.pca.values[0], data.pca.values[1])
        XCTAssertGreaterThanOrEqual(data.pca.values[1], data.pca.values[2])
    }

    func testCentre224OfA256ImageMatchesTheCropCode() throws {
        let dir = try makeScratchDirectory(self)
        let root = dir + "/photos", out = dir + "/prepared"
        try makeTree(root)
        _ = try prepare(root, out)
        let data = try PreparedData.open(out, classes: 2)
        let b = try Batcher(train: data.train, test: data.train,
                            augmentation: Augmentation(crop: 224, flip: false, scale: 1, subtractMean: false), seed: 1)
        var input = [Float](repeating: .nan, count: 3 * 224 * 224)
        var labels = [Int32](repeating: -1, count: 1)
        b.fillTest(start: 3, batch: 1, input: &input, labels: &labels)
        XCTAssertEqual(labels, [1])
        for c in 0..<3 { for y in 0..<224 { for x in 0..<224 {
            let want = Float(square[((y + 16) * 256 + x + 16) * 3 + c])
            if input[(c * 224 + y) * 224 + x] != want {
                XCTFail("c\(c) y\(y) x\(x): crop code \(input[(c * 224 + y) * 224 + x]), image \(want)"); return
            }
        } } }
    }

    func testJobsDoNotChangeTheOutputAndRerunsReplaceIt() throws {
        let dir = try makeScratchDirectory(self)
        let root = dir + "/photos"
        try makeTree(root)
        _ = try prepare(root, dir + "/one", jobs: 1)
        _ = try prepare(root, dir + "/three", jobs: 3)
        for f in ["train-00000.bin", "train-00001.bin", "train-00002.bin", "val-00000.bin", "mean.bin", "index.json", "train-labels.bin"] {
            XCTAssertEqual(FileManager.default.contents(atPath: dir + "/one/" + f), FileManager.default.contents(atPath: dir + "/three/" + f), f)
        }
        // A re-run over an existing output replaces it whole (here with bigger shards), a shard of
        // an older run included; a file prepare does not write would have refused it (below).
        try Data("stale".utf8).write(to: URL(fileURLWithPath: dir + "/one/train-00009.bin"))
        _ = try prepare(root, dir + "/one", shardImages: 100)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/one")
        XCTAssertFalse(files.contains("train-00009.bin"))
        XCTAssertFalse(files.contains("train-00001.bin"))
        XCTAssertEqual(try PreparedData.open(dir + "/one", classes: 2).train.count, 5)
    }

    func testFlatFolderWithLabelsCSV() throws {
        let dir = try makeScratchDirectory(self)
        let root = dir + "/photos"
        try makeTree(root)
        // val as ILSVRC ships it: one flat folder and a list of file,class.
        try FileManager.default.removeItem(atPath: root + "/val")
        try FileManager.default.createDirectory(atPath: root + "/val", withIntermediateDirectories: true)
        for (i, name) in ["x1.jpg", "x2.png", "x3.jpg"].enumerated() {
            let bytes = name.hasSuffix("png") ? try PhotoEncoder.png(smoothImage(40 + i, 30), width: 40 + i, height: 30)
                                              : try PhotoEncoder.jpeg(smoothImage(40 + i, 30), width: 40 + i, height: 30)
            try Data(bytes).write(to: URL(fileURLWithPath: root + "/val/" + name))
        }
        try Data("file,class\nx1.jpg,dog\nx2.png,cat\nx3.jpg,dog\nmissing.jpg,cat\n".utf8).write(to: URL(fileURLWithPath: root + "/val/labels.csv"))
        let report = try prepare(root, dir + "/out")
        XCTAssertEqual(report.written.map(\.images), [5, 3])
        XCTAssertTrue(report.skipped.contains { $0.file.hasSuffix("missing.jpg") && $0.reason.contains("missing") })
        XCTAssertEqual(try PreparedData.open(dir + "/out", classes: 2).val?.labels, [1, 0, 1])

        try Data("x1.jpg,dog\nx2.png\n".utf8).write(to: URL(fileURLWithPath: root + "/val/labels.csv"))
        XCTAssertThrowsError(try prepare(root, dir + "/out2")) { XCTAssertTrue("\($0)".contains("labels.csv:2"), "\($0)") }
        try Data("x1.jpg,bird\n".utf8).write(to: URL(fileURLWithPath: root + "/val/labels.csv"))
        XCTAssertThrowsError(try prepare(root, dir + "/out2")) { XCTAssertTrue("\($0)".contains("'bird'"), "\($0)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out2"), "nothing half-written")
    }

    /// Files are picked by extension (.jpg, .jpeg, .png, any case), and decoded by what their
    /// first bytes say: a PNG named .JPEG (ILSVRC's training set has one) is read as a PNG.
    func testTheFirstBytesDecideTheFormatAndTheExtensionPicksTheFiles() throws {
        let dir = try makeScratchDirectory(self)
        let root = dir + "/photos"
        try FileManager.default.createDirectory(atPath: root + "/train/a", withIntermediateDirectories: true)
        let png = try PhotoEncoder.png(square, width: 256, height: 256)
        try writeFile(png, root + "/train/a", "png-named.JPEG")
        try writeFile(try PhotoEncoder.jpeg(smoothImage(300, 256), width: 300, height: 256), root + "/train/a", "jpeg-named.png")
        try writeFile(png, root + "/train/a", "png-named.gif")
        let report = try prepare(root, dir + "/out")
        XCTAssertEqual(report.written.map(\.images), [2])
        XCTAssertEqual(report.skipped.map { ($0.file as NSString).lastPathComponent }, ["png-named.gif"])
        XCTAssertEqual(report.skipped.first?.reason, "not a .jpg, .jpeg or .png file")
        let data = try PreparedData.open(dir + "/out", classes: 1)
        XCTAssertNil(data.val)
        // Sorted by name, jpeg-named.png comes first; the PNG is stored exactly.
        XCTAssertEqual(Array(data.train.imageBytes(1)), planar(square, 256, 256))
    }

    func testBadSourcesStopWithAClearMessage() throws {
        let dir = try makeScratchDirectory(self)
        let fm = FileManager.default
        XCTAssertThrowsError(try prepare(dir + "/nowhere", dir + "/o")) { XCTAssertTrue("\($0)".contains("does not exist"), "\($0)") }
        try fm.createDirectory(atPath: dir + "/nothing", withIntermediateDirectories: true)
        XCTAssertThrowsError(try prepare(dir + "/nothing", dir + "/o")) { XCTAssertTrue("\($0)".contains("no train/"), "\($0)") }
        try fm.createDirectory(atPath: dir + "/empty/train/cat", withIntermediateDirectories: true)
        XCTAssertThrowsError(try prepare(dir + "/empty", dir + "/o")) {
            XCTAssertTrue("\($0)".contains("train/cat") && "\($0)".contains("empty class folder"), "\($0)")
        }
        try fm.createDirectory(atPath: dir + "/broken/train/cat", withIntermediateDirectories: true)
        try Data([0xFF, 0xD8, 0xFF, 0x00]).write(to: URL(fileURLWithPath: dir + "/broken/train/cat/a.jpg"))
        XCTAssertThrowsError(try prepare(dir + "/broken", dir + "/o")) { XCTAssertTrue("\($0)".contains("none of the 1 training images"), "\($0)") }
        // An output whose parent is a file cannot be created.
        let root = dir + "/photos"
        try makeTree(root)
        try Data().write(to: URL(fileURLWithPath: dir + "/afile"))
        XCTAssertThrowsError(try prepare(root, dir + "/afile/out")) { XCTAssertTrue("\($0)".contains("cannot create the output directory"), "\($0)") }
        XCTAssertFalse(fm.fileExists(atPath: dir + "/o"))
    }

    /// Every file below `dir` (following no links) with its bytes: what a refused prepare must leave as it was.
    func snapshot(_ dir: String) -> [String: Data] {
        var out: [String: Data] = [:]
        guard let e = FileManager.default.enumerator(atPath: dir) else { return out }
        while let rel = e.nextObject() as? String {
            let path = dir + "/" + rel
            if fileType(path) == S_IFREG { out[rel] = FileManager.default.contents(atPath: path) }
            else if fileType(path) == S_IFLNK { out[rel] = Data((try? FileManager.default.destinationOfSymbolicLink(atPath: path))?.utf8 ?? "".utf8) }
            else { out[rel] = Data("<dir>".utf8) }
        }
        return out
    }

    /// prepare may replace only what it can prove it wrote: an earlier output (index.json of a
    /// prepared directory and only prepare's files) or an empty directory. An output equal to,
    /// inside or above the source, a user's directory, a file or a link is refused in one line
    /// before any work, and every byte is still there afterwards.
    func testTheOutputNeverReplacesWhatPrepareDidNotWrite() throws {
        let dir = try makeScratchDirectory(self)
        let fm = FileManager.default
        let root = dir + "/a/photos"
        try makeTree(root)
        try fm.createDirectory(atPath: dir + "/mine", withIntermediateDirectories: true)
        try writeFile(Array("my notes".utf8), dir + "/mine", "notes.txt")
        try writeFile(Array("a file".utf8), dir, "file.txt")
        try fm.createSymbolicLink(atPath: dir + "/link", withDestinationPath: dir + "/mine")
        // An earlier output with a file of the user's added to it is no longer prepare's alone.
        _ = try prepare(root, dir + "/prepared-and-more")
        try writeFile(Array("added by hand".utf8), dir + "/prepared-and-more", "README")
        let before = snapshot(dir)
        let cases: [(out: String, says: String)] = [
            (root, "is the source directory"),
            (root + "/", "is the source directory"),
            (dir + "/a/photos/../photos", "is the source directory"),
            (root + "/out", "inside the source directory"),
            (root + "/train/cat/out", "inside the source directory"),
            (dir + "/a", "contains the source directory"),
            (dir, "contains the source directory"),
            (dir + "/mine", "not write"),
            (dir + "/file.txt", "existing file"),
            (dir + "/link", "symbolic link"),
            (dir + "/prepared-and-more", "not write"),
        ]
        for c in cases {
            XCTAssertThrowsError(try prepare(root, c.out), c.out) { error in
                let m = "\(error)"
                XCTAssertTrue(m.contains(c.says), "\(c.out): \(m)")
                XCTAssertFalse(m.contains("\n"), m)
            }
            XCTAssertEqual(snapshot(dir), before, "\(c.out): the files changed")
        }
        // Through a symbolic link to the source, too.
        try fm.createSymbolicLink(atPath: dir + "/photos-link", withDestinationPath: root)
        XCTAssertThrowsError(try prepare(dir + "/photos-link", root + "/x")) { XCTAssertTrue("\($0)".contains("inside the source"), "\($0)") }
        XCTAssertThrowsError(try prepare(root, dir + "/photos-link")) { XCTAssertTrue("\($0)".contains("symbolic link") || "\($0)".contains("source directory"), "\($0)") }
        // An empty directory and an earlier output are replaced.
        try fm.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
        XCTAssertEqual(try prepare(root, dir + "/empty").written.map(\.images), [5, 2])
        XCTAssertEqual(try prepare(root, dir + "/empty").written.map(\.images), [5, 2])
        XCTAssertEqual(try PreparedData.open(dir + "/empty", classes: 2).train.count, 5)
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: dir).filter { $0.contains(".partial") || $0.contains(".old") }, [])
    }

    /// A class folder whose name holds a line break would write a classes.txt that train refuses:
    /// refused at once, in one line, and nothing is written.
    func testAClassNameWithALineBreakIsRefused() throws {
        let dir = try makeScratchDirectory(self)
        let root = dir + "/photos"
        try makeTree(root)
        try FileManager.default.moveItem(atPath: root + "/train/cat", toPath: root + "/train/ca\nt")
        XCTAssertThrowsError(try prepare(root, dir + "/out")) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains("ca\\nt: the class name holds a control character (U+A)"), m)
            XCTAssertFalse(m.contains("\n"), m)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["photos"])
    }

    /// Partial outputs that runs on this machine left when they died (their process is gone) are
    /// removed by the next run, whatever their name's age; those of a live process or of another
    /// host are not touched.
    func testStalePartialOutputsOfDeadRunsAreRemoved() throws {
        let dir = try makeScratchDirectory(self)
        let root = dir + "/photos", out = ((dir + "/prepared") as NSString).standardizingPath
        try makeTree(root)
        let gone = Process()   // a process that has run and exited: its pid belongs to nobody now
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run(); gone.waitUntilExit()
        let dead = gone.processIdentifier
        let stale = Prepare.partialPath(out, pid: dead), oldName = out + ".partial-\(dead)"
        let live = Prepare.partialPath(out, pid: getppid()), otherHost = out + ".partial-some-other-host-\(dead)"
        // A dead run's partial output bears prepare's marker; a directory of the same name without
        // it (the user's, or anything else) is never removed.
        let unmarked = out + ".partial-\(Prepare.hostName)-\(dead + 1_000_000)"
        for d in [stale, oldName, live, otherHost, unmarked] {
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
            try writeFile([1, 2, 3], d, "train-00000.bin")
            if d != unmarked { try writeFile([], d, Prepare.partialMarker) }
        }
        XCTAssertTrue(stale.hasPrefix(out + ".partial-") && stale.hasSuffix("-\(dead)"), stale)
        let report = try prepare(root, out)
        XCTAssertEqual(Set(report.removedStale), [stale, oldName])
        for d in [stale, oldName] { XCTAssertFalse(FileManager.default.fileExists(atPath: d), d) }
        for d in [live, otherHost, unmarked] { XCTAssertTrue(FileManager.default.fileExists(atPath: d), "\(d) was removed") }
        XCTAssertEqual(try PreparedData.open(out, classes: 2).train.count, 5)
    }

    /// A stop asked for mid-run (what SIGINT and SIGTERM do through the command) removes the
    /// partial output and leaves an earlier output as it was.
    func testAStoppedRunRemovesItsPartialOutput() throws {
        let dir = try makeScratchDirectory(self)
        let root = dir + "/photos", out = dir + "/prepared"
        try makeTree(root)
        _ = try prepare(root, out)
        let before = FileManager.default.contents(atPath: out + "/index.json")
        var o = Prepare.Options(source: root, out: out)
        o.shardBytes = 3 * 256 * 256
        let progressSeen = Counter()
        o.shouldStop = { progressSeen.value > 0 }   // after the first chunk
        XCTAssertThrowsError(try Prepare.run(o) { _, _ in progressSeen.increment() }) { error in
            guard let e = error as? Prepare.Interrupted, let partial = e.partial else { return XCTFail("\(type(of: error)): \(error)") }
            XCTAssertTrue(partial.hasPrefix((out as NSString).standardizingPath + ".partial-"), partial)
            XCTAssertFalse(FileManager.default.fileExists(atPath: partial), "the partial output is removed")
        }
        XCTAssertEqual(FileManager.default.contents(atPath: out + "/index.json"), before, "the earlier output is as it was")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["photos", "prepared"])
        // Stopped while the source is listed: nothing was written yet.
        o.shouldStop = { true }
        XCTAssertThrowsError(try Prepare.run(o)) { error in
            XCTAssertEqual("\(error)", "interrupted while listing the source, before writing anything; \(out) is as it was")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["photos", "prepared"])
    }

    /// Sizes in index.json that would overflow or index out of bounds: refused in one line that
    /// names index.json (or the shard the index is wrong about), never a trap.
    func testHostileIndexSizesAreRefusedInOneLine() throws {
        try runIsolated {
            let dir = try makeScratchDirectory(self)
            let root = dir + "/photos", out = dir + "/prepared"
            try makeTree(root)
            _ = try prepare(root, out)
            let path = out + "/index.json"
            let valid = try XCTUnwrap(FileManager.default.contents(atPath: path))
            func edited(_ change: (inout [String: Any]) -> Void) throws -> Data {
                var json = try XCTUnwrap(try JSONSerialization.jsonObject(with: valid) as? [String: Any])
                change(&json)
                return try JSONSerialization.data(withJSONObject: json)
            }
            func train(_ key: String, _ value: Any) -> (inout [String: Any]) -> Void {
                { json in
                    var splits = json["splits"] as! [String: Any], t = splits["train"] as! [String: Any]
                    t[key] = value; splits["train"] = t; json["splits"] = splits
                }
            }
            let cases: [(String, (inout [String: Any]) -> Void, String)] = [
                ("huge size", { $0["size"] = 1 << 62 }, "index.json: size"),
                ("size × size overflows", { $0["size"] = 1 << 40 }, "index.json: size"),
                ("negative size", { $0["size"] = -256 }, "index.json: size"),
                ("huge channels", { $0["channels"] = 1 << 62 }, "index.json: channels"),
                ("no classes", { $0["classes"] = 0 }, "index.json: classes 0"),
                ("count of Int.max", train("count", Int.max), "index.json: split 'train'"),
                ("count and images per shard of Int.max", { json in
                    train("count", Int.max)(&json); train("images_per_shard", Int.max)(&json); train("shards", ["train-00000.bin"])(&json)
                }, "train-00000.bin: "),
                ("negative count", train("count", -5), "index.json: split 'train'"),
                ("no images per shard", train("images_per_shard", 0), "index.json: split 'train'"),
                ("a shard outside the directory", train("shards", ["../../etc/passwd", "train-00001.bin", "train-00002.bin"]), "index.json: split 'train': shard name"),
                ("a short eigenvector", { json in
                    var pca = json["pca"] as! [String: Any]; pca["vectors"] = [[1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]; json["pca"] = pca
                }, "index.json: no colour PCA"),
                ("not an object", { $0 = ["format": ["x"]] }, "index.json: is not a prepare index: format: expected text"),
                ("an absurd eigenvalue", { json in
                    var pca = json["pca"] as! [String: Any]; pca["values"] = [1e30, 0.01, 0.001]; json["pca"] = pca
                }, "index.json: colour PCA eigenvalue 1e+30 is not the variance"),
                ("a long eigenvector", { json in
                    var pca = json["pca"] as! [String: Any]; pca["vectors"] = [[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]; json["pca"] = pca
                }, "does not have unit length"),
            ]
            for (what, change, expected) in cases {
                try edited(change).write(to: URL(fileURLWithPath: path))
                XCTAssertThrowsError(try PreparedData.open(out, classes: 2), what) { error in
                    XCTAssertTrue(error is DataError, "\(what): \(type(of: error)) \(error)")
                    XCTAssertTrue("\(error)".hasPrefix(out + "/") && "\(error)".contains(expected), "\(what): \(error)")
                    XCTAssertFalse("\(error)".contains("\n"), "\(what): \(error)")
                }
            }
        }
    }

    /// The fuzzer (`Fuzz.mutate`: truncations, flipped bits, extreme and random bytes) on every
    /// file of a prepared directory, one file at a time: `PreparedData.open` accepts the
    /// directory or throws a one-line DataError naming a file in it — never traps.
    func testFuzzedPreparedFilesOnlyEverThrowOneLineErrors() throws {
        try runIsolated {
            let dir = try makeScratchDirectory(self)
            let root = dir + "/photos", out = dir + "/prepared"
            try makeTree(root)
            var o = Prepare.Options(source: root, out: out)
            o.size = 8; o.shardBytes = 2 * 3 * 8 * 8   // small images: the fuzzer's copies stay cheap
            _ = try Prepare.run(o)
            for (k, name) in ["index.json", "train-00000.bin", "train-00002.bin", "train-labels.bin", "val-labels.bin", "mean.bin", "classes.txt"].enumerated() {
                let path = out + "/" + name
                let valid = [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: path), name))
                var accepted = 0, refused = 0
                for i in 0..<Fuzz.iterations {
                    try Data(Fuzz.mutate(valid, iteration: i, target: UInt64(1000 + k))).write(to: URL(fileURLWithPath: path))
                    do {
                        let data = try PreparedData.open(out, classes: 2)
                        XCTAssertEqual(data.train.count, data.train.labels.count)
                        accepted += 1
                    } catch let e as DataError {
                        refused += 1
                        if !e.description.hasPrefix(out + "/") || e.description.contains("\n") {
                            XCTFail("\(name) seed \(Fuzz.seed) iteration \(i): not a one-line error naming a file of the directory: \(e)")
                        }
                    } catch {
                        XCTFail("\(name) seed \(Fuzz.seed) iteration \(i): \(type(of: error)) instead of DataError: \(error)")
                    }
                }
                XCTAssertGreaterThan(refused, 0, "\(name): no mutation was refused: the fuzzing does not reach the checks")
                try Data(valid).write(to: URL(fileURLWithPath: path))
                _ = accepted
            }
        }
    }

    func testOpeningABrokenPreparedDirectoryNamesTheFile() throws {
        let dir = try makeScratchDirectory(self)
        let root = dir + "/photos", out = dir + "/prepared"
        try makeTree(root)
        _ = try prepare(root, out)
        XCTAssertThrowsError(try PreparedData.open(out, classes: 1)) { XCTAssertTrue("\($0)".contains("2 classes but model.classes is 1"), "\($0)") }
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: out + "/train-00001.bin"))
        try h.truncate(atOffset: 1000); try h.close()
        XCTAssertThrowsError(try PreparedData.open(out, classes: 2)) { XCTAssertTrue("\($0)".contains("train-00001.bin: shard has 1000 bytes"), "\($0)") }
        XCTAssertThrowsError(try PreparedData.open(dir, classes: 2)) { XCTAssertTrue("\($0)".contains("index.json: no such file"), "\($0)") }
    }
}

/// A count shared with a `@Sendable` closure.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
    func increment() { lock.lock(); n += 1; lock.unlock() }
}
