import Foundation

/// Softmax with cross-entropy over logits laid out `[classes][N]` (all classes, gathered from
/// every group), and the top-1 / top-5 error counts.
public enum SoftmaxCrossEntropy {
    public struct Result: Equatable, Sendable {
        /// Mean loss over the counted images.
        public var loss: Double
        /// Images whose label is not the top guess / not among the top five.
        public var errorsTop1: Int, errorsTop5: Int
        public var images: Int
    }

    /// Loss and error counts of the first `valid` images; when `dlogits` is given, writes
    /// `(softmax − onehot)/valid` for them (0 for the padding columns).
    @discardableResult
    public static func forward(logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, classes K: Int, batch N: Int,
                               valid: Int? = nil, dlogits: UnsafeMutablePointer<Float>? = nil,
                               probabilities: UnsafeMutablePointer<Float>? = nil) -> Result {
        let V = valid ?? N
        var loss = 0.0, e1 = 0, e5 = 0
        for n in 0..<N {
            if n >= V {
                if let d = dlogits { for k in 0..<K { d[k * N + n] = 0 } }
                continue
            }
            let label = Int(labels[n])
            var mx = -Float.infinity
            for k in 0..<K { mx = max(mx, logits[k * N + n]) }
            var sum = 0.0
            for k in 0..<K { sum += Foundation.exp(Double(logits[k * N + n] - mx)) }
            let logSum = Foundation.log(sum) + Double(mx)
            loss += logSum - Double(logits[label * N + n])
            // Rank of the true class: classes scoring higher, ties broken by class index.
            let target = logits[label * N + n]
            var above = 0
            for k in 0..<K {
                let v = logits[k * N + n]
                if v > target || (v == target && k < label) { above += 1 }
            }
            if above >= 1 { e1 += 1 }
            if above >= 5 { e5 += 1 }
            if dlogits != nil || probabilities != nil {
                for k in 0..<K {
                    let pk = Foundation.exp(Double(logits[k * N + n]) - logSum)
                    probabilities?[k * N + n] = Float(pk)
                    dlogits?[k * N + n] = Float((pk - (k == label ? 1 : 0)) / Double(V))
                }
            }
        }
        return Result(loss: V > 0 ? loss / Double(V) : 0, errorsTop1: e1, errorsTop5: e5, images: V)
    }
}
