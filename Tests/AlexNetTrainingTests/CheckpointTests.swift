import AlexNetFormats
import _TestSupport
import AlexNetCore
import AlexNetLayers
import AlexNetParallel
@testable import AlexNetTraining
import Foundation
import XCTest

/// Checkpoint names, `latest`, its fallback and the removal of old checkpoints, on one in-process
/// rank. (The crashes at each point of the write sequence are in IntegrationTests'
/// `CheckpointCrashTests`: a crash needs a process of its own.)
final class CheckpointTests: XCTestCase {
    func state(_ net: Network, step: Int, epochs: Int = 0) -> TrainerState {
        var s = TrainerState(schedule: Schedule(ScheduleConfig(), initial: 0.01), groups: net.spec.groups,
                             fingerprint: ModelFile.fingerprint(net.spec), runID: "00000000000000a1")
        s.globalStep = step; s.stepInEpoch = step; s.epochSteps = step
        for e in 0..<epochs {
            s.history.append(EpochMetrics(epoch: e + 1, steps: step, loss: 1, trainErrorTop1: 0.5, trainErrorTop5: 0.1,
                                          validationErrorTop1: 0.5, validationErrorTop5: 0.1, learningRate: 0.01,
                                          imagesPerSecond: 1, seconds: 1))
        }
        s.epoch = epochs + 1
        return s
    }

