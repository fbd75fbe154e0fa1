import Foundation
import XCTest

/// The re-execution that gives OpenBLAS the right kernels when it detects a generic CPU.
/// This machine's OpenBLAS detects its CPU by itself, so the test makes the binary believe it
/// saw `Prescott` (ALEXNET_MP_TEST_DETECTED_CORE) and checks that the process really re-executed
/// and runs the kernels this CPU's flags call for, and that the first log line says so.
final class BLASKernelTests: XCTestCase {
    /// What this CPU should get, from its flags (written out here, not taken from the code under test).
    var expectedCore: String? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let f = Set(line.split(separator: " ").map(String.init))
        if f.isSuperset(of: ["avx512f", "avx512bw", "avx512vl"]) { return "SkylakeX" }
        if f.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return f.contains("avx") ? "SandyBridge" : nil
    }

    func testAGenericDetectionIsReplacedAndSaidInTheFirstLine() throws {
        guard let expected = expectedCore else { throw XCTSkip("this CPU has no AVX: no better OpenBLAS kernels to choose") }
        let out = Run.tempDir("reexec")
        let r = try Run.alexnet(["train", "--steps", "1", "--out", out, "--checkpoint-every", "0"],
                                env: ["ALEXNET_MP_TEST_DETECTED_CORE": "Prescott"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        let first = r.stdout.split(separator: "\n").first.map(String.init) ?? ""
        XCTAssertTrue(first.hasPrefix("alexnet-mp: OpenBLAS \(expected) kernels (chosen by alexnet-mp: OpenBLAS detected Prescott on this CPU; OPENBLAS_CORETYPE=\(expected))"), first)
        // run.yaml records the kernels the run used.
        let runYAML = try String(contentsOfFile: out + "/run.yaml", encoding: .utf8)
        XCTAssertTrue(runYAML.contains("blas_core: \(expected)"), runYAML)
    }

    func testTheUsersChoiceIsKept() throws {
        let out = Run.tempDir("coretype")
        let r = try Run.alexnet(["train", "--steps", "1", "--out", out, "--checkpoint-every", "0"],
                                env: ["ALEXNET_MP_TEST_DETECTED_CORE": "Prescott", "OPENBLAS_CORETYPE": "Haswell"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        let first = r.stdout.split(separator: "\n").first.map(String.init) ?? ""
        XCTAssertTrue(first.hasPrefix("alexnet-mp: OpenBLAS Haswell kernels, "), first)
    }
}
