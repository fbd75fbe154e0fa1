import Foundation

/// Builds the next training minibatch on a background thread while the current step
/// computes, as the paper's CPUs did for its GPUs. A batch is a pure function of (epoch, step)
/// — the keyed shuffle and keyed crops, flips and colour draws of `Batcher` — so a prefetched
/// batch is bit-identical to one built on the spot, and a step that asks for anything other
/// than what was prefetched (after a resume, or in a test) simply builds it then.
///
/// Two buffers: the network's input, which the step reads, and one staging buffer
/// `[C][N][crop][crop]` the thread fills; `fill` waits for the thread if it is not done (that
/// wait is what `profile` shows as data time) and copies staging into the input.
public final class Prefetcher: @unchecked Sendable {
    public let batcher: Batcher
    public let batch: Int
    private let inputCount: Int
    private let staging: UnsafeMutablePointer<Float>, stagingLabels: UnsafeMutablePointer<Int32>
    private let queue = DispatchQueue(label: "alexnet-mp.prefetch", qos: .userInitiated)
    private var pending: (epoch: Int, step: Int, done: DispatchSemaphore)?

    public init(batcher: Batcher, batch: Int) {
        self.batcher = batcher; self.batch = batch
        inputCount = batcher.train.channels * batch * batcher.augmentation.crop * batcher.augmentation.crop
        staging = .allocate(capacity: inputCount); stagingLabels = .allocate(capacity: batch)
    }

    deinit {
        pending?.done.wait()
        staging.deallocate(); stagingLabels.deallocate()
    }

    /// Fills `input` and `labels` with minibatch `step` of `epoch`, then starts building `next`
    /// (nil: nothing more to prefetch). Returns whether the batch had been prefetched.
    @discardableResult
    public func fill(epoch: Int, step: Int, next: (epoch: Int, step: Int)?,
                     input: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>) -> Bool {
        var hit = false
        if let p = pending {
            p.done.wait()
            pending = nil
            if p.epoch == epoch && p.step == step {
                input.update(from: staging, count: inputCount)
                labels.update(from: stagingLabels, count: batch)
                hit = true
            }
        }
        if !hit { batcher.fillTraining(epoch: epoch, step: step, batch: batch, input: input, labels: labels) }
        if let next {
            let done = DispatchSemaphore(value: 0)
            pending = (next.epoch, next.step, done)
            queue.async { [self] in
                batcher.fillTraining(epoch: next.epoch, step: next.step, batch: batch, input: staging, labels: stagingLabels)
                done.signal()
            }
        }
        return hit
    }
}
