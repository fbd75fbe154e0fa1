import _TestSupport
import AlexNetCore
import AlexNetTraining
import Foundation
import XCTest

/// Configs a hostile or careless user could write: every one is refused in one line that names
/// the file and the key, before any work; none crashes, none is quietly resolved.
final class HostileConfigTests: XCTestCase {
    func text() throws -> String { try String(contentsOfFile: configPath("fashion-mnist"), encoding: .utf8) }

    func modified(_ old: String, _ new: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let t = try text()
        XCTAssertTrue(t.contains(old), "configs/fashion-mnist.yaml no longer contains \"\(old)\"", file: file, line: line)
        return t.replacingOccurrences(of: old, with: new)
    }

    func assertRefused(_ text: String, _ mentions: String..., file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try RunConfig.parse(text, file: "h.yaml")
            XCTFail("accepted, expected a refusal mentioning \(mentions)", file: file, line: line)
        } catch let e as ConfigError {
            let m = e.description
            XCTAssertTrue(m.hasPrefix("config h.yaml: "), m, file: file, line: line)
            XCTAssertFalse(m.contains("\n"), "not one line: \(m)", file: file, line: line)
            for w in mentions { XCTAssertTrue(m.contains(w), "does not mention \"\(w)\": \(m)", file: file, line: line) }
        } catch {
            XCTFail("\(type(of: error)): \(error)", file: file, line: line)
        }
    }

    /// Ten kilobytes of nesting overflowed Yams's recursive parser (SIGSEGV): bounded first.
    func testDeepNestingIsRefusedNotACrash() throws {
        assertRefused(String(repeating: "[", count: 10_000), "nested more than 32 levels")
        assertRefused(String(repeating: "{a: ", count: 2_500) + "1" + String(repeating: "}", count: 2_500), "nested")
        assertRefused(String(repeating: "- ", count: 5_000) + "x\n", "nested")
        var block = ""
        for i in 0..<100 { block += String(repeating: " ", count: i) + "a:\n" }
        assertRefused(block, "nested")
        // Inside a valid config, too.
        assertRefused(try modified("  seed: 1\n", "  seed: " + String(repeating: "[", count: 5_000) + "\n"), "nested")
        // Anchors and aliases (a "billion laughs" expands exponentially).
        assertRefused("a: &x [1, 2]\nb: [*x, *x, *x]\n", "anchors and aliases")
    }

    func testDuplicateKeysAreRefusedNamingBothLines() throws {
        let t = try modified("  batch: 128\n", "  batch: 128\n  batch: 32\n")
        let lines = t.split(separator: "\n", omittingEmptySubsequences: false)
        let first = lines.firstIndex { $0 == "  batch: 128" }! + 1
        assertRefused(t, "train.batch: given twice", "lines \(first) and \(first + 1)")
        assertRefused(try text() + "train:\n  batch: 32\n", "train: given twice")
        assertRefused(try modified("{name: conv1, type: conv,", "{name: conv1, name: conv0, type: conv,"), "model.layers[0].name: given twice")
    }

    /// Every numeric key is range-checked, non-finite values first, and the error names the key.
    func testNonFiniteAndAbsurdNumbersNameTheirKey() throws {
        let cases: [(String, String, String)] = [
            ("lrn: {k: 2, n: 5, alpha: 1.0e-4, beta: 0.75}", "lrn: {k: .inf, n: 5, alpha: 1.0e-4, beta: 0.75}", "model.lrn.k"),
            ("lrn: {k: 2, n: 5, alpha: 1.0e-4, beta: 0.75}", "lrn: {k: 2, n: 5, alpha: 1.0e-4, beta: .nan}", "model.lrn.beta"),
            ("lrn: {k: 2, n: 5, alpha: 1.0e-4, beta: 0.75}", "lrn: {k: 2, n: 5, alpha: 1.0e-4, beta: 100}", "model.lrn.beta"),
            ("lrn: {k: 2, n: 5, alpha: 1.0e-4, beta: 0.75}", "lrn: {k: 2, n: 5, alpha: -1, beta: 0.75}", "model.lrn.alpha"),
            ("lrn: {k: 2, n: 5, alpha: 1.0e-4, beta: 0.75}", "lrn: {k: 2, n: 4, alpha: 1.0e-4, beta: 0.75}", "model.lrn.n"),
            ("sees: own, bias: 1}\n    - {name: conv5", "sees: own, bias: .nan}\n    - {name: conv5", "(conv4).bias"),
            ("weight_decay: 0.0005", "weight_decay: .inf", "train.weight_decay"),
            ("weight_decay: 0.0005", "weight_decay: 1.0e9", "train.weight_decay"),
            ("lr: 0.01", "lr: .nan", "train.lr"),
            ("momentum: 0.9", "momentum: -.inf", "train.momentum"),
            ("scale: 0.00392156862745098", "scale: .inf", "data.scale"),
            ("scale: 0.00392156862745098", "scale: 1.0e30", "data.scale"),
            ("factor: 0.1", "factor: 5", "train.schedule.factor"),
            ("batch: 128", "batch: 100000000000", "train.batch"),
            ("epochs: 30", "epochs: -3", "train.epochs"),
            ("kernels: 64,", "kernels: 4611686018427387904,", "(conv1).kernels"),
            ("input: {channels: 1, height: 24, width: 24}", "input: {channels: 1, height: 9223372036854775807, width: 24}", "model.input.height"),
            ("dropout: 0.5, bias: 1}\n    - {name: fc7", "dropout: .nan, bias: 1}\n    - {name: fc7", "(fc6).dropout"),
        ]
        for (old, new, key) in cases { assertRefused(try modified(old, new), key) }
        let device = try text() + "device:\n  link_latency_us: .inf\n"
        assertRefused(device, "device.link_latency_us")
        assertRefused(try text() + "device:\n  peak_tflops: .nan\n", "device.peak_tflops")
    }

    /// The name becomes a directory name: no path, no newline, no control characters.
    func testNamesThatAreNotDirectoryNamesAreRefused() throws {
        for bad in ["../../escape", "a/b", ".hidden", "x\\ny", "", String(repeating: "n", count: 65)] {
            let line = bad.contains("\\") ? "name: \"\(bad)\"\n" : "name: '\(bad)'\n"
            assertRefused(try modified("name: fashion-mnist\n", line), "name:")
        }
    }

    func testEmptyAndNonMappingConfigsSayWhatIsWrong() throws {
        assertRefused("", "is empty")
        assertRefused("# only a comment\n", "is empty")
        assertRefused("42\n", "is not a mapping of sections")
        assertRefused("- a\n- b\n", "is not a mapping of sections")
        let dir = try makeScratchDirectory(self)
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/empty.yaml", contents: Data()))
        XCTAssertThrowsError(try RunConfig.load(dir + "/empty.yaml")) { XCTAssertEqual("\($0)", "config \(dir)/empty.yaml: is empty") }
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/latin1.yaml", contents: Data([0x6E, 0x61, 0x6D, 0x65, 0x3A, 0x20, 0xE9, 0x0A])))
        XCTAssertThrowsError(try RunConfig.load(dir + "/latin1.yaml")) { XCTAssertEqual("\($0)", "config \(dir)/latin1.yaml: is not UTF-8 text") }
        XCTAssertThrowsError(try RunConfig.load(dir)) { XCTAssertEqual("\($0)", "config \(dir): is a directory") }
        XCTAssertEqual(mkfifo(dir + "/fifo.yaml", 0o644), 0)
        XCTAssertThrowsError(try RunConfig.load(dir + "/fifo.yaml")) { XCTAssertTrue("\($0)".contains("is a FIFO"), "\($0)") }
        try FileManager.default.createSymbolicLink(atPath: dir + "/loop.yaml", withDestinationPath: dir + "/loop.yaml")
        XCTAssertThrowsError(try RunConfig.load(dir + "/loop.yaml")) { XCTAssertTrue("\($0)".contains("too many levels of symbolic links"), "\($0)") }
    }

    /// The fuzz target of the config parser: mutated configs (bytes flipped, cut, inserted,
    /// replaced; and runs of `[`, `{`, `- ` and indentation spliced in, the shapes that overflowed
    /// the parser) are refused in one line naming the file, or accepted; never a crash.
    /// `ALEXNET_MP_FUZZ_ITERATIONS` sets how many (README, Development).
    func testFuzzedConfigsOnlyEverThrowOneLineErrors() throws {
        struct Refused: Error, CustomStringConvertible { let description: String }
        let valid = Array(try text().utf8)
        let nests: [[UInt8]] = [Array("[".utf8), Array("{a: ".utf8), Array("- ".utf8), Array("\n  a:".utf8), Array("&x ".utf8)]
        let accepted = Fuzz.run("config", valid: valid, error: Refused.self) { b, name in
            var bytes = b
            // Every fourth input also gets a run of nesting at a random place.
            let h = name.utf8.reduce(UInt64(5381)) { ($0 &* 33) &+ UInt64($1) }
            if h % 4 == 0 {
                let nest = nests[Int(h / 4 % UInt64(nests.count))], n = Int(h / 16 % 3000)
                let at = bytes.isEmpty ? 0 : Int(h / 64 % UInt64(bytes.count))
                bytes.insert(contentsOf: Array(repeating: nest, count: n).joined(), at: at)
            }
            do { _ = try RunConfig.parse(String(decoding: bytes, as: UTF8.self), file: name) } catch let e as ConfigError {
                // RunConfig says "config <file>: …"; Fuzz checks that the line starts with the file.
                throw Refused(description: e.description.hasPrefix("config ") ? String(e.description.dropFirst(7)) : e.description)
            }
        }
        XCTAssertLessThan(accepted, Fuzz.iterations, "every mutation was accepted: the fuzzing does not reach the checks")
    }
}
