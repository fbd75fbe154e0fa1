import Foundation
import XCTest

/// Runs the release binary, alone or under mpirun, the way a user would. MPI stays out of the
/// XCTest process: these tests only start processes and read what they write.
enum Run {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The binary under test: $ALEXNET_MP_BIN, else .build/release/alexnet-mp (built by `./launch.sh test`).
    static var binary: String {
        ProcessInfo.processInfo.environment["ALEXNET_MP_BIN"] ?? packageRoot.appendingPathComponent(".build/release/alexnet-mp").path
    }

    struct Output { var status: Int32; var stdout: String; var stderr: String; var seconds: Double; var timedOut: Bool }

    /// Runs `args` (the binary's arguments) on `ranks` ranks (0: without mpirun), killing it after `timeout` s.
    static func alexnet(_ args: [String], ranks: Int = 0, env: [String: String] = [:], timeout: Double = 300) throws -> Output {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw XCTSkip("no release binary at \(binary): run the tests with ./launch.sh test")
        }
        var argv = [binary] + args
        if ranks > 0 {
            argv = ["mpirun", "-np", String(ranks), "--oversubscribe"] + (getuid() == 0 ? ["--allow-run-as-root"] : []) + argv
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        p.currentDirectoryURL = packageRoot
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        var outData = Data(), errData = Data()
        let group = DispatchGroup()
        group.enter(); DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter(); DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let t0 = Date()
        try p.run()
        var timedOut = false
        while p.isRunning {
            if Date().timeIntervalSince(t0) > timeout { timedOut = true; p.terminate(); kill(p.processIdentifier, SIGKILL); break }
            usleep(50_000)
        }
        p.waitUntilExit()
        group.wait()
        return Output(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self), seconds: Date().timeIntervalSince(t0), timedOut: timedOut)
    }

    static func tempDir(_ name: String) -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("alexnet-mp-tests-\(getpid())-\(name)").path
        try? FileManager.default.removeItem(atPath: d)
        return d
    }

    /// The `loss` column of a run's steps.csv.
    static func losses(_ runDir: String) throws -> [Double] {
        let text = try String(contentsOfFile: runDir + "/steps.csv", encoding: .utf8)
        return text.split(separator: "\n").dropFirst().map { Double($0.split(separator: ",")[2])! }
    }
}
