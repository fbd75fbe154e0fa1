import AlexNetCore
import Foundation
import XCTest

/// Property-based fuzzing of the binary parsers: a valid file is mutated (truncated, bits flipped,
/// bytes overwritten with extreme values, inserted, deleted, or replaced by random bytes) and the
/// parser must either throw the parser's error, one line that starts with the file's name, or
/// accept the input — never trap, hang or throw something else.
///
/// `ALEXNET_MP_FUZZ_ITERATIONS` (default 400) sets the mutations per target and
/// `ALEXNET_MP_FUZZ_SEED` (default 1) the seed; a failure prints the seed and iteration, and the
/// same pair reproduces it. A trap kills the test process: rerun with the printed seed and a
/// single iteration range to find the input (`ALEXNET_MP_FUZZ_START`).
public struct Fuzz {
    public static var iterations: Int { Int(ProcessInfo.processInfo.environment["ALEXNET_MP_FUZZ_ITERATIONS"] ?? "") ?? 400 }
    public static var seed: UInt64 { UInt64(ProcessInfo.processInfo.environment["ALEXNET_MP_FUZZ_SEED"] ?? "") ?? 1 }
    public static var start: Int { Int(ProcessInfo.processInfo.environment["ALEXNET_MP_FUZZ_START"] ?? "") ?? 0 }

    /// One mutation of `valid`; `focus` bytes at the start (a header) get half of the edits.
    public static func mutate(_ valid: [UInt8], iteration: Int, target: UInt64, focus: Int = 0) -> [UInt8] {
        var r = RandomStream(seed: seed, .test, Int(truncatingIfNeeded: target), iteration)
        var b = valid
        func position() -> Int {
            guard !b.isEmpty else { return 0 }
            return focus > 0 && r.uniform() < 0.5 ? r.below(min(focus, b.count)) : r.below(b.count)
        }
        let extremes: [UInt8] = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0x30, 0x39, 0x2D, 0x22, 0x5D, 0x7D]
        for _ in 0..<(1 + r.below(4)) {
            switch r.below(7) {
            case 0: b = Array(b.prefix(r.below(b.count + 1)))
            case 1: if !b.isEmpty { let p = position(); b[p] ^= UInt8(1 << r.below(8)) }
            case 2: if !b.isEmpty { let p = position(); b[p] = extremes[r.below(extremes.count)] }
            case 3: let p = position(); b.insert(UInt8(truncatingIfNeeded: r.next()), at: min(p, b.count))
            case 4: if !b.isEmpty { b.remove(at: position()) }
            case 5: if !b.isEmpty { let p = position(); for i in p..<min(b.count, p + 8) { b[i] = 0xFF } }
            default: b = (0..<r.below(2 * valid.count + 1)).map { _ in UInt8(truncatingIfNeeded: r.next()) }
            }
        }
        return b
    }

    /// Runs `parse` on `iterations` mutations of `valid`; returns how many were accepted.
    @discardableResult
    public static func run<E: Error & CustomStringConvertible>(
        _ name: String, valid: [UInt8], focus: Int = 0, error: E.Type,
        file: StaticString = #filePath, line: UInt = #line, _ parse: ([UInt8], String) throws -> Void
    ) -> Int {
        var accepted = 0
        let target = UInt64(name.utf8.reduce(5381) { ($0 &* 33) &+ Int($1) } & 0x7FFF_FFFF)
        for i in start..<(start + iterations) {
            let input = mutate(valid, iteration: i, target: target, focus: focus)
            let label = "\(name)-\(i)"
            do {
                try parse(input, label)
                accepted += 1
            } catch let e as E {
                let m = e.description
                if !m.hasPrefix(label + ": ") || m.contains("\n") {
                    XCTFail("\(name) seed \(seed) iteration \(i): not a one-line error naming the file: \(m)", file: file, line: line)
                }
            } catch {
                XCTFail("\(name) seed \(seed) iteration \(i): \(type(of: error)) instead of \(E.self): \(error)", file: file, line: line)
            }
        }
        return accepted
    }
}
