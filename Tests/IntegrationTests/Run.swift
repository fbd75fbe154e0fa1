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

    struct Output { var status: Int32; var stdout: String; var stderr: String; var seconds: Double; var timedOut: Bool
        /// Seconds from the start to each signal sent, in order.
        var signalled: [Double] = [] }

    /// A signal to send while a process runs: once `when` holds (checked every 50 ms), to the
    /// process or, with `toGroup`, to its whole process group (as a terminal's Ctrl-C does).
    struct Signal {
        var signal: Int32
        var toGroup = false
        var when: () -> Bool
        /// Done instead of sending a signal when `signal` is 0.
        var instead: () -> Void = {}

        /// `body` (no signal) once `condition` holds.
        static func when(_ condition: @escaping () -> Bool, do body: @escaping () -> Void) -> Signal {
            Signal(signal: 0, when: condition, instead: body)
        }

        /// `signal` once `seconds` have passed since the start.
        static func after(_ seconds: Double, _ signal: Int32 = SIGTERM, toGroup: Bool = false) -> Signal {
            let t0 = Date()
            return Signal(signal: signal, toGroup: toGroup) { Date().timeIntervalSince(t0) > seconds }
        }

        /// `signal` once a run's steps.csv has `rows` rows.
        static func afterStep(_ rows: Int, of run: String, _ signal: Int32, toGroup: Bool = false) -> Signal {
            Signal(signal: signal, toGroup: toGroup) { ((try? Run.losses(run))?.count ?? 0) >= rows }
        }
    }

    /// Runs `args` (the binary's arguments) on `ranks` ranks (0: without mpirun), killing it after `timeout` s.
    /// `signalAfter`: send SIGTERM to the process (mpirun, or the binary) after that many seconds.
    static func alexnet(_ args: [String], ranks: Int = 0, env: [String: String] = [:], timeout: Double = 300,
                        signalAfter: Double? = nil, signals: [Signal] = []) throws -> Output {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw XCTSkip("no release binary at \(binary): run the tests with ./launch.sh test")
        }
        var argv = [binary] + args
        if ranks > 0 {
            argv = ["mpirun", "-np", String(ranks), "--oversubscribe"] + (getuid() == 0 ? ["--allow-run-as-root"] : []) + argv
        }
        return try command(argv, env: env, timeout: timeout, signals: signalAfter.map { [.after($0)] } ?? signals)
    }

    /// Runs `argv` (a path, or a program in /usr/bin, /bin, /usr/local/bin) in the package root.
    static func command(_ argv: [String], env: [String: String] = [:], timeout: Double = 300, signals: [Signal] = []) throws -> Output {
        let p = Process()
        // Started directly (not through env) so that a signal reaches mpirun or the binary itself.
        // Foundation starts it as the leader of a process group of its own (as a shell starts a
        // job): a signal to the group is what a terminal's Ctrl-C sends.
        let path = ["/usr/bin", "/bin", "/usr/local/bin"].map { $0 + "/" + argv[0] }.first { FileManager.default.isExecutableFile(atPath: $0) }
        p.executableURL = URL(fileURLWithPath: argv[0].hasPrefix("/") || argv[0].hasPrefix("./") ? argv[0] : (path ?? "/usr/bin/" + argv[0]))
        p.arguments = Array(argv.dropFirst())
        p.currentDirectoryURL = packageRoot
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        let outData = Box(), errData = Box()
        let readers = DispatchGroup()
        readers.enter(); DispatchQueue.global().async { outData.set(out.fileHandleForReading.readDataToEndOfFile()); readers.leave() }
        readers.enter(); DispatchQueue.global().async { errData.set(err.fileHandleForReading.readDataToEndOfFile()); readers.leave() }
        let t0 = Date()
        try p.run()
        var timedOut = false, pending = signals[...], sent: [Double] = []
        while p.isRunning {
            if let next = pending.first, next.when() {
                if next.signal == 0 { next.instead() } else { kill(next.toGroup ? -p.processIdentifier : p.processIdentifier, next.signal) }
                sent.append(Date().timeIntervalSince(t0))
                pending = pending.dropFirst()
            }
            if Date().timeIntervalSince(t0) > timeout {
                timedOut = true
                kill(-p.processIdentifier, SIGKILL)
                break
            }
            usleep(50_000)
        }
        p.waitUntilExit()
        readers.wait()
        return Output(status: p.terminationStatus, stdout: String(decoding: outData.get(), as: UTF8.self),
                      stderr: String(decoding: errData.get(), as: UTF8.self), seconds: Date().timeIntervalSince(t0),
                      timedOut: timedOut, signalled: sent)
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

    /// A small data set in IDX files, written once: 1024 training and 256 test images of 28×28
    /// (random pixels, labels i mod 10), so that runs that only check what is saved and resumed
    /// spend little time on data and validation.
    static let smallData: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("alexnet-mp-tests-\(getpid())-small-data").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var x: UInt32 = 12345
        func byte() -> UInt8 { x = x &* 1_664_525 &+ 1_013_904_223; return UInt8(x >> 24) }
        func idx(_ dims: [Int], _ data: [UInt8]) -> Data {
            var d = Data([0, 0, 8, UInt8(dims.count)])
            for v in dims { d += withUnsafeBytes(of: UInt32(v).bigEndian) { Data($0) } }
            return d + data
        }
        for (name, n) in [("train", 1024), ("t10k", 256)] {
            try? idx([n, 28, 28], (0..<(n * 784)).map { _ in byte() }).write(to: URL(fileURLWithPath: dir + "/\(name)-images-idx3-ubyte"))
            try? idx([n], (0..<n).map { UInt8($0 % 10) }).write(to: URL(fileURLWithPath: dir + "/\(name)-labels-idx1-ubyte"))
        }
        return dir
    }()

    /// The processes whose command line mentions `text` (e.g. a run directory): ranks left behind.
    static func processes(mentioning text: String) -> [Int32] {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { Int32($0) } ?? []
        return pids.filter { pid in
            guard pid != getpid(), let cmd = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  !stat.contains(") Z ") else { return false }
            return String(decoding: cmd, as: UTF8.self).contains(text)
        }
    }

    /// The `loss` column of a run's steps.csv.
    static func losses(_ runDir: String) throws -> [Double] {
        let text = try String(contentsOfFile: runDir + "/steps.csv", encoding: .utf8)
        return text.split(separator: "\n").dropFirst().map { Double($0.split(separator: ",")[2])! }
    }

    /// The tensors of a model shard (`group<g>.bin`): its bytes without the header, which names
    /// the run and the step (a resumed run and the run that never stopped have different ids),
    /// and without the checksum that covers the header. Nil when the file is missing.
    static func shardTensors(_ path: String) -> Data? {
        guard let d = FileManager.default.contents(atPath: path), d.count > 52, d.prefix(8) == Data("AXMPGRP2".utf8) else { return nil }
        return d.subdata(in: 48..<(d.count - 4))
    }
}
