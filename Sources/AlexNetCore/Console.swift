import AlexNetCore
import Foundation

/// What the user sees: rank 0 prints progress and results; other ranks print only errors.
/// On a terminal, progress is one line rewritten in place; otherwise plain lines.
public final class Console {
    public let rank: Int
    public let isTerminal: Bool
    private var progressShown = false
    private var lastPlain = 0.0

    public init(rank: Int) {
        self.rank = rank
        isTerminal = Console.outputIsTerminal()
    }

    /// Whether what this process prints reaches a terminal. Under mpirun a rank's standard
    /// output is a pseudo-terminal even when mpirun's own goes to a file (Open MPI forwards it),
    /// so a rank asks what mpirun's standard output is. It walks up from its parent, since a
    /// wrapper script may stand between (`mpirun -np 2 ./wrap.sh alexnet-mp …`), to the first
    /// `mpirun`/`mpiexec`/`orterun`/`prterun`; where there is none (a rank started by a remote
    /// daemon) or it cannot be read, the rank's own answer stands.
    static func outputIsTerminal() -> Bool {
        guard isatty(STDOUT_FILENO) != 0 else { return false }
        let env = ProcessInfo.processInfo.environment
        guard env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil else { return true }
        let launchers: Set<String> = ["mpirun", "mpiexec", "orterun", "prterun"]
        var pid = getppid()
        for _ in 0..<16 where pid > 1 {
            guard let stat = try? readText("/proc/\(pid)/stat", limit: 1 << 16) else { return true }
            // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split at the last ")".
            guard let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { return true }
            let name = String(stat[stat.index(after: open)..<close])
            if launchers.contains(name) {
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/1") else { return true }
                return target.hasPrefix("/dev/pts/") || target.hasPrefix("/dev/tty")
            }
            let rest = stat[stat.index(after: close)...].split(separator: " ")
            guard rest.count > 1, let parent = Int32(rest[1]) else { return true }
            pid = parent
        }
        return true
    }

    public func print(_ line: String, terminator: String = "\n") {
        guard rank == 0 else { return }
        if progressShown { Swift.print("") ; progressShown = false }
        Swift.print(line, terminator: terminator)
        fflush(stdout)
    }

    /// A progress line: rewritten in place on a terminal, at most every 10 s otherwise.
    public func progress(_ line: String) {
        guard rank == 0 else { return }
        if isTerminal {
            Swift.print("\r\u{1B}[K" + line, terminator: "")
            progressShown = true
            fflush(stdout)
        } else {
            let t = Date().timeIntervalSince1970
            guard t - lastPlain >= 10 else { return }
            lastPlain = t
            Swift.print(line)
            fflush(stdout)
        }
    }

    public func warning(_ line: String) {
        guard rank == 0 else { return }
        if progressShown { Swift.print(""); progressShown = false }
        writeStandardError("alexnet-mp: warning: \(line)\n")
    }
}

public func formatDuration(_ s: Double) -> String {
    guard s.isFinite, s >= 0 else { return "?" }
    let t = Int(s.rounded())
    return t >= 3600 ? String(format: "%dh%02dm", t / 3600, t % 3600 / 60) : String(format: "%dm%02ds", t / 60, t % 60)
}