    func entries(_ run: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: run + "/checkpoints")) ?? []).sorted()
    }

    func latestName(_ run: String) throws -> String {
        try String(contentsOfFile: run + "/checkpoints/latest", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testNamesParseBackAndOtherNamesAreIgnored() {
        XCTAssertEqual(Checkpoint.name(20), "step-00000020")
        XCTAssertEqual(Checkpoint.name(20, 3), "step-00000020-3")
        XCTAssertTrue(Checkpoint.parse("step-00000020-3.tmp")! == (20, 3, true))
        XCTAssertTrue(Checkpoint.parse("step-123456789")! == (123_456_789, 1, false))
        for bad in ["latest", "latest.tmp.12", "step-20", "step-00000020-1", "step-00000020-", "step-0000002x", "step-+0000020", "step-00000020-2-2", "step-"] {
            XCTAssertNil(Checkpoint.parse(bad), bad)
        }
    }

    /// A second checkpoint of the same step (a stop right after a cadence checkpoint; the end of an
    /// epoch after a resume, with one more metrics row) goes to a new name: the one `latest` named
    /// stays whole until `latest` names the new one.
    func testASecondCheckpointOfTheSameStepGetsANewName() throws {
        let net = try oneRankNetwork(tinySpec(), seed: 4)
        let run = try makeScratchDirectory(self)
        try Checkpoint.write(net, state: state(net, step: 7), run: run)
        XCTAssertEqual(try latestName(run), "step-00000007")
        let after = state(net, step: 7, epochs: 1)
        try Checkpoint.write(net, state: after, run: run)
        XCTAssertEqual(try latestName(run), "step-00000007-2")
        XCTAssertEqual(entries(run), ["latest", "step-00000007", "step-00000007-2"])
        XCTAssertEqual(try Checkpoint.read(net, from: try XCTUnwrap(Checkpoint.latest(run))), after)
        // The newest two are kept, in the order they were written.
        try Checkpoint.write(net, state: state(net, step: 8, epochs: 1), run: run)
        XCTAssertEqual(entries(run), ["latest", "step-00000007-2", "step-00000008"])
        try Checkpoint.write(net, state: state(net, step: 8, epochs: 1), run: run, keep: 1)
        XCTAssertEqual(entries(run), ["latest", "step-00000008-2"])
    }

    func testLatestFallsBackToTheNewestCompleteCheckpoint() throws {
        let net = try oneRankNetwork(tinySpec(), seed: 4)
        let run = try makeScratchDirectory(self)
        XCTAssertNil(Checkpoint.latest(run), "no checkpoints directory")
        try Checkpoint.write(net, state: state(net, step: 5), run: run)
        try Checkpoint.write(net, state: state(net, step: 9), run: run)
        let root = run + "/checkpoints"
        var warnings: [String] = []
        func latest() -> String? { Checkpoint.latest(run) { warnings.append($0) } }

        XCTAssertEqual(latest(), root + "/step-00000009")
        XCTAssertEqual(warnings, [])
        // `latest` names an older complete one: that is the one (it was the newest when named).
        try "step-00000005\n".write(toFile: root + "/latest", atomically: true, encoding: .utf8)
        XCTAssertEqual(latest(), root + "/step-00000005")
        XCTAssertEqual(warnings, [])
        try FileManager.default.removeItem(atPath: root + "/latest")
        XCTAssertEqual(latest(), root + "/step-00000009")
        XCTAssertEqual(warnings.last, "\(root)/latest is missing: using the newest complete checkpoint, step-00000009")
        for bad in ["step-00000012", "step-00000009.tmp", "../../etc", "", "garbage\u{0}"] {
            try (bad + "\n").write(toFile: root + "/latest", atomically: true, encoding: .utf8)
            XCTAssertEqual(latest(), root + "/step-00000009", bad)
            XCTAssertTrue(warnings.last?.hasSuffix("which is not a complete checkpoint: using the newest complete one, step-00000009") ?? false, warnings.last ?? "")
        }
        // Neither a directory without state.json nor a .tmp one is complete, whatever its step.
        try FileManager.default.createDirectory(atPath: root + "/step-00000030", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/step-00000040.tmp", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: root + "/step-00000009/state.json", toPath: root + "/step-00000040.tmp/state.json")
        XCTAssertEqual(latest(), root + "/step-00000009")
        try FileManager.default.removeItem(atPath: root + "/step-00000009/state.json")
        XCTAssertEqual(latest(), root + "/step-00000005")
        try FileManager.default.removeItem(atPath: root + "/step-00000005/state.json")
        XCTAssertNil(latest())
    }

    /// What crashed writes and removals left (a .tmp directory, a checkpoint without state.json)
    /// goes at the next checkpoint, and never a name that was used before is used again.
    func testLeftoversAreRemovedAndTheirNamesNotReused() throws {
        let net = try oneRankNetwork(tinySpec(), seed: 4)
        let run = try makeScratchDirectory(self)
        let root = run + "/checkpoints"
        for leftover in ["step-00000003.tmp", "step-00000002", "step-00000004.tmp", "step-00000004-2.tmp"] {
            try FileManager.default.createDirectory(atPath: root + "/" + leftover, withIntermediateDirectories: true)
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: root + "/" + leftover + "/group0.bin"))
        }
        try Checkpoint.write(net, state: state(net, step: 4), run: run)
        XCTAssertEqual(try latestName(run), "step-00000004-3")
        XCTAssertEqual(entries(run), ["latest", "step-00000004-3"])
    }

    /// A row appended to a full disk is an error naming the file (Foundation's FileHandle.write
    /// traps there); /dev/full refuses every write with ENOSPC.
    func testAnAppendToAFullDiskIsAnErrorNamingTheFile() throws {
        let full = try AppendFile("/dev/full")
        XCTAssertThrowsError(try full.append("1,2,3\n")) { error in
            XCTAssertTrue("\(error)".hasPrefix("/dev/full: the disk is full: a row of 6 bytes could not be appended"), "\(error)")
        }
        let run = try makeScratchDirectory(self)
        try writeAtomically("a\n", to: run + "/rows.csv")
        let rows = try AppendFile(run + "/rows.csv")
        try rows.append("b\n"); try rows.append("c\n")
        XCTAssertEqual(try String(contentsOfFile: run + "/rows.csv", encoding: .utf8), "a\nb\nc\n")
        XCTAssertThrowsError(try AppendFile(run + "/none.csv")) { XCTAssertTrue("\($0)".hasPrefix(run + "/none.csv: cannot be opened"), "\($0)") }
    }
}


/// A checkpoint's state.json: every truncation and every fuzzed mutation is refused with one
/// line naming the file, or read as a possible state.
final class CheckpointStateTests: XCTestCase {
    func testDamagedStateFilesAreRefusedNamingTheFile() throws {
        let net = try oneRankNetwork(tinySpec(), seed: 4)
        let run = try makeScratchDirectory(self)
        var state = TrainerState(schedule: Schedule(ScheduleConfig(), initial: 0.01), groups: 2, fingerprint: ModelFile.fingerprint(net.spec), runID: nil)
        state.globalStep = 7; state.stepInEpoch = 7; state.epochSteps = 7
        try Checkpoint.write(net, state: state, run: run)
        let dir = try XCTUnwrap(Checkpoint.latest(run))
        XCTAssertEqual(try Checkpoint.read(net, from: dir), state)
        let path = dir + "/state.json"
        let valid = [UInt8](FileManager.default.contents(atPath: path)!)
        func check(_ bytes: [UInt8], _ what: String) {
            _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
            do {
                let s = try Checkpoint.read(net, from: dir)
                XCTAssertGreaterThanOrEqual(s.globalStep, 0, what); XCTAssertGreaterThanOrEqual(s.epoch, 1, what)
            } catch let e as TrainingError {
                XCTAssertTrue(e.description.hasPrefix(path + ": "), "\(what): \(e)")
                XCTAssertFalse(e.description.contains("\n"), "\(what): \(e)")
            } catch { XCTFail("\(what): \(type(of: error)) \(error)") }
        }
        for n in stride(from: 0, to: valid.count, by: 7) { check(Array(valid.prefix(n)), "prefix \(n)") }
        for i in 0..<Fuzz.iterations { check(Fuzz.mutate(valid, iteration: i, target: 99), "mutation \(i)") }
        check(Array(String(decoding: valid, as: UTF8.self).replacingOccurrences(of: "\"globalStep\" : 7", with: "\"globalStep\" : -3").utf8), "negative step")
        XCTAssertThrowsError(try Checkpoint.read(net, from: dir))
    }
}

