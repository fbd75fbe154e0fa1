import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import AlexNetSimulator
import AlexNetTraining
import Foundation

/// The nearest rows of a base set to each query row, in Euclidean distance (Figure 4, right:
/// the training images whose fc7 activations are closest to a test image's).
public enum NearestNeighbours {
    public struct Match: Equatable, Sendable {
        public var index: Int
        public var distance: Double
    }

    /// For each query (`queries`: `[q][d]`, row-major), the `k` nearest rows of `base` (`[n][d]`),
    /// nearest first (ties: the lower index first).
    ///
    /// Squared distances ‖q‖² + ‖b‖² − 2 q·b come from one GEMM; the 4k + 8 best candidates of
    /// each query are then measured again directly in double precision, so the cancellation of
    /// the GEMM form cannot reorder the final list.
    public static func search(queries: [Float], base: [Float], dimensions d: Int, k: Int) -> [[Match]] {
        precondition(d > 0 && queries.count % d == 0 && base.count % d == 0, "rows of \(d) values expected")
        let q = queries.count / d, n = base.count / d
        guard q > 0, n > 0, k > 0 else { return Array(repeating: [], count: q) }
        var dots = [Float](repeating: 0, count: q * n)
        queries.withUnsafeBufferPointer { a in
            base.withUnsafeBufferPointer { b in
                dots.withUnsafeMutableBufferPointer { c in
                    gemm(transB: true, m: q, n: n, k: d, a: a.baseAddress!, b: b.baseAddress!, c: c.baseAddress!)
                }
            }
        }
        var baseNorms = [Float](repeating: 0, count: n)
        for j in 0..<n { var s: Float = 0; for t in 0..<d { s += base[j * d + t] * base[j * d + t] }; baseNorms[j] = s }
        let candidates = min(n, 4 * k + 8)
        return (0..<q).map { i in
            let approx = (0..<n).map { j in (j, baseNorms[j] - 2 * dots[i * n + j]) }   // ‖q‖² is the same for every j
            let best = approx.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }.prefix(candidates)
            let exact = best.map { j, _ -> Match in
                var s = 0.0
                for t in 0..<d { let e = Double(queries[i * d + t]) - Double(base[j * d + t]); s += e * e }
                return Match(index: j, distance: s.squareRoot())
            }
            return Array(exact.sorted { $0.distance != $1.distance ? $0.distance < $1.distance : $0.index < $1.index }.prefix(k))
        }
    }
}
