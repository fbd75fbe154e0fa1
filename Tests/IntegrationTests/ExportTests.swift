import Foundation
import XCTest

/// `export` writes PyTorch's layouts: an independent NumPy forward pass with PyTorch's semantics,
/// reading the file by hand, reproduces the logits `eval --logits` writes; `eval` of the
/// exported file equals `eval` of the run, on 1 rank and on 2.
final class ExportTests: XCTestCase {
    /// A short two-group run, exported, with the logits of `eval` of the run (computed once).
    static let prepared = prepare("configs/fashion-mnist.yaml", "export-run")
    /// The same for the one-group net (whose fc6 flattens without an exchange).
    static let preparedOneGroup = prepare("configs/fashion-mnist-onegroup.yaml", "export-run-onegroup")

    static func prepare(_ config: String, _ name: String) -> (run: String, model: String, logits: String, stdout: String)? {
        let run = Run.tempDir(name)
        let trained = try? Run.alexnet(["train", "--config", config, "--steps", "20",
                                        "--checkpoint-every", "0", "--out", run])
        guard trained?.status == 0 else { return nil }
        let model = run + "/model.safetensors", logits = run + "/run-logits.npy"
        guard (try? Run.alexnet(["export", run, "--out", model]))?.status == 0,
              let e = try? Run.alexnet(["eval", "--model", run, "--logits", logits]), e.status == 0 else { return nil }
        return (run, model, logits, e.stdout)
    }

    func prepared(oneGroup: Bool = false) throws -> (run: String, model: String, logits: String, stdout: String) {
        guard let p = oneGroup ? Self.preparedOneGroup : Self.prepared else {
            XCTFail("training, export or eval of the run failed"); throw XCTSkip("no run")
        }
        return p
    }

    func testEvalOfTheExportedFileEqualsEvalOfTheRunOnOneAndTwoRanks() throws {
        let p = try prepared()
        for ranks in [0, 2] {
            let out = p.run + "/st-logits-\(ranks).npy"
            let e = try Run.alexnet(["eval", "--model", p.model, "--logits", out], ranks: ranks)
            XCTAssertEqual(e.status, 0, e.stderr)
            XCTAssertEqual(FileManager.default.contents(atPath: out), FileManager.default.contents(atPath: p.logits),
                           "logits of the exported model on \(ranks) ranks differ from the run's")
            let errors = { (s: String) in s.split(separator: "\n").first { $0.contains("test images, top-1") }?.split(separator: ":").last }
            XCTAssertEqual(errors(e.stdout), errors(p.stdout), e.stdout)
        }
        // 10,000 test images × 10 classes of float32 after a 128-byte header.
        let size = (try FileManager.default.attributesOfItem(atPath: p.logits)[.size] as? Int) ?? 0
        XCTAssertEqual(size, 128 + 10_000 * 10 * 4)
    }

    func testAnIndependentNumPyForwardReproducesTheLogits() throws {
        try checkWithNumPy(try prepared())
    }

    func testAnIndependentNumPyForwardReproducesTheOneGroupLogits() throws {
        try checkWithNumPy(try prepared(oneGroup: true))
    }

    func checkWithNumPy(_ p: (run: String, model: String, logits: String, stdout: String)) throws {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        probe.arguments = ["-c", "import numpy"]
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { throw XCTSkip("no python3: ./launch.sh setup installs python3-numpy") }
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else { throw XCTSkip("no numpy: ./launch.sh setup installs python3-numpy") }

        let script = Run.packageRoot.appendingPathComponent("Tests/IntegrationTests/Fixtures/numpy_forward.py").path
        let py = Process()
        py.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        py.arguments = [script, p.model, "/usr/share/datasets/fashion-mnist", p.logits, "300"]
        let pipe = Pipe()
        py.standardOutput = pipe
        try py.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        py.waitUntilExit()
        XCTAssertEqual(py.terminationStatus, 0, text)
        func value(_ key: String) -> Double? {
            text.split(separator: "\n").first { $0.hasPrefix(key + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
        }
        let diff = try XCTUnwrap(value("max_abs_diff"), text), scale = try XCTUnwrap(value("max_abs_logit"), text)
        XCTAssertGreaterThan(scale, 0.1, "degenerate logits: \(text)")
        XCTAssertLessThan(diff, 1e-4 * max(1, scale), "the NumPy forward disagrees with eval's logits: \(text)")
        XCTAssertTrue(text.contains("argmax_agree 300/300"), text)
        XCTAssertTrue(text.contains("shape [10000, 10]"), text)
    }

    func testBadExportAndEvalInputsAreOneLineErrors() throws {
        let p = try prepared()
        let dir = Run.tempDir("export-bad")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // A truncated safetensors file, on 1 rank and on 2: one line naming it, no hang.
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: p.model))
        let cut = dir + "/cut.safetensors"
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cut))
        for ranks in [0, 2] {
            let e = try Run.alexnet(["eval", "--model", cut], ranks: ranks, timeout: 60)
            XCTAssertFalse(e.timedOut)
            XCTAssertNotEqual(e.status, 0)
            XCTAssertTrue(e.stderr.contains("\(cut): not a valid safetensors file: tensor"), e.stderr)
        }
        let cases: [([String], String)] = [
            (["export", dir, "--out", dir + "/x.safetensors"], "\(dir): not a run directory (no config.yaml)"),
            (["eval", "--model", dir], "\(dir): not a run directory (no config.yaml)"),
            (["eval", "--model", p.run, "--logits", dir + "/x.csv"], "--logits: \(dir)/x.csv must end in .npy."),
            (["eval", "--model", dir + "/missing.safetensors"], "\(dir)/missing.safetensors: no such file"),
        ]
        for (args, message) in cases {
            let e = try Run.alexnet(args, timeout: 60)
            XCTAssertNotEqual(e.status, 0, args.joined(separator: " "))
            XCTAssertTrue(e.stderr.contains(message), "\(args.joined(separator: " ")): \(e.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.safetensors"))
    }
}
