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
    /// so a rank asks what mpirun's standard output is: its parent's (mpirun starts the ranks of
    /// its node itself). Where that cannot be read, the rank's own answer stands.
    static func outputIsTerminal() -> Bool {
        guard isatty(STDOUT_FILENO) != 0 else { return false }
        let env = ProcessInfo.processInfo.environment
        guard env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil else { return true }
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(getppid())/fd/1") else { return true }
        return target.hasPrefix("/dev/pts/") || target.hasPrefix("/dev/tty")
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
