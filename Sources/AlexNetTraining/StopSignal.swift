import Foundation

/// Ctrl-C (SIGINT) and SIGTERM during training. The first asks the run to stop: the ranks agree
/// after each step (and before each validation batch) whether any rank was signalled, so they
/// all stop at the same point, write a checkpoint and end cleanly (exit status 0). A second
/// signal ends the process at once (status 128 + the signal) without writing anything more: a
/// checkpoint being written is left under its temporary name and `latest` still names the
/// previous one.
///
/// Under mpirun the ranks get a signal only from mpirun: on the first SIGINT or SIGTERM it sends
/// them SIGCONT at once, SIGTERM `odls_base_sigkill_timeout` seconds later and SIGKILL as long
/// again after that (the README's "Stopping" has what was measured). `launch.sh` passes the
/// signal to the ranks at once instead.
public enum StopSignal {
    nonisolated(unsafe) static var requests: Int32 = 0
    /// The acknowledgements, on rank 0 (nil elsewhere), made before any signal can arrive: a
    /// handler may only call async-signal-safe functions such as write(2).
    nonisolated(unsafe) static var firstLine: (text: UnsafeMutablePointer<CChar>, count: Int)?
    nonisolated(unsafe) static var secondLine: (text: UnsafeMutablePointer<CChar>, count: Int)?

    /// Installs the handler; with `announce` (rank 0), each signal is acknowledged on standard
    /// error when it arrives.
    public static func install(announce: Bool) {
        func line(_ s: String) -> (UnsafeMutablePointer<CChar>, Int)? { announce ? (strdup(s)!, s.utf8.count) : nil }
        firstLine = line("\nalexnet-mp: stopping after this step, then writing a checkpoint (a second Ctrl-C or SIGTERM exits at once, without one)\n")
        secondLine = line("\nalexnet-mp: second signal: exiting now; the last complete checkpoint is kept\n")
        let handler: @convention(c) (Int32) -> Void = { sig in
            StopSignal.requests += 1
            if let line = StopSignal.requests > 1 ? StopSignal.secondLine : StopSignal.firstLine { _ = write(STDERR_FILENO, line.text, line.count) }
            if StopSignal.requests > 1 { _exit(128 + sig) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }

    public static var requested: Bool { requests > 0 }
}
