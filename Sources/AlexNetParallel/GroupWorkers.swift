import AlexNetCore
import AlexNetLayers
import Foundation

/// Runs the local groups of a layer at the same time: group 0 on the calling thread, every
/// other group on its own long-lived thread, handed its work through semaphores.
/// `DispatchQueue.concurrentPerform` did the same but allocated a block and two contexts on
/// each call (48 heap allocations per step of the two-group model, counted with
/// libAllocCounter); a semaphore hand-off allocates nothing. The work is one function fixed at
/// start (the caller keeps what to do in its own fields): handing over a closure per call
/// allocates its context again.
final class GroupWorkers: @unchecked Sendable {
    private let start: [DispatchSemaphore]
    private let done = DispatchSemaphore(value: 0)
    private let perform: (Int) -> Void
    private var stopping = false

    /// `count`: the groups that run at once (threads started: count − 1); `perform(i)` runs group i's work.
    init(count: Int, perform: @escaping (Int) -> Void) {
        self.perform = perform
        start = (1..<max(count, 1)).map { _ in DispatchSemaphore(value: 0) }
        for i in start.indices {
            let t = Thread { [self] in
                while true {
                    start[i].wait()
                    if stopping { return }
                    perform(i + 1)
                    done.signal()
                }
            }
            t.name = "alexnet-mp group \(i + 1)"
            t.stackSize = 8 << 20
            t.start()
        }
    }

    /// Runs `perform(0) … perform(count − 1)` at once and returns when all have finished.
    func run() {
        for s in start { s.signal() }
        perform(0)
        for _ in start { done.wait() }
    }

    /// Ends the threads (they hold the workers alive until then).
    func stop() {
        stopping = true
        for s in start { s.signal() }
    }
}
