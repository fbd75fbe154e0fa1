import CBLAS
import CDNNL
import CKernels
import Foundation

/// OpenBLAS, as this process runs it.
///
/// Debian's OpenBLAS 0.3.21 does not recognise recent AVX-512 CPUs and falls back to its
/// generic `Prescott` kernels (about 25 GFLOP/s per core where `SkylakeX` gives about 130).
/// The core type can only be chosen by `OPENBLAS_CORETYPE` before the library loads, so
/// `reexecWithBestKernelsIfNeeded()` — called first thing in `main`, before MPI starts — sets
/// it and re-executes the same binary (same PID, so `mpirun` does not notice).
public enum BLAS {
    public static var coreName: String { String(cString: openblas_get_corename()) }
    public static var config: String { String(cString: openblas_get_config()) }
    public static var threads: Int { Int(openblas_get_num_threads()) }
    /// Threads per group for OpenBLAS and for oneDNN's convolutions alike.
    public static func setThreads(_ n: Int) {
        openblas_set_num_threads(Int32(max(1, n)))
        axmp_dnnl_set_threads(Int32(max(1, n)))
    }

    /// The OpenBLAS core type that a CPU with these `/proc/cpuinfo` flags deserves, when OpenBLAS
    /// `detected` one of its generic or pre-AVX types; nil when the detected type is fine.
    public static func preferredCoreType(detected: String, flags: Set<String>) -> String? {
        let generic = ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "unknown", "katmai", "coppermine", "northwood", "banias"]
        guard generic.contains(detected.lowercased()) || detected.isEmpty else { return nil }
        if flags.contains("avx512f") && flags.contains("avx512bw") && flags.contains("avx512vl") { return "SkylakeX" }
        if flags.contains("avx2") && flags.contains("fma") { return "Haswell" }
        if flags.contains("avx") { return "SandyBridge" }
        return nil
    }

    /// This CPU's feature flags (the first `flags` line of /proc/cpuinfo; empty where there is none).
    public static var cpuFlags: Set<String> {
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        return Set(line.split(separator: " ").map(String.init))
    }

    /// The core type OpenBLAS detected by itself, when `reexecWithBestKernelsIfNeeded` replaced it.
    public static var replacedCoreType: String? { ProcessInfo.processInfo.environment["ALEXNET_MP_DETECTED_CORE"] }

    /// "OpenBLAS SkylakeX kernels", and why, for the first log line of every command that computes.
    public static var kernelsDescription: String {
        "OpenBLAS \(coreName) kernels" + (replacedCoreType.map {
            " (chosen by alexnet-mp: OpenBLAS detected \($0) on this CPU; OPENBLAS_CORETYPE=\(coreName))" } ?? "")
    }

    /// Re-executes this process with `OPENBLAS_CORETYPE` set when OpenBLAS picked generic
    /// kernels for a CPU that has better ones. Does nothing if the user set the variable,
    /// if `ALEXNET_MP_NO_REEXEC` is set, or after one re-execution. For the tests,
    /// `ALEXNET_MP_TEST_DETECTED_CORE` stands in for what OpenBLAS detected (this machine's
    /// OpenBLAS detects its CPU correctly, so the path would otherwise never run here).
    public static func reexecWithBestKernelsIfNeeded() {
        let env = ProcessInfo.processInfo.environment
        guard env["OPENBLAS_CORETYPE"] == nil, env["ALEXNET_MP_NO_REEXEC"] == nil else { return }
        let detected = env["ALEXNET_MP_TEST_DETECTED_CORE"] ?? coreName
        guard let better = preferredCoreType(detected: detected, flags: cpuFlags) else { return }
        setenv("OPENBLAS_CORETYPE", better, 1)
        setenv("ALEXNET_MP_NO_REEXEC", "1", 1)
        setenv("ALEXNET_MP_DETECTED_CORE", detected, 1)
        var args = CommandLine.arguments.map { strdup($0) }
        args.append(nil)
        execv("/proc/self/exe", &args)
        // execv only returns on failure: carry on with the generic kernels.
        unsetenv("OPENBLAS_CORETYPE"); unsetenv("ALEXNET_MP_DETECTED_CORE")
    }

    /// Runs `body` with OpenBLAS on `n` threads, then restores the threads it had.
    public static func withThreads<T>(_ n: Int, _ body: () throws -> T) rethrows -> T {
        let before = threads
        openblas_set_num_threads(Int32(max(1, n)))
        defer { openblas_set_num_threads(Int32(before)) }
        return try body()
    }

    /// Measures sgemm on an `n × n × n` product with the current threads; returns GFLOP/s.
    public static func measureSgemm(n: Int = 1024, repeats: Int = 3) -> Double {
        let a = Tensor("sgemm.a", [n, n]), b = Tensor("sgemm.b", [n, n]), c = Tensor("sgemm.c", [n, n])
        for i in 0..<(n * n) { a[i] = Float(i % 7) * 0.1; b[i] = Float(i % 5) * 0.1 }
        gemm(m: n, n: n, k: n, a: a.data, b: b.data, c: c.data)  // warm-up
        var best = Double.infinity
        for _ in 0..<repeats {
            let t = now()
            gemm(m: n, n: n, k: n, a: a.data, b: b.data, c: c.data)
            best = min(best, now() - t)
        }
        return 2 * Double(n * n * n) / best / 1e9
    }
}

/// The element-wise C kernels (LRN, ReLU, im2col/col2im, bias), as this CPU runs them.
public enum ElementwiseKernels {
    /// "AVX-512", "AVX2" or "baseline SSE2": the clone the loader picked by this CPU's features.
    public static var isa: String { String(cString: axmp_kernels_isa()) }
}
