import Foundation

/// Local response normalisation across channels, **exactly as the paper writes it**:
///
///     b[i] = a[i] / (k + α · Σ_{j = max(0, i−n/2)}^{min(C−1, i+n/2)} a[j]²)^β
///
/// with k = 2, n = 5, α = 1e-4, β = 0.75, over the channels of one group (each GPU normalised
/// its own maps). **α is not divided by n.** Caffe (`LRN`, `alpha`) and PyTorch
/// (`nn.LocalResponseNorm(size, alpha, beta, k)`) compute `k + (α/n)·Σ a²`, so the paper's
/// layer is PyTorch's `LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2)` and Caffe's
/// `local_size: 5 alpha: 0.0005 beta: 0.75 k: 2`; going the other way, divide their α by n.
///
/// Layout `[C][M]` with `M = N·H·W` positions per channel, so every loop runs over contiguous
/// positions. `scale[i] = k + α·Σ a²` is kept for the backward pass.
public struct LRNParameters: Equatable, Sendable, Codable {
    public var k: Float, n: Int, alpha: Float, beta: Float
    public init(k: Float, n: Int, alpha: Float, beta: Float) { self.k = k; self.n = n; self.alpha = alpha; self.beta = beta }
    public static let paper = LRNParameters(k: 2, n: 5, alpha: 1e-4, beta: 0.75)

    public func validate() throws {
        guard n >= 1, n % 2 == 1 else { throw ModelSpecError("model.lrn.n: must be a positive odd number, got \(n)") }
        guard k > 0, alpha >= 0, beta >= 0 else { throw ModelSpecError("model.lrn: k must be positive and alpha, beta not negative") }
    }
}

public enum LocalResponseNorm {
    @inline(__always) static func power(_ s: Float, _ beta: Float) -> Float {
        // s^-β; the paper's β = 0.75 is s^-1/2 · s^-1/4, two square roots instead of pow.
        if beta == 0.75 { let r = 1 / s.squareRoot(); return r * r.squareRoot() }
        return Foundation.pow(s, -beta)
    }

    public static func forward(_ p: LRNParameters, a: UnsafePointer<Float>, b: UnsafeMutablePointer<Float>,
                               scale: UnsafeMutablePointer<Float>, channels C: Int, positions M: Int) {
        let half = p.n / 2
        for i in 0..<C {
            let s = scale + i * M
            s.update(repeating: 0, count: M)
            for j in max(0, i - half)...min(C - 1, i + half) {
                let aj = a + j * M
                for m in 0..<M { s[m] += aj[m] * aj[m] }
            }
            let ai = a + i * M, bi = b + i * M
            for m in 0..<M {
                s[m] = p.k + p.alpha * s[m]
                bi[m] = ai[m] * power(s[m], p.beta)
            }
        }
    }

    /// `da[j] = db[j]·scale[j]^−β − 2αβ·a[j]·Σ_{i ∈ window(j)} db[i]·b[i]/scale[i]`.
    /// `work` holds `C·M` floats.
    public static func backward(_ p: LRNParameters, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                scale: UnsafePointer<Float>, db: UnsafePointer<Float>, da: UnsafeMutablePointer<Float>,
                                work: UnsafeMutablePointer<Float>, channels C: Int, positions M: Int) {
        let half = p.n / 2
        for i in 0..<(C * M) { work[i] = db[i] * b[i] / scale[i] }
        let c2 = 2 * p.alpha * p.beta
        for j in 0..<C {
            let daj = da + j * M, aj = a + j * M, dbj = db + j * M, sj = scale + j * M
            for m in 0..<M { daj[m] = 0 }
            for i in max(0, j - half)...min(C - 1, j + half) {
                let wi = work + i * M
                for m in 0..<M { daj[m] += wi[m] }
            }
            for m in 0..<M { daj[m] = dbj[m] * power(sj[m], p.beta) - c2 * aj[m] * daj[m] }
        }
    }
}
