import Foundation
import XCTest

/// Buffers are sized once from the model: a training step allocates nothing. Counted by
/// preloading libAllocCounter.so (which wraps malloc and its relatives) into `bench`. oneDNN's C
/// API allocates each primitive call's argument list (freed at once; it has no other way): the
/// oneDNN shim has the counter count those apart, so the exact zero covers everything else
/// (ours, Open MPI's, OpenBLAS's), with oneDNN's convolutions on and off.
final class AllocationTests: XCTestCase {
    var counter: String { Run.packageRoot.appendingPathComponent(".build/release/libAllocCounter.so").path }

    func allocationsLine(_ r: Run.Output) -> String {
        r.stdout.split(separator: "\n").first { $0.hasPrefix("heap allocations per step:") }.map(String.init) ?? ""
    }

    /// The counts of each rank: the whole process's, and oneDNN's apart.
    func counts(_ line: String) -> (all: [Double], oneDNN: [Double]) {
        let parts = line.split(separator: ";")
        func numbers(_ s: Substring?) -> [Double] {
            guard let s else { return [] }
            return s.split(separator: ",").compactMap { part in part.split(separator: " ").last { Double($0) != nil }.flatMap { Double($0) } }
        }
        return (numbers(parts.first.map { $0.split(separator: "(").first ?? $0 }), numbers(parts.count > 1 ? parts[1] : nil))
    }

    func testATrainingStepAllocatesNothingOnOneRank() throws {
        guard FileManager.default.fileExists(atPath: counter) else {
            throw XCTSkip("no \(counter): ./launch.sh setup builds it (swift build -c release --product AllocCounter)")
        }
        // Two groups on one rank run on two threads (the group workers), the path that used to allocate.
        for conv in ["auto", "im2col"] {
            let r = try Run.alexnet(["bench", "--config", "configs/fashion-mnist.yaml", "--steps", "3", "--batch", "32", "--threads", "2"],
                                    env: ["LD_PRELOAD": counter, "ALEXNET_MP_CONV": conv], timeout: 120)
            XCTAssertEqual(r.status, 0, r.stderr)
            let line = allocationsLine(r), (all, oneDNN) = counts(line)
            XCTAssertTrue(line.hasPrefix("heap allocations per step: rank 0 0.0 (the whole process: ours, MPI's and BLAS's)"), "\(conv): \(line)")
            XCTAssertEqual(all, [0], "\(conv): \(line)")
            // oneDNN's argument lists, counted apart: some with oneDNN, none without.
            XCTAssertEqual(oneDNN.count, 1, line)
            if conv == "auto" { XCTAssertGreaterThan(oneDNN.first ?? 0, 0, line) } else { XCTAssertEqual(oneDNN, [0], line) }
        }
    }

    /// On two ranks the exchanges' reduce-scatter is our own point-to-point one, into buffers
    /// sized once (Open MPI's `MPI_Reduce_scatter_block` allocated 8 blocks a step on rank 0).
    /// Open MPI may still allocate once in a run, when a message first arrives before its receive
    /// is posted (its buffer for unexpected fragments grows lazily and is then reused): so over
    /// 10 steps each rank must stay below 0.5 allocations a step, which any per-step allocation
    /// breaks.
    func testATrainingStepAllocatesNothingOnTwoRanks() throws {
        guard FileManager.default.fileExists(atPath: counter) else {
            throw XCTSkip("no \(counter): ./launch.sh setup builds it (swift build -c release --product AllocCounter)")
        }
        let r = try Run.alexnet(["bench", "--config", "configs/fashion-mnist.yaml", "--steps", "10", "--batch", "32"],
                                ranks: 2, env: ["LD_PRELOAD": counter], timeout: 180)
        XCTAssertEqual(r.status, 0, r.stderr)
        let line = allocationsLine(r), (all, _) = counts(line)
        XCTAssertEqual(all.count, 2, line)
        for (rank, c) in all.enumerated() { XCTAssertLessThan(c, 0.5, "rank \(rank): \(line)") }
    }

    /// oneDNN's own allocations are the same every step: the mean over 2 steps equals the mean over 5.
    func testOneDNNAllocatesTheSameEveryStep() throws {
        guard FileManager.default.fileExists(atPath: counter) else {
            throw XCTSkip("no \(counter): ./launch.sh setup builds it (swift build -c release --product AllocCounter)")
        }
        var means: [[Double]] = []
        for steps in ["2", "5"] {
            let r = try Run.alexnet(["bench", "--config", "configs/fashion-mnist.yaml", "--steps", steps, "--batch", "32", "--threads", "2"],
                                    env: ["LD_PRELOAD": counter], timeout: 120)
            XCTAssertEqual(r.status, 0, r.stderr)
            means.append(counts(allocationsLine(r)).oneDNN)
        }
        XCTAssertEqual(means[0], means[1])
        XCTAssertEqual(means[0].count, 1)
    }

    func testWithoutTheCounterBenchSaysSo() throws {
        let r = try Run.alexnet(["bench", "--config", "configs/fashion-mnist.yaml", "--steps", "1", "--batch", "16"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(allocationsLine(r).contains("not counted (preload .build/release/libAllocCounter.so"), r.stdout)
    }
}
