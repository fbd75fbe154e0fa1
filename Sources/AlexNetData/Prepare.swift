import AlexNetCore
import Foundation

/// `alexnet-mp prepare`: turns a tree of photographs into the paper's stored form — every
/// image rescaled so its shorter side is `size`, the central `size × size` patch, 8-bit RGB —
/// packed into a few large shard files so that training reads sequentially and never decodes.
///
/// Source layouts, per split (`train/` required, `val/` optional):
/// - class folders: `train/<class>/*.jpg|*.jpeg|*.png` (any case);
/// - flat: `val/*.JPEG` with `val/labels.csv` of `file,class` lines (a `file,class` header is skipped).
/// A source with no `train/` but a `labels.csv` is a flat training split.
///
/// Output directory (written as `OUT.partial-HOST-PID`, renamed to `OUT` at the end; removed
/// when the run fails or `shouldStop` says so, and by a later run if this process died):
/// - `index.json`: size, channels, classes, per split the image count, images per shard and
///   shard names, and the colour PCA;
/// - `train-00000.bin`, … : images `[3][size][size]` back to back, no header;
/// - `train-labels.bin`: one little-endian Int32 class index per image; `train-files.txt`: the
///   source path of every image, in shard order;
/// - `classes.txt`: the class names, sorted, one per line (line k is class index k);
/// - `mean.bin`: the per-pixel mean of the training images, little-endian Float32 `[3][size][size]`.
public enum Prepare {
    public struct Options: Sendable {
        public var source: String, out: String
        public var size = 256
        public var jobs = 1
        /// Bytes per shard file (rounded down to whole images).
        public var shardBytes = 1 << 30
        /// Asked before every image and between steps (the command's SIGINT / SIGTERM): when it
        /// says true, the run removes its partial output and throws `Interrupted`.
        public var shouldStop: (@Sendable () -> Bool)?
        public init(source: String, out: String) { self.source = source; self.out = out }
    }

    /// `run` was stopped by `shouldStop`: its partial output (nil while the source was being
    /// listed, before any) is removed, and `OUT` is as it was.
    public struct Interrupted: Error, CustomStringConvertible {
        public let partial: String?, out: String
        public var description: String {
            partial.map { "interrupted: removed the partial output \($0); \(out) is as it was" }
                ?? "interrupted while listing the source, before writing anything; \(out) is as it was"
        }
    }

    public struct Report: Sendable {
        public var written: [(split: String, images: Int)] = []
        public var skipped: [(file: String, reason: String)] = []
        /// Partial outputs of earlier runs that died (their process is gone), removed at the start.
        public var removedStale: [String] = []
        /// Things the user should know that are not failures (an old output kept, say).
        public var notes: [String] = []
        public var classes = 0
        public var seconds = 0.0
        public var imagesPerSecond: Double { Double(written.reduce(0) { $0 + $1.images }) / max(seconds, 1e-9) }
    }

    struct Item { let path: String; let label: Int }

