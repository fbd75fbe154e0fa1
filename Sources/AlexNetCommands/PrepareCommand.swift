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

struct Prepare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn a tree of JPEG/PNG photographs into shards of 256×256 RGB images for training (data.source: prepared).",
        discussion: """
        SOURCE holds train/<class>/*.jpg|*.jpeg|*.png and optionally val/<class>/… the same way; a split
        may instead be a flat folder with a labels.csv of file,class lines. Each image is rescaled so its
        shorter side is --size (triangle filter widened by the downscale factor: antialiased), its central
        square kept, EXIF orientation applied, grey and CMYK converted to RGB. OUT gets shards, labels,
        classes.txt, mean.bin and the colour PCA in index.json; it is written as OUT.partial-HOST-PID and
        renamed at the end, so a failed or interrupted run (Ctrl-C, SIGTERM) removes it and leaves any
        earlier OUT as it was; partial outputs of prepares that died are removed at the start.
        """)

    @Option(help: "The photographs: a directory with train/ (and val/).") var source: String
    @Option(help: "The directory to write. An existing one is replaced (once the new one is complete) only if it is empty or an earlier output of prepare; it may not be, contain or lie inside the source.") var out: String
    @Option(parsing: .unconditional, help: "Side of the stored square images (the paper: 256).") var size: Int = 256
    @Option(parsing: .unconditional, help: "Images decoded at once (default: the cores of this machine).") var jobs: Int?
    @Option(name: .customLong("shard-mb"), parsing: .unconditional, help: "Size of each shard file in MiB (rounded down to whole images).") var shardMB: Int = 1024

    func validate() throws {
        if size < 8 || size > 4096 { throw ValidationError("--size must be between 8 and 4096, got \(size).") }
        if let jobs, jobs < 1 || jobs > 1024 { throw ValidationError("--jobs must be from 1 to 1024, got \(jobs).") }
        if shardMB < 1 { throw ValidationError("--shard-mb must be at least 1, got \(shardMB).") }
    }

    func run() throws {
        // Ctrl-C or SIGTERM: stop after the image under way and remove the partial output
        // (a second signal exits at once; the next prepare removes what that leaves).
        StopSignal.install()
        do { try prepare() } catch let e as AlexNetData.Prepare.Interrupted {
            writeStandardError("alexnet-mp: prepare \(e)\n")
            throw ExitCode(128 + StopSignal.received)
        } catch {
            writeStandardError("alexnet-mp: error: \(error)\n")
            throw ExitCode(1)
        }
    }

    func prepare() throws {
        var o = AlexNetData.Prepare.Options(source: source, out: out)
        o.size = size
        o.jobs = jobs ?? ProcessInfo.processInfo.activeProcessorCount
        o.shardBytes = shardMB << 20
        o.shouldStop = { StopSignal.requested }
        let tty = isatty(STDERR_FILENO) != 0
        defer { if tty { writeStandardError("\r\u{1B}[K") } }
        let report = try AlexNetData.Prepare.run(o) { done, total in
            if tty { writeStandardError("\rprepare: \(done)/\(total) images\u{1B}[K") }
        }
        for path in report.removedStale { print("prepare: removed \(path), left by a prepare that is no longer running") }
        for note in report.notes { print("prepare: note: \(note)") }
        let counts = report.written.map { "\($0.images) \($0.split)" }.joined(separator: ", ")
        print("prepare: wrote \(counts) images of \(size)×\(size), \(report.classes) classes, to \(out) in "
              + String(format: "%.1f s (%.0f images/s, %d job%@)", report.seconds, report.imagesPerSecond, o.jobs, o.jobs == 1 ? "" : "s"))
        if report.written.contains(where: { $0.split == "val" && $0.images > 0 }) == false {
            print("prepare: no validation images (no val/ folder, or none of its images readable): train will run without validation")
        }
        if report.skipped.isEmpty {
            print("prepare: no files skipped")
        } else {
            print("prepare: skipped \(report.skipped.count) file\(report.skipped.count == 1 ? "" : "s"):")
            for s in report.skipped { print("  \(s.file): \(s.reason)") }
        }
    }
}
