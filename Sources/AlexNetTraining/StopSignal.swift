import Foundation

/// Ctrl-C and SIGTERM: the first asks the run to stop after the current step (every rank
/// agrees on the step, a checkpoint is written, the run ends cleanly), or `prepare` to stop
/// after the current image and remove its partial output; a second exits at once.
/// mpirun turns Ctrl-C and SIGTERM into SIGTERM for the ranks, and kills them
/// `odls_base_sigkill_timeout` seconds later (default 1): `launch.sh` raises it so a step and a
/// checkpoint can finish.
public enum StopSignal {
    nonisolated(unsafe) static var requests: Int32 = 0
    /// The first signal received (SIGINT or SIGTERM), 0 before any.
    nonisolated(unsafe) public private(set) static var received: Int32 = 0

    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { sig in
            StopSignal.requests += 1
            if StopSignal.received == 0 { StopSignal.received = sig }
            if StopSignal.requests > 1 { _exit(128 + sig) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }

    public static var requested: Bool { requests > 0 }
}