/// A state.json that a run could not have written, and shards that do not belong to the
/// checkpoint, are refused in one line naming the file, instead of being resumed as if valid.
final class CheckpointBindingTests: XCTestCase {
    func checkpoint(_ net: Network, run: String, id: String, step: Int = 7) throws -> String {
        var s = TrainerState(schedule: Schedule(ScheduleConfig(), initial: 0.01), groups: 2, fingerprint: ModelFile.fingerprint(net.spec), runID: id)
        s.globalStep = step; s.stepInEpoch = step; s.epochSteps = step
        try Checkpoint.write(net, state: s, run: run)
        return try XCTUnwrap(Checkpoint.latest(run))
    }

    func assertRefused(_ net: Network, _ dir: String, _ file: String, mentions: String, line: UInt = #line) {
        XCTAssertThrowsError(try Checkpoint.read(net, from: dir), line: line) { e in
            let m = "\(e)"
            XCTAssertTrue(m.hasPrefix(dir + "/" + file + ": "), m, line: line)
            XCTAssertTrue(m.contains(mentions), m, line: line)
            XCTAssertFalse(m.contains("\n"), m, line: line)
        }
    }

    func testImpossibleStatesAreRefused() throws {
        let net = try oneRankNetwork(tinySpec(), seed: 4)
        let run = try makeScratchDirectory(self)
        let dir = try checkpoint(net, run: run, id: "00000000000000aa")
        let path = dir + "/state.json"
        let valid = try String(contentsOfFile: path, encoding: .utf8)
        func edit(_ old: String, _ new: String) throws {
            XCTAssertTrue(valid.contains(old), "state.json no longer contains \(old)")
            try valid.replacingOccurrences(of: old, with: new).write(toFile: path, atomically: true, encoding: .utf8)
        }
        let cases = [("\"learningRate\" : 0.01", "\"learningRate\" : -0.01", "learning rate -0.01"),
                     ("\"learningRate\" : 0.01", "\"learningRate\" : \"nan\"", "learning rate nan"),
                     ("\"factor\" : 0.1", "\"factor\" : 5", "train.schedule.factor"),
                     ("\"globalStep\" : 7", "\"globalStep\" : 999", "its directory is step-00000007"),
                     ("\"epochErrorsTop1\" : 0", "\"epochErrorsTop1\" : 100000", "impossible"),
                     ("{", "[", "is not JSON"),
                     ("\"epoch\" : 1,", "", "is not a checkpoint state: epoch: missing key")]
        for (old, new, says) in cases {
            try edit(old, new)
            assertRefused(net, dir, "state.json", mentions: says)
        }
        try valid.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertNoThrow(try Checkpoint.read(net, from: dir))
    }

    /// A group's shard copied in from another run (another seed) or another step of this run
    /// would mix two half-models: refused, naming the shard.
    func testAShardOfAnotherRunOrStepIsRefused() throws {
        let net = try oneRankNetwork(tinySpec(), seed: 4)
        let mine = try makeScratchDirectory(self), other = try makeScratchDirectory(self)
        let dir = try checkpoint(net, run: mine, id: "00000000000000aa", step: 7)
        let foreign = try checkpoint(net, run: other, id: "00000000000000bb", step: 7)
        try FileManager.default.removeItem(atPath: dir + "/group1.bin")
        try FileManager.default.copyItem(atPath: foreign + "/group1.bin", toPath: dir + "/group1.bin")
        assertRefused(net, dir, "group1.bin", mentions: "run 00000000000000bb, step 7")
        let later = try checkpoint(net, run: mine, id: "00000000000000aa", step: 8)
        try FileManager.default.removeItem(atPath: dir + "/group1.bin")
        try FileManager.default.copyItem(atPath: later + "/group1.bin", toPath: dir + "/group1.bin")
        assertRefused(net, dir, "group1.bin", mentions: "step 8")
    }
}
