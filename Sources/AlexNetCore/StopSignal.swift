import Foundation

/// Ctrl-C (SIGINT) and SIGTERM. During training the first asks the run to stop: the ranks agree
/// after each step (and before each validation batch) whether any rank was signalled, so they
/// all stop at the same point, write a checkpoint and end cleanly (exit status 0). `prepare`
/// stops after the image under way and removes its partial output. A second signal ends the
/// process at once (status 128 + the signal) without writing anything more: a checkpoint being
/// written is left under its temporary name and `latest` still names the previous one.
///
/// Under mpirun the ranks get a signal only from mpirun: on the first SIGINT or SIGTERM it sends
/// them SIGCONT at once, SIGTERM `odls_base_sigkill_timeout` seconds later and SIGKILL as long
/// again after that (the README's "Stopping" has what was measured). `launch.sh` passes the
/// signal to the ranks at once instead.
public enum StopSignal {
    nonisolated(unsafe) static var requests: Int32 = 0
    /// The first signal received (SIGINT or SIGTERM), 0 before any.
    nonisolated(unsafe) public private(set) static var received: Int32 = 0
    /// The acknowledgements, made before any signal can arrive: a handler may only call
    /// async-signal-safe functions such as write(2).
    nonisolated(unsafe) static var firstLine: (text: UnsafeMutablePointer<CChar>, count: Int)?
    nonisolated(unsafe) static var secondLine: (text: UnsafeMutablePointer<CChar>, count: Int)?

    /// What a training run's rank 0 prints when a signal arrives.
    public static let trainingLines = (
        first: "\nalexnet-mp: stopping after this step, then writing a checkpoint (a second Ctrl-C or SIGTERM exits at once, without one)\n",
        second: "\nalexnet-mp: second signal: exiting now; the last complete checkpoint is kept\n")

    /// Installs the handler; with `acknowledge`, each signal is acknowledged on standard error
    /// when it arrives (rank 0 of a training run; nil elsewhere).
    public static func install(acknowledge: (first: String, second: String)? = nil) {
        firstLine = acknowledge.map { (strdup($0.first)!, $0.first.utf8.count) }
        secondLine = acknowledge.map { (strdup($0.second)!, $0.second.utf8.count) }
        let handler: @convention(c) (Int32) -> Void = { sig in
            StopSignal.requests += 1
            if StopSignal.received == 0 { StopSignal.received = sig }
            if let line = StopSignal.requests > 1 ? StopSignal.secondLine : StopSignal.firstLine { _ = write(STDERR_FILENO, line.text, line.count) }
            if StopSignal.requests > 1 { _exit(128 + sig) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }

    public static var requested: Bool { requests > 0 }
}
