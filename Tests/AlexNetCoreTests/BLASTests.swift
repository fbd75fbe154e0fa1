import AlexNetCore
import XCTest

/// Which OpenBLAS kernels a CPU deserves when OpenBLAS 0.3.21 falls back to generic ones.
final class BLASTests: XCTestCase {
    let avx512: Set<String> = ["sse2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq"]

    func testGenericDetectionOnAnAVX512CPUGetsSkylakeX() {
        XCTAssertEqual(BLAS.preferredCoreType(detected: "Prescott", flags: avx512), "SkylakeX")
        XCTAssertEqual(BLAS.preferredCoreType(detected: "NEHALEM", flags: avx512), "SkylakeX", "case does not matter")
        XCTAssertEqual(BLAS.preferredCoreType(detected: "", flags: avx512), "SkylakeX", "an empty name is no detection")
    }

    func testWeakerCPUsGetTheBestTheyHave() {
        XCTAssertEqual(BLAS.preferredCoreType(detected: "Prescott", flags: ["avx", "avx2", "fma", "avx512f"]), "Haswell",
                       "AVX-512 without BW and VL is not enough for the SkylakeX kernels")
        XCTAssertEqual(BLAS.preferredCoreType(detected: "Core2", flags: ["avx", "avx2"]), "SandyBridge", "AVX2 without FMA")
        XCTAssertNil(BLAS.preferredCoreType(detected: "Prescott", flags: ["sse2", "sse4_2"]), "nothing better to offer")
    }

    func testARealDetectionIsLeftAlone() {
        for name in ["Cooperlake", "SkylakeX", "Haswell", "Zen", "SapphireRapids"] {
            XCTAssertNil(BLAS.preferredCoreType(detected: name, flags: avx512), name)
        }
    }

    /// The element-wise kernels' clone must follow the CPU's features, not its model name:
    /// `arch=haswell` clones ran the SSE2 code on AMD Zen. Expected from /proc/cpuinfo here.
    func testElementwiseKernelsUseTheBestCloneThisCPUHas() throws {
        let flags = BLAS.cpuFlags
        guard !flags.isEmpty else { throw XCTSkip("no /proc/cpuinfo flags") }
        let expected = flags.contains("avx512f") ? "AVX-512" : flags.contains("avx2") ? "AVX2" : "baseline SSE2"
        XCTAssertEqual(ElementwiseKernels.isa, expected)
    }
}
