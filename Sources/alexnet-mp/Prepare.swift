import AlexNetData
import AlexNetTraining
import ArgumentParser
import Foundation

struct Prepare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn a tree of JPEG/PNG photographs into shards of 256×256 RGB images for training (data.source: prepared).",
        discussion: """
        SOURCE holds train/<class>/*.jpg|*.jpeg|*.png and optionally val/<class>/… the same way; a split
        may instead be a flat folder with a labels.csv of file,class lines. Each image is rescaled so its
        shorter side is --size (triangle filter widened by the downscale factor: antialiased), its central
        square kept, EXIF orientation applied, grey and CMYK converted to RGB. OUT gets shards, labels,
        classes.txt, mean.bin and the colour PCA in index.json; it is written under a temporary name and
        renamed at the end, so a failed or interrupted run leaves any earlier OUT as it was.
        """)

    @Option(help: "The photographs: a directory with train/ (and val/).") var source: String
    @Option(help: "The directory to write (replaced if it exists, once the new one is complete).") var out: String
    @Option(help: "Side of the stored square images (the paper: 256).") var size: Int = 256
    @Option(help: "Images decoded at once (default: the cores of this machine).") var jobs: Int?
    @Option(name: .customLong("shard-mb"), help: "Size of each shard file in MiB (rounded down to whole images).") var shardMB: Int = 1024

    func validate() throws {
        if size < 8 || size > 4096 { throw ValidationError("--size must be between 8 and 4096, got \(size).") }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1, got \(jobs).") }
        if shardMB < 1 { throw ValidationError("--shard-mb must be at least 1, got \(shardMB).") }
    }

    func run() throws {
        try reportingErrors {
            var o = AlexNetData.Prepare.Options(source: source, out: out)
            o.size = size
            o.jobs = jobs ?? ProcessInfo.processInfo.activeProcessorCount
            o.shardBytes = shardMB << 20
            let tty = isatty(STDERR_FILENO) != 0
            let report = try AlexNetData.Prepare.run(o) { done, total in
                if tty { writeStandardError("\rprepare: \(done)/\(total) images\u{1B}[K") }
            }
            if tty { writeStandardError("\r\u{1B}[K") }
            let counts = report.written.map { "\($0.images) \($0.split)" }.joined(separator: ", ")
            print("prepare: wrote \(counts) images of \(size)×\(size), \(report.classes) classes, to \(out) in "
                  + String(format: "%.1f s (%.0f images/s, %d job%@)", report.seconds, report.imagesPerSecond, o.jobs, o.jobs == 1 ? "" : "s"))
            if report.skipped.isEmpty {
                print("prepare: no files skipped")
            } else {
                print("prepare: skipped \(report.skipped.count) file\(report.skipped.count == 1 ? "" : "s"):")
                for s in report.skipped { print("  \(s.file): \(s.reason)") }
            }
        }
    }
}
