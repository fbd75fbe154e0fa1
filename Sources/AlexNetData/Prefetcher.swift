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
    /// Which minibatch: slice `part` of step `step` of `epoch`.
    public struct Batch: Equatable, Sendable {
        public var epoch: Int, step: Int, part: Int
        public init(epoch: Int, step: Int, part: Int = 0) { self.epoch = epoch; self.step = step; self.part = part }
    }

    public let batcher: Batcher
    /// Images of the whole minibatch, and the slices it is cut into (the model's replicas).
    public let batch: Int, parts: Int
    private let inputCount: Int
    private let staging: UnsafeMutablePointer<Float>, stagingLabels: UnsafeMutablePointer<Int32>
    private let queue = DispatchQueue(label: "alexnet-mp.prefetch", qos: .userInitiated)
    /// The batch the thread is building, and the signal that it is done.
    private var building: (batch: Batch, done: DispatchSemaphore)?

    public init(batcher: Batcher, batch: Int, parts: Int = 1) {
        self.batcher = batcher; self.batch = batch; self.parts = parts
        inputCount = batcher.train.channels * (batch / parts) * batcher.augmentation.crop * batcher.augmentation.crop
        staging = .allocate(capacity: inputCount); stagingLabels = .allocate(capacity: batch / parts)
    }

    deinit {
        building?.done.wait()
        staging.deallocate(); stagingLabels.deallocate()
    }

    private func build(_ b: Batch, input: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>) {
        batcher.fillTraining(epoch: b.epoch, step: b.step, batch: batch, part: (b.part, parts), input: input, labels: labels)
    }

    /// Fills `input` and `labels` with `b`, then starts building `next` (nil: nothing more to
    /// prefetch). Returns whether `b` had been prefetched.
    @discardableResult
    public func fill(_ b: Batch, next: Batch?, input: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>) -> Bool {
        var hit = false
        if let p = building {
            p.done.wait()
            building = nil
            if p.batch == b {
                input.update(from: staging, count: inputCount)
                labels.update(from: stagingLabels, count: batch / parts)
                hit = true
            }
        }
        if !hit { build(b, input: input, labels: labels) }
        if let next {
            let done = DispatchSemaphore(value: 0)
            building = (next, done)
            queue.async { [self] in
                build(next, input: staging, labels: stagingLabels)
                done.signal()
            }
        }
        return hit
    }

    /// The batch after `b` for a rank that computes `parts` (in order) of every step: the next
    /// part of the step, else the first of the next step, else of the next epoch.
    public static func next(after b: Batch, parts: [Int], stepsPerEpoch: Int) -> Batch {
        if let i = parts.firstIndex(of: b.part), i + 1 < parts.count { return Batch(epoch: b.epoch, step: b.step, part: parts[i + 1]) }
        return b.step + 1 < stepsPerEpoch ? Batch(epoch: b.epoch, step: b.step + 1, part: parts[0])
                                          : Batch(epoch: b.epoch + 1, step: 0, part: parts[0])
    }
}
