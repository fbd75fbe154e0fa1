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
    /// `signalAfter`: send SIGTERM to the process (mpirun, or the binary) after that many seconds.
    static func alexnet(_ args: [String], ranks: Int = 0, env: [String: String] = [:], timeout: Double = 300,
                        signalAfter: Double? = nil) throws -> Output {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw XCTSkip("no release binary at \(binary): run the tests with ./launch.sh test")
        }
        var argv = [binary] + args
        if ranks > 0 {
            argv = ["mpirun", "-np", String(ranks), "--oversubscribe"] + (getuid() == 0 ? ["--allow-run-as-root"] : []) + argv
        }
        let p = Process()
        // Started directly (not through env) so that a signal reaches mpirun or the binary itself.
        let path = ["/usr/bin", "/bin", "/usr/local/bin"].map { $0 + "/" + argv[0] }.first { FileManager.default.isExecutableFile(atPath: $0) }
        p.executableURL = URL(fileURLWithPath: argv[0].hasPrefix("/") ? argv[0] : (path ?? "/usr/bin/" + argv[0]))
        p.arguments = Array(argv.dropFirst())
        p.currentDirectoryURL = packageRoot
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        let outData = Box(), errData = Box()
        let group = DispatchGroup()
        group.enter(); DispatchQueue.global().async { outData.set(out.fileHandleForReading.readDataToEndOfFile()); group.leave() }
        group.enter(); DispatchQueue.global().async { errData.set(err.fileHandleForReading.readDataToEndOfFile()); group.leave() }
        let t0 = Date()
        try p.run()
        var timedOut = false, signalled = false
        while p.isRunning {
            if let s = signalAfter, !signalled, Date().timeIntervalSince(t0) > s { kill(p.processIdentifier, SIGTERM); signalled = true }
            if Date().timeIntervalSince(t0) > timeout { timedOut = true; p.terminate(); kill(p.processIdentifier, SIGKILL); break }
            usleep(50_000)
        }
        p.waitUntilExit()
        group.wait()
        return Output(status: p.terminationStatus, stdout: String(decoding: outData.get(), as: UTF8.self),
                      stderr: String(decoding: errData.get(), as: UTF8.self), seconds: Date().timeIntervalSince(t0), timedOut: timedOut)
    }

    /// A pipe's bytes, handed from its reader thread.
    final class Box: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
        func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
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
