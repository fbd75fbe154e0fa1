import Foundation

/// Monotonic seconds, for timing steps and layers.
@inline(__always) public func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Peak resident set size of this process in bytes (VmHWM), or 0 where /proc is missing.
/// CPU seconds (user + system) this process has used so far, on all its threads. On a shared
/// machine it moves less than wall-clock time: time the process spent waiting for a core is
/// not in it.
public func processCPUSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6
}

public func peakResidentBytes() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return kb * 1024
    }
    return 0
}

/// Heap allocations so far in this process, when `libAllocCounter.so` is preloaded
/// (`LD_PRELOAD=.build/release/libAllocCounter.so`); nil otherwise.
public func heapAllocations() -> Int? { allocationCounter?() }

/// Of the heap allocations, those oneDNN's primitive calls made (counted apart, not in
/// `heapAllocations()`: its C API allocates each call's argument list), when the counter is preloaded.
public func oneDNNHeapAllocations() -> Int? { attributedCounter?() }

/// With libAllocCounter.so preloaded, prints every allocation's call stack while `on`.
public func traceHeapAllocations(_ on: Bool) { allocationTracer?(on ? 1 : 0) }

// Looked up once: dlsym itself allocates.
private let allocationCounter: (@convention(c) () -> Int)? =
    dlsym(UnsafeMutableRawPointer(bitPattern: 0), "alexnet_mp_allocations").map { unsafeBitCast($0, to: (@convention(c) () -> Int).self) }
private let attributedCounter: (@convention(c) () -> Int)? =
    dlsym(UnsafeMutableRawPointer(bitPattern: 0), "alexnet_mp_attributed_allocations").map { unsafeBitCast($0, to: (@convention(c) () -> Int).self) }
private let allocationTracer: (@convention(c) (Int32) -> Void)? =
    dlsym(UnsafeMutableRawPointer(bitPattern: 0), "alexnet_mp_allocations_trace").map { unsafeBitCast($0, to: (@convention(c) (Int32) -> Void).self) }
