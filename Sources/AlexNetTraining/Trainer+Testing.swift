import Foundation

/// A fault to inject, for the tests that check a failing rank brings the job down:
/// `ALEXNET_MP_FAULT=RANK:STEP:throw` makes that rank throw before that (1-based) step,
/// `…:kill` makes it kill itself with SIGKILL.
struct Fault {
    let rank: Int, step: Int, kill: Bool
    static func fromEnvironment() -> Fault? {
        guard let v = ProcessInfo.processInfo.environment["ALEXNET_MP_FAULT"] else { return nil }
        let p = v.split(separator: ":").map(String.init)
        guard p.count == 3, let r = Int(p[0]), let s = Int(p[1]) else { return nil }
        return Fault(rank: r, step: s, kill: p[2] == "kill")
    }
}