    static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    /// Runs the whole preparation; `progress(done, total)` is called after each chunk of images.
    public static func run(_ o: Options, progress: ((Int, Int) -> Void)? = nil) throws -> Report {
        let t0 = now()
        let fm = FileManager.default
        guard o.size >= 1 else { throw DataError("--size: must be positive, got \(o.size)") }
        var isDir: ObjCBool = false
        do { try checkDirectory(o.source) } catch let e as FileError {
            throw DataError(o.source, e.problem == "no such directory" ? "source directory does not exist" : e.problem)
        }
        // Before any work: the output must not touch the photographs, and may replace only an
        // earlier output of prepare (or an empty directory).
        try checkApart(source: o.source, out: o.out)
        _ = try checkOutput(lexicalPath(o.out))
        var report = Report()
        let stop = o.shouldStop ?? { false }
        // Which splits, and their labelled files.
        var splits: [(name: String, dir: String)] = []
        let trainDir = (o.source as NSString).appendingPathComponent("train")
        if fm.fileExists(atPath: trainDir, isDirectory: &isDir), isDir.boolValue {
            splits.append(("train", trainDir))
        } else if fm.fileExists(atPath: (o.source as NSString).appendingPathComponent("labels.csv")) {
            splits.append(("train", o.source))
        } else {
            throw DataError(o.source, "no train/ folder of class folders, nor a labels.csv")
        }
        let valDir = (o.source as NSString).appendingPathComponent("val")
        if fm.fileExists(atPath: valDir, isDirectory: &isDir), isDir.boolValue { splits.append(("val", valDir)) }

        var named: [String: [(path: String, cls: String)]] = [:]
        for s in splits { named[s.name] = try scan(s.dir, skipped: &report.skipped, stop: stop, output: o.out) }
        let classes = Array(Set(named["train"]!.map(\.cls))).sorted()
        guard !classes.isEmpty else { throw DataError(trainDir, "no images found") }
        let classIndex = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        var items: [String: [Item]] = [:]
        for s in splits {
            items[s.name] = try named[s.name]!.map { f in
                guard let k = classIndex[f.cls] else {
                    throw DataError(f.path, "class '\(f.cls)' has no training images (classes come from train/)")
                }
                return Item(path: f.path, label: k)
            }
        }
        report.classes = classes.count

        // Write into a temporary directory next to the output, renamed at the end. Partial
        // outputs that earlier runs on this machine left when they died go first.
        let out = lexicalPath(o.out)
        report.removedStale = removeStalePartials(of: out)
        let tmp = partialPath(out, pid: getpid())
        if fileType(tmp) != nil {   // a dead process of the same pid left it: ours only if it bears our marker
            guard removeOwnDirectory(tmp) else { throw DataError(tmp, "exists and was not written by this prepare: remove it or choose another --out") }
        }
        do {
            try fm.createDirectory(atPath: parentDirectory(of: tmp), withIntermediateDirectories: true)
            guard mkdir(tmp, 0o755) == 0 else { throw FileError(tmp, describeErrno(errno)) }
            try writeData(Data(), tmp, partialMarker)
        } catch {
            rmdir(tmp)
            throw DataError(o.out, "cannot create the output directory: \(error)")
        }
        var finished = false
        defer { if !finished { _ = removeOwnDirectory(tmp) } }
        let interrupted = Interrupted(partial: tmp, out: o.out)

        let S = o.size, imageSize = 3 * S * S
        let perShard = max(1, o.shardBytes / imageSize)
        let total = splits.reduce(0) { $0 + items[$1.name]!.count }
        var done = 0
        let meanSumBuffer = UnsafeMutablePointer<Double>.allocate(capacity: imageSize)
        meanSumBuffer.initialize(repeating: 0, count: imageSize)
        defer { meanSumBuffer.deallocate() }
        var rgbSum = [Double](repeating: 0, count: 3), rgbProducts = [Double](repeating: 0, count: 9)
        var index = PreparedIndex(size: S, channels: 3, classes: classes.count, splits: [:], pca: nil)
        let jobs = max(1, o.jobs)
        let chunk = max(16, 4 * jobs)

        for s in splits {
            let list = items[s.name]!
            var shards: [String] = [], labels: [Int32] = [], files: [String] = []
            var handle: FileHandle?
            var inShard = 0
            var start = 0
            while start < list.count {
                if stop() { throw interrupted }
                let part = Array(list[start..<min(start + chunk, list.count)])
                // Decode and resize in parallel into per-slot buffers; write in source order.
                let pixels = UnsafeMutablePointer<UInt8>.allocate(capacity: part.count * imageSize)
                defer { pixels.deallocate() }
                let slots = SlotBuffer(base: pixels)
                let results = Results(part.count)
                parallel(jobs) { worker in
                    var i = worker
                    while i < part.count && !stop() {
                        do {
                            let bytes = try readPhoto(part[i].path)
                            let photo = try Photo.decode(bytes)
                            let dst = slots.base + i * imageSize
                            photo.centreSquare(S, into: dst)
                            results.set(i, .ok(stats(dst, plane: S * S)))
                        } catch {
                            results.set(i, .failed("\(error)"))
                        }
                        i += jobs
                    }
                }
                if stop() { throw interrupted }   // the images the workers skipped must not look unreadable
                var meanImages: [Int] = []
                for (i, item) in part.enumerated() {
                    switch results.get(i) {
                    case .failed(let reason):
                        report.skipped.append((item.path, reason))
                    case .ok(let st):
                        if handle == nil || inShard == perShard {
                            try handle?.close()
                            let name = String(format: "%@-%05d.bin", s.name, shards.count)
                            let path = (tmp as NSString).appendingPathComponent(name)
                            guard fm.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
                                throw DataError(path, "cannot create shard file")
                            }
                            handle = h; shards.append(name); inShard = 0
                        }
                        let image = pixels + i * imageSize
                        do { try handle!.write(contentsOf: Data(bytes: image, count: imageSize)) } catch {
                            throw DataError((tmp as NSString).appendingPathComponent(shards.last!), "cannot write: \(error.localizedDescription)")
                        }
                        inShard += 1
                        labels.append(Int32(item.label)); files.append(item.path)
                        if s.name == "train" {
                            meanImages.append(i)
                            for j in 0..<3 { rgbSum[j] += st.sum[j] }
                            for j in 0..<9 { rgbProducts[j] += st.products[j] }
                        }
                    case .none: break
                    }
                }
                // The mean image's sums: pixel ranges in parallel, images in source order in each.
                if !meanImages.isEmpty {
                    let sums = SumBuffer(base: meanSumBuffer)
                    let images = meanImages
                    parallel(jobs) { w in
                        let lo = imageSize * w / jobs, hi = imageSize * (w + 1) / jobs
                        for i in images {
                            let px = slots.base + i * imageSize
                            for j in lo..<hi { sums.base[j] += Double(px[j]) }
                        }
                    }
                }
                start += part.count; done += part.count
                progress?(done, total)
            }
            try handle?.close()
            if s.name == "train" && labels.isEmpty {
                throw DataError(s.dir, "none of the \(list.count) training images could be read (see the skipped files)")
            }
            index.splits[s.name] = .init(count: labels.count, imagesPerShard: perShard, shards: shards)
            report.written.append((s.name, labels.count))
            try writeData(labels.withUnsafeBytes { Data($0) }, tmp, "\(s.name)-labels.bin")
            try writeData(Data((files.joined(separator: "\n") + "\n").utf8), tmp, "\(s.name)-files.txt")
        }

