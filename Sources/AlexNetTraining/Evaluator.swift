import AlexNetCore
import AlexNetData
import AlexNetLayers
import AlexNetParallel
import Foundation

/// A model's error on a set of images.
public struct Evaluation: Sendable, Equatable {
    /// 1 (the centre crop) or the number of views averaged.
    public var views: Int
    public var top1: Double, top5: Double
    /// Mean cross-entropy (of the averaged softmax, for several views).
    public var loss: Double
    public var images: Int
    /// Images for which the net produced a logit that is not a finite number (each counted as
    /// an error at every k).
    public var nonFinite: Int

    public init(views: Int, top1: Double, top5: Double, loss: Double, images: Int = 0, nonFinite: Int = 0) {
        self.views = views; self.top1 = top1; self.top5 = top5; self.loss = loss; self.images = images; self.nonFinite = nonFinite
    }

    /// `eval --views 10` writes the 1-view and the 10-view rows to `<run>/eval-views.csv`.
    public static let fileName = "eval-views.csv"
    public static let csvHeader = "views,top1_error,top5_error,loss"
    public var csvRow: String { String(format: "%d,%.6f,%.6f,%.6f", views, top1, top5, loss) }

    /// The rows of a run's `eval-views.csv`, or nil when there is none (or it is unreadable).
    public static func load(run dir: String) -> [Evaluation]? {
        guard let text = try? readText((dir as NSString).appendingPathComponent(fileName), limit: 1 << 20) else { return nil }
        let rows = text.split(separator: "\n").dropFirst().compactMap { line -> Evaluation? in
            let f = line.split(separator: ",")
            guard f.count == 4, let v = Int(f[0]), let a = Double(f[1]), let b = Double(f[2]), let c = Double(f[3]) else { return nil }
            return Evaluation(views: v, top1: a, top5: b, loss: c)
        }
        return rows.isEmpty ? nil : rows
    }
}

/// Runs a set of images through the net, centre crops (1 view) or the paper's ten views (section
/// 4.1: the four corner patches and the centre patch and their mirrors, the softmax averaged):
/// one loop for both, the top-k test written once (`classesAbove`). Evaluation passes are kept
/// out of the network's profile.
public final class Evaluator {
    public let network: Network
    public let batcher: Batcher

    public init(network: Network, batcher: Batcher) { self.network = network; self.batcher = batcher }

    /// The error over `set` (default: the test set) with `views` views (1 to 10). Returns the
    /// centre crop's figures and the averaged ones (the same with 1 view); nil when `shouldStop`
    /// (asked before every round of batches, a collective on several ranks) says to stop.
    /// `logits`, when given, receives each image's centre-crop logits (`classes` floats, strided
    /// by the batch). With a rank per replica, replica r evaluates every R-th batch from batch r
    /// and the counts are added over the replicas (unless every logit is asked for).
    public func run(_ set: ImageSet? = nil, views: Int = 1,
                    logits: ((_ image: Int, _ values: UnsafePointer<Float>, _ stride: Int) -> Void)? = nil,
                    shouldStop: (() throws -> Bool)? = nil) throws -> (centre: Evaluation, averaged: Evaluation)? {
        precondition(views >= 1 && views <= 10)
        return try network.profile.excluding { () -> (centre: Evaluation, averaged: Evaluation)? in
            let set = set ?? batcher.test
            let N = network.batch, K = network.spec.classes
            var centre = Evaluation(views: 1, top1: 0, top5: 0, loss: 0)
            var averaged = Evaluation(views: views, top1: 0, top5: 0, loss: 0)
            var sum = [Double](repeating: 0, count: views > 1 ? K * N : 0)
            let split = network.placement.replica != nil && logits == nil
            let R = split ? network.placement.replicas : 1, mine = split ? network.placement.replica! : 0
            var start = 0, batchIndex = -1
            while start < set.count {
                batchIndex += 1
                // Every rank asks once per round of R batches, whichever of them it computes.
                if batchIndex % R == 0, let shouldStop, try shouldStop() { return nil }
                if batchIndex % R != mine { start += N; continue }
                var valid = 0
                for i in sum.indices { sum[i] = 0 }
                for v in 0..<views {
                    valid = batcher.fillTest(start: start, batch: N, input: network.input.data, labels: network.labels, from: set, view: v)
                    try network.forward(training: false, step: 0)
                    let r = network.loss(valid: valid, gradient: false)
                    if v == 0 {
                        centre.top1 += Double(r.errorsTop1); centre.top5 += Double(r.errorsTop5)
                        centre.loss += r.loss * Double(valid); centre.nonFinite += r.nonFinite
                        if let logits { for n in 0..<valid { logits(start + n, network.logits.data + n, N) } }
                    }
                    if views > 1 {
                        let p = network.probabilities.data
                        for i in 0..<(K * N) { sum[i] += Double(p[i]) }
                    }
                }
                if views > 1 {
                    for n in 0..<valid {
                        let label = Int(network.labels[n])
                        let above = classesAbove(label: label, classes: K) { sum[$0 * N + n] }
                        if above >= 1 { averaged.top1 += 1 }
                        if above >= 5 { averaged.top5 += 1 }
                        if above == K { averaged.nonFinite += 1 }
                        averaged.loss -= Foundation.log(max(sum[label * N + n] / Double(views), 1e-300))
                    }
                }
                centre.images += valid
                start += N
            }
            if split {
                centre = try combined(centre)
                if views > 1 { averaged = try combined(averaged) }
            }
            let d = Double(max(centre.images, 1))
            centre.top1 /= d; centre.top5 /= d; centre.loss /= d
            if views == 1 { return (centre, centre) }
            averaged.images = centre.images
            averaged.top1 /= d; averaged.top5 /= d; averaged.loss /= d
            return (centre, averaged)
        }
    }

    /// Counts and loss sums (not yet divided) added over the replicas, in replica order.
    private func combined(_ e: Evaluation) throws -> Evaluation {
        let comm = network.replicaComm
        let parts = try [e.top1, e.top5, e.loss, Double(e.images), Double(e.nonFinite)].map { try comm.allgather($0) }
        var out = Evaluation(views: e.views, top1: 0, top5: 0, loss: 0)
        for r in 0..<comm.size {
            out.top1 += parts[0][r]; out.top5 += parts[1][r]; out.loss += parts[2][r]
            out.images += Int(parts[3][r]); out.nonFinite += Int(parts[4][r])
        }
        return out
    }
}
