import Foundation

/// Monotonic seconds, for timing steps and layers.
@inline(__always) public func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Peak resident set size of this process in bytes (VmHWM), or 0 where /proc is missing.
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

/// With libAllocCounter.so preloaded, prints every allocation's call stack while `on`.
public func traceHeapAllocations(_ on: Bool) { allocationTracer?(on ? 1 : 0) }

// Looked up once: dlsym itself allocates.
private let allocationCounter: (@convention(c) () -> Int)? =
    dlsym(UnsafeMutableRawPointer(bitPattern: 0), "alexnet_mp_allocations").map { unsafeBitCast($0, to: (@convention(c) () -> Int).self) }
private let allocationTracer: (@convention(c) (Int32) -> Void)? =
    dlsym(UnsafeMutableRawPointer(bitPattern: 0), "alexnet_mp_allocations_trace").map { unsafeBitCast($0, to: (@convention(c) (Int32) -> Void).self) }
