import AlexNetData
import Foundation

/// Multi-view testing (the paper, section 4.1): the softmax averaged over `TestView`s.
public struct ViewsResult: Sendable {
    public var views: Int
    public var top1: Double, top5: Double
    /// Cross-entropy of the averaged softmax.
    public var loss: Double
    public init(views: Int, top1: Double, top5: Double, loss: Double) {
        self.views = views; self.top1 = top1; self.top5 = top5; self.loss = loss
    }

    /// `eval --views 10` writes the 1-view and the 10-view rows to `<run>/eval-views.csv`.
    public static let fileName = "eval-views.csv"
    public static let csvHeader = "views,top1_error,top5_error,loss"
    public var csvRow: String { String(format: "%d,%.6f,%.6f,%.6f", views, top1, top5, loss) }

    /// The rows of a run's `eval-views.csv`, or nil when there is none (or it is unreadable).
    public static func load(run dir: String) -> [ViewsResult]? {
        guard let text = try? String(contentsOfFile: (dir as NSString).appendingPathComponent(fileName), encoding: .utf8) else { return nil }
        let rows = text.split(separator: "\n").dropFirst().compactMap { line -> ViewsResult? in
            let f = line.split(separator: ",")
            guard f.count == 4, let v = Int(f[0]), let a = Double(f[1]), let b = Double(f[2]), let c = Double(f[3]) else { return nil }
            return ViewsResult(views: v, top1: a, top5: b, loss: c)
        }
        return rows.isEmpty ? nil : rows
    }
}

extension Trainer {
    /// Top-1 and top-5 error of the softmax averaged over the first `views` test views (1: the
    /// centre crop, as `evaluate`; 10: the four corners and the centre and their mirrors).
    /// Also returns the centre-crop result, which the 10 views include, so one pass gives both.
    public func evaluateViews(_ views: Int, set: ImageSet? = nil) throws -> (centre: ViewsResult, averaged: ViewsResult) {
        precondition(views >= 1 && views <= 10)
        return try network.profile.excluding {
            let set = set ?? batcher.test
            let N = network.batch, K = network.spec.classes
            var centre = (e1: 0, e5: 0, loss: 0.0), averaged = (e1: 0, e5: 0, loss: 0.0), seen = 0
            var sum = [Double](repeating: 0, count: K * N)
            var labels = [Int32](repeating: 0, count: N)
            var start = 0
            while start < set.count {
                for i in sum.indices { sum[i] = 0 }
                var valid = 0
                for v in 0..<views {
                    valid = batcher.fillTest(start: start, batch: N, input: network.input.data, labels: network.labels, from: set, view: v)
                    try network.forward(training: false, step: 0)
                    let r = network.loss(valid: valid, gradient: false)
                    if v == 0 { centre.e1 += r.errorsTop1; centre.e5 += r.errorsTop5; centre.loss += r.loss * Double(valid) }
                    let p = network.probabilities.data
                    for i in 0..<(K * N) { sum[i] += Double(p[i]) }
                }
                for n in 0..<N { labels[n] = network.labels[n] }
                for n in 0..<valid {
                    let label = Int(labels[n]), target = sum[label * N + n]
                    var above = 0
                    for k in 0..<K {
                        let s = sum[k * N + n]
                        if s > target || (s == target && k < label) { above += 1 }
                    }
                    if above >= 1 { averaged.e1 += 1 }
                    if above >= 5 { averaged.e5 += 1 }
                    averaged.loss -= Foundation.log(max(target / Double(views), 1e-300))
                }
                seen += valid
                start += N
            }
            let d = Double(max(seen, 1))
            return (ViewsResult(views: 1, top1: Double(centre.e1) / d, top5: Double(centre.e5) / d, loss: centre.loss / d),
                    ViewsResult(views: views, top1: Double(averaged.e1) / d, top5: Double(averaged.e5) / d, loss: averaged.loss / d))
        }
    }
}