        let n = Double(index.splits["train"]!.count)
        let mean = (0..<imageSize).map { Float(meanSumBuffer[$0] / n) }
        try writeData(mean.withUnsafeBytes { Data($0) }, tmp, "mean.bin")
        index.pca = ColourPCA(sum: rgbSum, sumOfProducts: rgbProducts, pixels: n * Double(S * S))
        try writeData(Data((classes.joined(separator: "\n") + "\n").utf8), tmp, "classes.txt")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeData(try encoder.encode(index), tmp, PreparedIndex.fileName)

        if stop() { throw interrupted }
        unlink((tmp as NSString).appendingPathComponent(partialMarker))
        // Swap the new directory in; the old one (a re-run) goes only once the new is in place,
        // and only if it is still what `checkOutput` found: a directory of prepare's files.
        let old = out + ".old-\(getpid())"
        let hadOld = try checkOutput(out)
        if hadOld {
            guard rename(out, old) == 0 else { throw DataError(o.out, "cannot replace the existing directory: \(describeErrno(errno))") }
        }
        guard rename(tmp, out) == 0 else {
            let why = describeErrno(errno)
            if hadOld { _ = rename(old, out) }
            throw DataError(o.out, "cannot rename \(tmp) to it: \(why)")
        }
        finished = true
        if hadOld && !removeOwnDirectory(old) {
            report.notes.append("the previous output is kept as \(old): it held files that prepare did not write")
        }
        report.seconds = now() - t0
        return report
    }

    /// The file a partial output holds from its creation until it is complete: what proves to a
    /// later run that a `OUT.partial-HOST-PID` directory is prepare's own.
    public static let partialMarker = ".alexnet-mp-partial"

    /// Whether `name` is a file prepare writes into its output.
    static func isOutputFileName(_ name: String) -> Bool {
        if ["index.json", "classes.txt", "mean.bin", partialMarker].contains(name) { return true }
        for split in ["train", "val"] {
            guard name.hasPrefix(split + "-") else { continue }
            let rest = name.dropFirst(split.count + 1)
            if rest == "labels.bin" || rest == "files.txt" { return true }
            if rest.hasSuffix(".bin"), rest.count == 9, rest.dropLast(4).allSatisfy({ $0.isASCII && $0.isNumber }) { return true }
        }
        return false
    }

    /// The directory entries of `dir` if every one is a regular file with a name prepare writes;
    /// nil otherwise (a subdirectory, a link, a file of the user's).
    static func ownEntries(_ dir: String) -> [String]? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return nil }
        for e in entries where !isOutputFileName(e) || fileType((dir as NSString).appendingPathComponent(e)) != S_IFREG {
            return nil
        }
        return entries
    }

    /// Removes a directory prepare wrote, file by file (only its own file names, then `rmdir`,
    /// which fails if anything else is there); false, with nothing removed, when it holds
    /// anything prepare does not write.
    static func removeOwnDirectory(_ dir: String) -> Bool {
        guard fileType(dir) == S_IFDIR, let entries = ownEntries(dir) else { return false }
        for e in entries { unlink((dir as NSString).appendingPathComponent(e)) }
        return rmdir(dir) == 0
    }

    /// Whether `out` exists and may be replaced: nothing there (false); an empty directory or an
    /// earlier output of prepare (true: its `index.json` names prepare's format, and it holds
    /// only files prepare writes). Anything else is refused: prepare never replaces what it
    /// cannot prove it wrote.
    static func checkOutput(_ out: String) throws -> Bool {
        guard let type = fileType(out) else { return false }
        let refuse = "choose another --out, or move it away yourself"
        switch type {
        case S_IFDIR: break
        case S_IFLNK: throw DataError(out, "--out is a symbolic link; prepare replaces only a directory it wrote itself: \(refuse)")
        case S_IFREG: throw DataError(out, "--out is an existing file, not a directory prepare wrote: \(refuse)")
        default: throw DataError(out, "--out \(describeFileType(type)): \(refuse)")
        }
        guard let entries = ownEntries(out) else {
            throw DataError(out, "--out is an existing directory that prepare did not write (it holds other files): \(refuse)")
        }
        if entries.isEmpty { return true }
        let index = (out as NSString).appendingPathComponent(PreparedIndex.fileName)
        guard let bytes = try? AlexNetCore.readFile(index, limit: 64 << 20),
              let decoded = try? JSONDecoder().decode(PreparedIndex.Format.self, from: Data(bytes)),
              decoded.format.hasPrefix("alexnet-mp prepared") else {
            throw DataError(out, "--out is an existing directory without the index.json of a prepared directory: \(refuse)")
        }
        return true
    }

    /// The absolute path of `path` with every symbolic link of its existing part resolved (the
    /// part that does not exist yet is appended as written).
    static func resolvedPath(_ path: String) -> String {
        var head = (path as NSString).standardizingPath
        if !head.hasPrefix("/") { head = (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(head) }
        var tail: [String] = []
        while head != "/" && fileType(head) == nil {
            tail.insert((head as NSString).lastPathComponent, at: 0)
            head = parentDirectory(of: head)
        }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        if realpath(head, &buffer) != nil { head = String(cString: buffer) }
        return tail.reduce(head) { ($0 as NSString).appendingPathComponent($1) }
    }

    /// Refuses an output equal to the source, inside it, or above it: prepare writes its output
    /// (and its partial output) there, and a source inside the output would be replaced with it.
    static func checkApart(source: String, out: String) throws {
        let s = resolvedPath(source), o = resolvedPath(out)
        func inside(_ a: String, _ b: String) -> Bool { a.hasPrefix(b.hasSuffix("/") ? b : b + "/") }
        if s == o { throw DataError(out, "--out is the source directory: prepare would write over the photographs; choose another --out") }
        if inside(o, s) { throw DataError(out, "--out is inside the source directory \(source): choose an --out outside it") }
        if inside(s, o) { throw DataError(out, "--out contains the source directory \(source): replacing it would remove the photographs; choose another --out") }
    }

    /// Where a run with process id `pid` on this machine writes `out` before renaming it:
    /// `OUT.partial-HOST-PID` (the host, so that a run on another machine sharing the file
    /// system is never taken for a dead one).
    public static func partialPath(_ out: String, pid: Int32) -> String {
        "\(lexicalPath(out)).partial-\(hostName)-\(pid)"
    }

    /// `path` without trailing slashes and `.` parts, its links left as they are (Foundation's
    /// `standardizingPath` resolves them: an `--out` that is a link would name its target).
    public static func lexicalPath(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        let parts = path.split(separator: "/").filter { $0 != "." }
        let joined = parts.joined(separator: "/")
        return absolute ? "/" + joined : (joined.isEmpty ? "." : joined)
    }

    public static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(cString: buffer).replacingOccurrences(of: "/", with: "_")
        return name.isEmpty ? "localhost" : name
    }

    /// Removes `OUT.partial-HOST-PID` directories (and `OUT.partial-PID`, the older name) that
    /// runs on this machine left behind: those whose process no longer exists. Returns them.
    /// A partial output of a live process, or of another host, is left alone.
    static func removeStalePartials(of out: String) -> [String] {
        let fm = FileManager.default
        let parent = parentDirectory(of: out), prefix = (out as NSString).lastPathComponent + ".partial-"
        var removed: [String] = []
        for name in ((try? fm.contentsOfDirectory(atPath: parent.isEmpty ? "." : parent)) ?? []) where name.hasPrefix(prefix) {
            let owner = name.dropFirst(prefix.count)
            let pidText = owner.split(separator: "-", omittingEmptySubsequences: false).last ?? ""
            guard let pid = Int32(pidText), pid > 0 else { continue }
            let host = owner.count > pidText.count ? String(owner.dropLast(pidText.count + 1)) : nil
            guard host == nil || host == hostName, pid != getpid() else { continue }
            let alive = kill(pid, 0) == 0 || errno == EPERM
            guard !alive else { continue }
            let path = (parent as NSString).appendingPathComponent(name)
            // Only a directory that still bears prepare's marker, and holds only prepare's files.
            guard fileType((path as NSString).appendingPathComponent(partialMarker)) == S_IFREG else { continue }
            if removeOwnDirectory(path) { removed.append(path) }
        }
        return removed
    }

    /// The files of one split, with their class names; skipped files are recorded with why.
    /// `stop` is asked per class folder (listing ILSVRC's 1.28 M files takes a while).
    static func scan(_ dir: String, skipped: inout [(file: String, reason: String)], stop: () -> Bool = { false },
                     output: String = "") throws -> [(path: String, cls: String)] {
        let fm = FileManager.default
        let csv = (dir as NSString).appendingPathComponent("labels.csv")
        var out: [(path: String, cls: String)] = []
        if fm.fileExists(atPath: csv) {
            let text: String
            do { text = try readText(csv, limit: 1 << 30) } catch let e as FileError { throw DataError(csv, e.problem) }
            for (n, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || (n == 0 && line.lowercased() == "file,class") { continue }
                let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                guard fields.count == 2, !fields[0].isEmpty, !fields[1].isEmpty else {
                    throw DataError("\(csv):\(n + 1)", "expected 'file,class', got '\(line)'")
                }
                let path = (dir as NSString).appendingPathComponent(fields[0])
                try checkClassName(fields[1], "\(csv):\(n + 1)")
                guard fm.fileExists(atPath: path) else { skipped.append((path, "listed in labels.csv but missing")); continue }
                out.append((path, fields[1]))
            }
            if out.isEmpty { throw DataError(csv, "lists no images") }
            return out
        }
        let entries = (try? fm.contentsOfDirectory(atPath: dir)) ?? []
        var isDir: ObjCBool = false
        for cls in entries.sorted() where !cls.hasPrefix(".") {
            if stop() { throw Interrupted(partial: nil, out: output) }
            let classDir = (dir as NSString).appendingPathComponent(cls)
            guard fm.fileExists(atPath: classDir, isDirectory: &isDir), isDir.boolValue else {
                skipped.append((classDir, "not inside a class folder")); continue
            }
            try checkClassName(cls, classDir)
            let files = ((try? fm.contentsOfDirectory(atPath: classDir)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
            var count = 0
            for f in files {
                let path = (classDir as NSString).appendingPathComponent(f)
                if extensions.contains((f as NSString).pathExtension.lowercased()) {
                    out.append((path, cls)); count += 1
                } else {
                    skipped.append((path, "not a .jpg, .jpeg or .png file"))
                }
            }
            if count == 0 { throw DataError(classDir, "empty class folder (no .jpg, .jpeg or .png files)") }
        }
        if out.isEmpty { throw DataError(dir, "no class folders with images") }
        return out
    }

    /// A class name becomes a line of classes.txt: no line breaks or other control characters.
    static func checkClassName(_ name: String, _ place: String) throws {
        if let c = name.unicodeScalars.first(where: { $0.properties.generalCategory == .control || $0.properties.isNoncharacterCodePoint
                                                           || $0 == "\u{2028}" || $0 == "\u{2029}" }) {
            throw DataError(place.debugDescription.dropFirst().dropLast().description,
                            "the class name holds a control character (U+\(String(c.value, radix: 16, uppercase: true))); rename it: class names are lines of classes.txt")
        }
    }

    /// The decode buffer, shared by the decoding threads (each writes its own slots).
    struct SlotBuffer: @unchecked Sendable { let base: UnsafeMutablePointer<UInt8> }
    /// The mean image's running sums, shared by threads that each own a range of pixels.
    struct SumBuffer: @unchecked Sendable { let base: UnsafeMutablePointer<Double> }

    struct Stats { var sum: [Double]; var products: [Double] }
    enum Outcome { case ok(Stats), failed(String) }

    /// Results written by the decoding threads, one slot each.
    final class Results: @unchecked Sendable {
        private var slots: [Outcome?]
        private let lock = NSLock()
        init(_ n: Int) { slots = Array(repeating: nil, count: n) }
        func set(_ i: Int, _ o: Outcome) { lock.lock(); slots[i] = o; lock.unlock() }
        func get(_ i: Int) -> Outcome? { lock.lock(); defer { lock.unlock() }; return slots[i] }
    }

    /// Sums of the RGB values and their products over one planar image.
    static func stats(_ p: UnsafePointer<UInt8>, plane: Int) -> Stats {
        var s = [Double](repeating: 0, count: 3), q = [Double](repeating: 0, count: 9)
        var sr = 0, sg = 0, sb = 0, rr = 0, rg = 0, rb = 0, gg = 0, gb = 0, bb = 0
        for i in 0..<plane {
            let r = Int(p[i]), g = Int(p[plane + i]), b = Int(p[2 * plane + i])
            sr += r; sg += g; sb += b
            rr += r * r; rg += r * g; rb += r * b; gg += g * g; gb += g * b; bb += b * b
        }
        s = [Double(sr), Double(sg), Double(sb)]
        q = [Double(rr), Double(rg), Double(rb), Double(rg), Double(gg), Double(gb), Double(rb), Double(gb), Double(bb)]
        return Stats(sum: s, products: q)
    }

    /// Runs `body(0 ..< n)` on n threads of their own and waits for all of them. (Dispatch's
    /// concurrentPerform ran the workers one after the other here, on a loaded machine.)
    static func parallel(_ n: Int, _ body: @escaping @Sendable (Int) -> Void) {
        if n == 1 { body(0); return }
        let done = DispatchGroup()
        for w in 0..<n {
            done.enter()
            let t = Thread { body(w); done.leave() }
            t.stackSize = 8 << 20
            t.start()
        }
        done.wait()
    }

    /// A photograph's bytes: a regular file of at most 1 GiB (a FIFO or a directory with a
    /// photo's name is skipped, never waited on).
    static func readPhoto(_ path: String) throws -> [UInt8] {
        do { return try AlexNetCore.readFile(path, limit: 1 << 30) } catch let e as FileError { throw DataError(e.problem) }
    }

    static func writeData(_ d: Data, _ dir: String, _ name: String) throws {
        let path = (dir as NSString).appendingPathComponent(name)
        do { try d.write(to: URL(fileURLWithPath: path)) } catch {
            throw DataError(path, "cannot write: \(error.localizedDescription)")
        }
    }
}

/// `index.json` of a prepared directory.
public struct PreparedIndex: Codable, Sendable {
    public static let fileName = "index.json"
    public struct Split: Codable, Sendable {
        public var count: Int
        public var imagesPerShard: Int
        public var shards: [String]
        enum CodingKeys: String, CodingKey { case count, imagesPerShard = "images_per_shard", shards }
    }
    public var format = "alexnet-mp prepared 1"
    /// Just the format line, to recognise a prepared directory without trusting the rest.
    struct Format: Decodable { var format: String }
    public var size: Int, channels: Int, classes: Int
    public var splits: [String: Split]
    public var pca: ColourPCA?
    init(size: Int, channels: Int, classes: Int, splits: [String: Split], pca: ColourPCA?) {
        self.size = size; self.channels = channels; self.classes = classes; self.splits = splits; self.pca = pca
    }
}

/// A prepared directory opened for training: the shards mapped, not read. Every size in
/// `index.json` is checked (with overflow-checked arithmetic) against the files before anything
/// is mapped; a bad one is refused with one line naming the file.
public struct PreparedData: Sendable {
    public let train: ImageSet
    /// The validation images; nil when the directory has none (`prepare` found no `val/`
    /// folder, or could read none of its images).
    public let val: ImageSet?
    /// Class names, `classes.txt` line k for class k.
    public let classes: [String]
    /// Per-pixel mean of the training images, raw pixel units, `[3][size][size]`.
    public let mean: [Float]
    public let pca: ColourPCA

    /// The largest image side accepted from an index (`prepare --size` allows 4096).
    static let largestSize = 1 << 16

    public static func open(_ dir: String, classes expected: Int) throws -> PreparedData {
        try checkDataDirectory(dir)
        func file(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }
        func bytes(_ path: String, limit: Int) throws -> [UInt8] {
            do { return try readFile(path, limit: limit) } catch let e as FileError { throw DataError(path, e.problem) }
        }
        let path = file(PreparedIndex.fileName)
        guard fileType(path) != nil else {
            throw DataError(path, "no such file: not a directory written by `alexnet-mp prepare`")
        }
        let index: PreparedIndex
        do { index = try decodeJSON(PreparedIndex.self, bytes: try bytes(path, limit: 64 << 20), file: path, what: "a prepare index") }
        catch let e as FileError { throw DataError(path, e.problem) }
        guard index.format == "alexnet-mp prepared 1" else { throw DataError(path, "unknown format '\(index.format)'") }
        guard index.size >= 1, index.size <= largestSize else {
            throw DataError(path, "size \(index.size) is not an image side (1 to \(largestSize))")
        }
        guard index.channels == 1 || index.channels == 3 else {
            throw DataError(path, "channels \(index.channels): prepared images have 1 or 3 channels")
        }
        guard index.classes >= 1 else { throw DataError(path, "classes \(index.classes): must be at least 1") }
        guard index.classes <= expected else {
            throw DataError(path, "has \(index.classes) classes but model.classes is \(expected)")
        }
        guard let pca = index.pca, pca.values.count == 3, pca.vectors.count == 3, pca.vectors.allSatisfy({ $0.count == 3 }),
              (pca.values + pca.vectors.joined()).allSatisfy(\.isFinite) else {
            throw DataError(path, "no colour PCA (3 finite eigenvalues and 3 eigenvectors of 3 values)")
        }
        // The covariance of RGB values in [0, 1]: each eigenvalue lies in [0, 0.75] (its trace is
        // at most 3 · 0.25), and the eigenvectors have unit length.
        if let bad = pca.values.first(where: { $0 < -1e-9 || $0 > 0.75 }) {
            throw DataError(path, "colour PCA eigenvalue \(bad) is not the variance of RGB values in [0, 1] (0 to 0.75)")
        }
        if let v = pca.vectors.first(where: { abs($0.reduce(0) { $0 + $1 * $1 } - 1) > 1e-3 }) {
            throw DataError(path, "colour PCA eigenvector \(v) does not have unit length")
        }
        let S = index.size
        let (plane, o1) = S.multipliedReportingOverflow(by: S)
        let (imageSize, o2) = plane.multipliedReportingOverflow(by: index.channels)
        guard !o1, !o2 else { throw DataError(path, "size \(S) × \(S) × \(index.channels) overflows") }

        func open(_ name: String) throws -> ImageSet? {
            guard let split = index.splits[name] else { return nil }
            guard split.count >= 0, split.imagesPerShard >= 1 else {
                throw DataError(path, "split '\(name)': count \(split.count) must not be negative and images_per_shard \(split.imagesPerShard) must be positive")
            }
            if split.count == 0 {
                guard split.shards.isEmpty else { throw DataError(path, "split '\(name)': no images but \(split.shards.count) shards") }
                return nil
            }
            let needed = (split.count - 1) / split.imagesPerShard + 1
            guard split.shards.count == needed else {
                throw DataError(path, "split '\(name)': \(split.count) images at \(split.imagesPerShard) per shard need \(needed) shard\(needed == 1 ? "" : "s"), the index lists \(split.shards.count)")
            }
            if let bad = split.shards.first(where: { $0.isEmpty || $0.contains("/") || $0 == "." || $0 == ".." }) {
                throw DataError(path, "split '\(name)': shard name '\(bad)' is not a file name in the directory")
            }
            let storage = try PixelStorage(mapping: split.shards.map(file), imagesPerFile: split.imagesPerShard,
                                           count: split.count, imageSize: imageSize)
            let labelPath = file("\(name)-labels.bin")
            let (labelBytes, o) = split.count.multipliedReportingOverflow(by: 4)
            guard !o, let raw = try? bytes(labelPath, limit: labelBytes), raw.count == labelBytes else {
                throw DataError(labelPath, "missing or not \(split.count) Int32 labels")
            }
            let labels = raw.withUnsafeBytes { b in (0..<split.count).map { Int32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) } }
            if let bad = labels.firstIndex(where: { $0 < 0 || Int($0) >= index.classes }) {
                throw DataError(labelPath, "label \(labels[bad]) of image \(bad) is out of range (\(index.classes) classes)")
            }
            return ImageSet(count: split.count, channels: index.channels, height: S, width: S, storage: storage, labels: labels)
        }
        guard let train = try open("train") else { throw DataError(path, "has no training images (the 'train' split is missing or empty)") }
        let val = try open("val")
        let meanPath = file("mean.bin")
        guard let rawMean = try? bytes(meanPath, limit: 4 * imageSize), rawMean.count == 4 * imageSize else {
            throw DataError(meanPath, "missing or not \(imageSize) Float32 values")
        }
        let mean = rawMean.withUnsafeBytes { b in (0..<imageSize).map { Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
        if let bad = mean.firstIndex(where: { !$0.isFinite || $0 < 0 || $0 > 255 }) {
            throw DataError(meanPath, "value \(bad) is \(mean[bad]), not a mean of 8-bit pixels")
        }
        let classesPath = file("classes.txt")
        let text: String
        do { text = try readText(classesPath, limit: 64 << 20) } catch let e as FileError { throw DataError(classesPath, e.problem) }
        let names = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard names.count == index.classes + 1, names.last == "", !names.dropLast().contains("") else {
            throw DataError(classesPath, "does not hold one name per line for the \(index.classes) classes of \(PreparedIndex.fileName)")
        }
        return PreparedData(train: train, val: val, classes: Array(names.dropLast()), mean: mean, pca: pca)
    }
}

/// An error's description on one line (a decoding error: where, and what).
func oneLine(_ error: Error) -> String {
    let text: String
    switch error {
    case DecodingError.dataCorrupted(let c): text = c.debugDescription + codingPathText(c.codingPath)
    case DecodingError.keyNotFound(let k, let c): text = "missing key '\(k.stringValue)'" + codingPathText(c.codingPath)
    case DecodingError.typeMismatch(let t, let c): text = "expected \(t)" + codingPathText(c.codingPath)
    case DecodingError.valueNotFound(let t, let c): text = "expected \(t), found null" + codingPathText(c.codingPath)
    default: text = "\(error)"
    }
    return text.split(whereSeparator: \.isNewline).joined(separator: " ")
}

private func codingPathText(_ path: [CodingKey]) -> String {
    path.isEmpty ? "" : " at " + path.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined().drop { $0 == "." }
}

/// Refuses a data directory that is not one, saying what it is.
func checkDataDirectory(_ dir: String) throws {
    do { try checkDirectory(dir) } catch let e as FileError {
        throw DataError(dir, e.problem == "no such directory" ? "data directory does not exist" : "\(e.problem) (data.dir and --data name a directory)")
    }
}
