import Foundation
import XCTest

/// Buffers are sized once from the model: a training step allocates nothing of its own. Counted
/// by preloading libAllocCounter.so (which wraps malloc and its relatives) into `bench`. oneDNN's
/// convolutions allocate their argument list in every primitive call (6 small blocks, freed at
/// once; its C API has no other way), so the exact zero is checked with `ALEXNET_MP_CONV=im2col`
/// (ours, Open MPI's and OpenBLAS's), and with oneDNN the count must be the same every step.
final class AllocationTests: XCTestCase {
    var counter: String { Run.packageRoot.appendingPathComponent(".build/release/libAllocCounter.so").path }

    func allocationsLine(_ r: Run.Output) -> String {
        r.stdout.split(separator: "\n").first { $0.hasPrefix("heap allocations per step:") }.map(String.init) ?? ""
    }

    func testATrainingStepAllocatesNothingOnOneRank() throws {
        guard FileManager.default.fileExists(atPath: counter) else {
            throw XCTSkip("no \(counter): ./launch.sh setup builds it (swift build -c release --product AllocCounter)")
        }
        // Two groups on one rank run on two threads (the group workers), the path that used to allocate.
        let r = try Run.alexnet(["bench", "--config", "configs/fashion-mnist.yaml", "--steps", "3", "--batch", "32", "--threads", "2"],
                                env: ["LD_PRELOAD": counter, "ALEXNET_MP_CONV": "im2col"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(allocationsLine(r), "heap allocations per step: rank 0 0.0 (the whole process: ours, MPI's and BLAS's)", r.stdout)
    }

    /// With oneDNN's convolutions, every step allocates the same (its argument lists): the mean
    /// over 2 steps equals the mean over 5, and nothing grows.
    func testOneDNNAllocatesTheSameEveryStep() throws {
        guard FileManager.default.fileExists(atPath: counter) else {
            throw XCTSkip("no \(counter): ./launch.sh setup builds it (swift build -c release --product AllocCounter)")
        }
        var means: [String] = []
        for steps in ["2", "5"] {
            let r = try Run.alexnet(["bench", "--config", "configs/fashion-mnist.yaml", "--steps", steps, "--batch", "32", "--threads", "2"],
                                    env: ["LD_PRELOAD": counter], timeout: 120)
            XCTAssertEqual(r.status, 0, r.stderr)
            means.append(allocationsLine(r))
        }
        XCTAssertEqual(means[0], means[1])
        XCTAssertFalse(means[0].isEmpty)
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
                                ranks: 2, env: ["LD_PRELOAD": counter, "ALEXNET_MP_CONV": "im2col"], timeout: 180)
        XCTAssertEqual(r.status, 0, r.stderr)
        let line = allocationsLine(r)
        let counts = line.split(separator: ",").compactMap { part in
            part.split(separator: " ").last { Double($0) != nil }.flatMap { Double($0) }
        }
        XCTAssertEqual(counts.count, 2, line)
        for (rank, c) in counts.enumerated() { XCTAssertLessThan(c, 0.5, "rank \(rank): \(line)") }
    }

    func testWithoutTheCounterBenchSaysSo() throws {
        let r = try Run.alexnet(["bench", "--config", "configs/fashion-mnist.yaml", "--steps", "1", "--batch", "16"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(allocationsLine(r).contains("not counted (preload .build/release/libAllocCounter.so"), r.stdout)
    }
}
