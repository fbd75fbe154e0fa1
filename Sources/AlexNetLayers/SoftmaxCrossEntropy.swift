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
        /// Images with a logit that is not finite (counted as errors at every k).
        public var nonFinite: Int = 0

        public init(loss: Double, errorsTop1: Int, errorsTop5: Int, images: Int, nonFinite: Int = 0) {
            self.loss = loss; self.errorsTop1 = errorsTop1; self.errorsTop5 = errorsTop5; self.images = images; self.nonFinite = nonFinite
        }
    }

    /// Loss and error counts of the first `valid` images; when `dlogits` is given, writes
    /// `(softmax − onehot)/M` for them (0 for the padding columns), M the images the mean loss is
    /// over: `valid`, or `gradientImages` when this batch is a slice of a larger minibatch.
    @discardableResult
    public static func forward(logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, classes K: Int, batch N: Int,
                               valid: Int? = nil, dlogits: UnsafeMutablePointer<Float>? = nil,
                               probabilities: UnsafeMutablePointer<Float>? = nil, gradientImages: Int? = nil) -> Result {
        let V = valid ?? N, M = Double(gradientImages ?? V)
        var loss = 0.0, e1 = 0, e5 = 0, bad = 0
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
            let above = classesAbove(label: label, classes: K) { logits[$0 * N + n] }
            if above >= 1 { e1 += 1 }
            if above >= 5 { e5 += 1 }
            if above == K { bad += 1 }
            if dlogits != nil || probabilities != nil {
                for k in 0..<K {
                    let pk = Foundation.exp(Double(logits[k * N + n]) - logSum)
                    probabilities?[k * N + n] = Float(pk)
                    dlogits?[k * N + n] = Float((pk - (k == label ? 1 : 0)) / M)
                }
            }
        }
        return Result(loss: V > 0 ? loss / Double(V) : 0, errorsTop1: e1, errorsTop5: e5, images: V, nonFinite: bad)
    }
}

/// The top-k test, written once: how many classes score above class `label` (a tie goes to the
/// lower class index). An image is a top-k error when k or more classes are above its label. An
/// image with a score that is not finite gets `classes`, an error at every k: a NaN compares
/// false with everything, and would otherwise count as a hit.
@inline(__always)
public func classesAbove<S: BinaryFloatingPoint>(label: Int, classes K: Int, score: (Int) -> S) -> Int {
    let target = score(label)
    var above = 0
    for k in 0..<K {
        let v = score(k)
        guard v.isFinite else { return K }
        if v > target || (v == target && k < label) { above += 1 }
    }
    return above
}
