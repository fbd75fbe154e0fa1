import AlexNetData
import Foundation
import XCTest

// Helpers of the data tests: IDX files written by hand, gzip through /usr/bin/gzip, a scratch
// directory per test, and a way to run a body that might trap in a child copy of the test process.

/// An IDX array of unsigned bytes: `00 00 08 D`, the D sizes big-endian, then `data`.
func idxBytes(_ shape: [Int], _ data: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0, 0, 0x08, UInt8(shape.count)]
    for d in shape { out += [UInt8((d >> 24) & 0xFF), UInt8((d >> 16) & 0xFF), UInt8((d >> 8) & 0xFF), UInt8(d & 0xFF)] }
    return out + data
}

@discardableResult
func writeFile(_ bytes: [UInt8], _ dir: String, _ name: String) throws -> String {
    let path = (dir as NSString).appendingPathComponent(name)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

/// `bytes` compressed by the system's gzip (`gzip -c -n`), so the reader is checked against a
/// real encoder rather than our own.
func gzipped(_ bytes: [UInt8]) throws -> [UInt8] {
    let gzip = Process()
    gzip.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
    gzip.arguments = ["-c", "-n", "-9"]
    let input = Pipe(), output = Pipe()
    gzip.standardInput = input
    gzip.standardOutput = output
    try gzip.run()
    // Write from another thread so neither pipe can fill up and block the other.
    let writer = Thread {
        input.fileHandleForWriting.write(Data(bytes))
        try? input.fileHandleForWriting.close()
    }
    writer.start()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    gzip.waitUntilExit()
    guard gzip.terminationStatus == 0 else { throw NSError(domain: "gzip failed", code: Int(gzip.terminationStatus)) }
    return [UInt8](out)
}

let isolatedEnvironmentKey = "ALEXNET_ISOLATED_TEST"

extension XCTestCase {
    /// Runs `body` in a child copy of this test process (the test binary re-run with a filter
    /// naming this one test), so a trap inside the code under test — an integer overflow, an
    /// index out of range — fails this test with the signal instead of ending the whole suite.
    /// In the child, `body` runs in-process and its assertions decide the exit status.
    func runIsolated(_ function: String = #function, file: StaticString = #filePath, line: UInt = #line,
                     _ body: () throws -> Void) rethrows {
        let method = function.hasSuffix("()") ? String(function.dropLast(2)) : function
        let testID = "\(String(reflecting: type(of: self)))/\(method)"
        if ProcessInfo.processInfo.environment[isolatedEnvironmentKey] == testID {
            try body()
            return
        }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        child.arguments = [testID]
        var env = ProcessInfo.processInfo.environment
        env[isolatedEnvironmentKey] = testID
        child.environment = env
        let output = Pipe()
        child.standardOutput = output
        child.standardError = output
        do { try child.run() } catch {
            XCTFail("cannot start the child test process: \(error)", file: file, line: line)
            return
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        let lines = text.split(separator: "\n")
        let tail = lines.suffix(12).joined(separator: "\n")
        if child.terminationReason == .uncaughtSignal {
            // The crash reason and the innermost frames in the package's own sources.
            let reason = lines.filter { $0.contains("Fatal error") || $0.contains("Program crashed") }.prefix(2)
            let frames = lines.filter { $0.contains("/Sources/") }.prefix(3)
            XCTFail("\(testID) crashed (signal \(child.terminationStatus)) instead of throwing:\n"
                    + (reason + frames).joined(separator: "\n"), file: file, line: line)
        } else if child.terminationStatus != 0 {
            XCTFail("\(testID) failed in the child process (exit \(child.terminationStatus)):\n\(tail)", file: file, line: line)
        } else if !text.contains("Executed 1 test") {
            XCTFail("\(testID): the child process ran no test; its output:\n\(tail)", file: file, line: line)
        }
    }
}

/// Every pixel of a (small) set, copied image by image through `imageBytes`: `[count][C][H][W]`.
func allPixels(_ set: ImageSet) -> [UInt8] { (0..<set.count).flatMap { Array(set.imageBytes($0)) } }
