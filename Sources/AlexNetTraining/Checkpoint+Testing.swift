import Foundation

/// A crash to inject while a checkpoint is written, for the tests that check that every point of
/// the sequence leaves a usable checkpoint: `ALEXNET_MP_CHECKPOINT_FAULT=POINT:N[:RANK[:ACTION]]`
/// stops rank RANK (default 0) at POINT of its N-th checkpoint write in this process (1-based).
/// ACTION `kill` (the default) makes it kill itself with SIGKILL, as a power cut would; `wait`
/// makes it wait there for up to 120 s (for a signal to arrive). Points: `shards` (this rank's
/// shards are on disk), `state` (state.json is written, the directory not yet renamed), `rename`
/// (renamed, `latest` not yet updated), `latest` (updated, nothing removed yet), `prune` (an
/// older checkpoint half removed).
struct CheckpointFault {
    enum Point: String { case shards, state, rename, latest, prune }
    let point: Point
    let kill: Bool

    nonisolated(unsafe) static var writes = 0
    static let configured: (point: Point, write: Int, rank: Int, kill: Bool)? = {
        guard let v = ProcessInfo.processInfo.environment["ALEXNET_MP_CHECKPOINT_FAULT"] else { return nil }
        let p = v.split(separator: ":").map(String.init)
        guard p.count >= 2, let point = Point(rawValue: p[0]), let n = Int(p[1]) else { return nil }
        return (point, n, p.count > 2 ? Int(p[2]) ?? 0 : 0, p.count > 3 ? p[3] != "wait" : true)
    }()

    /// The fault for this rank's next checkpoint write, if one is configured for it.
    static func nextWrite(rank: Int) -> CheckpointFault? {
        writes += 1
        guard let c = configured, c.rank == rank, c.write == writes else { return nil }
        return CheckpointFault(point: c.point, kill: c.kill)
    }

    func reached(_ p: Point) {
        guard p == point else { return }
        if kill { Foundation.kill(getpid(), SIGKILL) }
        for _ in 0..<1200 { usleep(100_000) }
    }
}
