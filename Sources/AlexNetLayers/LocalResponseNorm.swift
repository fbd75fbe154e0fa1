import AlexNetCore
import CKernels
import Foundation

/// Local response normalisation across channels, **exactly as the paper writes it**:
///
///     b[i] = a[i] / (k + α · Σ_{j = max(0, i−n/2)}^{min(C−1, i+n/2)} a[j]²)^β
///
/// with k = 2, n = 5, α = 1e-4, β = 0.75, over the channels of one group: each GPU normalises the
/// maps it holds, this project's reading of the paper's N (README, "LRN within a group"; Caffe's
/// reference normalises conv1 over all 96 maps). **α is not divided by n.** Caffe (`LRN`, `alpha`) and PyTorch
/// (`nn.LocalResponseNorm(size, alpha, beta, k)`) compute `k + (α/n)·Σ a²`, so the paper's
/// layer is PyTorch's `LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2)` and Caffe's
/// `local_size: 5 alpha: 0.0005 beta: 0.75 k: 2`; going the other way, divide their α by n.
///
/// Layout `[C][M]` with `M = N·H·W` positions per channel, so every loop runs over contiguous
/// positions. `scale[i] = k + α·Σ a²` is kept for the backward pass.
public struct LRNParameters: Equatable, Sendable {
    public var k: Float, n: Int, alpha: Float, beta: Float
    public init(k: Float, n: Int, alpha: Float, beta: Float) { self.k = k; self.n = n; self.alpha = alpha; self.beta = beta }
    /// The paper's k = 2, n = 5, α = 1e-4, β = 0.75: the defaults of `model.lrn`.
    public static let paper = LRNParameters(k: 2, n: 5, alpha: 1e-4, beta: 0.75)

    /// Each value in a range where the layer computes something sensible (and finite): the
    /// paper's values sit well inside it.
    public func validate() throws {
        guard n >= 1, n % 2 == 1, n <= 1001 else { throw ModelSpecError("model.lrn.n: must be an odd number from 1 to 1001, got \(n)") }
        guard k.isFinite, k > 0, k <= 1e6 else { throw ModelSpecError("model.lrn.k: must be a finite number above 0 and at most 1e6, got \(k)") }
        guard alpha.isFinite, alpha >= 0, alpha <= 1e3 else { throw ModelSpecError("model.lrn.alpha: must be a finite number from 0 to 1000, got \(alpha)") }
        guard beta.isFinite, beta >= 0, beta <= 10 else { throw ModelSpecError("model.lrn.beta: must be a finite number from 0 to 10, got \(beta)") }
    }
}

extension LRNParameters: Codable {}

public enum LocalResponseNorm {
    /// `s ← k + α·max(s, 0)` and `b = a · s^−β` over `M` positions. For the paper's β = 0.75,
    /// s^−β = s^−1/2 · s^−1/4 in a C kernel built for AVX-512/AVX2 (two square roots, which
    /// vectorise; Swift left this loop scalar and LRN was 12% of a Fashion-MNIST step).
    /// max(·, 0): the running sum can round a hair below zero once every term has left.
    static func finishForward(_ p: LRNParameters, a: UnsafePointer<Float>, s: UnsafeMutablePointer<Float>,
                              b: UnsafeMutablePointer<Float>, count M: Int) {
        if p.beta == 0.75 {
            axmp_lrn_forward_finish75(a, s, b, M, p.k, p.alpha)
        } else {
            for m in 0..<M { s[m] = p.k + p.alpha * max(s[m], 0); b[m] = a[m] * Foundation.pow(s[m], -p.beta) }
        }
    }

    /// Forward. The window sum Σ a² moves from channel to channel by adding the channel that
    /// enters and subtracting the one that leaves (2 passes per channel instead of n), kept raw
    /// in `scale` one channel ahead of its final value `k + α·Σ`.
    public static func forward(_ p: LRNParameters, a: UnsafePointer<Float>, b: UnsafeMutablePointer<Float>,
                               scale: UnsafeMutablePointer<Float>, channels C: Int, positions M: Int) {
        let half = p.n / 2
        func finish(_ i: Int) { finishForward(p, a: a + i * M, s: scale + i * M, b: b + i * M, count: M) }
        for i in 0..<C {
            let si = scale + i * M
            if i == 0 {
                si.update(repeating: 0, count: M)
                for j in 0...min(C - 1, half) { let aj = a + j * M; for m in 0..<M { si[m] += aj[m] * aj[m] } }
                continue
            }
            let prev = scale + (i - 1) * M, enter = i + half, leave = i - half - 1
            switch (enter < C, leave >= 0) {
            case (true, true):
                let ae = a + enter * M, al = a + leave * M
                for m in 0..<M { si[m] = prev[m] + ae[m] * ae[m] - al[m] * al[m] }
            case (true, false):
                let ae = a + enter * M
                for m in 0..<M { si[m] = prev[m] + ae[m] * ae[m] }
            case (false, true):
                let al = a + leave * M
                for m in 0..<M { si[m] = prev[m] - al[m] * al[m] }
            case (false, false):
                si.update(from: prev, count: M)
            }
            finish(i - 1)
        }
        if C > 0 { finish(C - 1) }
    }

    /// `da[j] = db[j]·scale[j]^−β − 2αβ·a[j]·Σ_{i ∈ window(j)} db[i]·b[i]/scale[i]`, the window
    /// sum kept running in `da` one channel ahead, like the forward pass's.
    public static func backward(_ p: LRNParameters, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                scale: UnsafePointer<Float>, db: UnsafePointer<Float>, da: UnsafeMutablePointer<Float>,
                                channels C: Int, positions M: Int) {
        let half = p.n / 2
        let c2 = 2 * p.alpha * p.beta
        func finish(_ j: Int) {
            let dj = da + j * M, aj = a + j * M, dbj = db + j * M, sj = scale + j * M
            if p.beta == 0.75 {
                axmp_lrn_backward_finish75(dbj, aj, sj, dj, M, c2)
            } else {
                for m in 0..<M { dj[m] = dbj[m] * Foundation.pow(sj[m], -p.beta) - c2 * aj[m] * dj[m] }
            }
        }
        for j in 0..<C {
            let dj = da + j * M
            if j == 0 {
                dj.update(repeating: 0, count: M)
                for i in 0...min(C - 1, half) {
                    let dbi = db + i * M, bi = b + i * M, si = scale + i * M
                    for m in 0..<M { dj[m] += dbi[m] * bi[m] / si[m] }
                }
                continue
            }
            let prev = da + (j - 1) * M, enter = j + half, leave = j - half - 1
            if enter < C {
                let dbe = db + enter * M, be = b + enter * M, se = scale + enter * M
                for m in 0..<M { dj[m] = prev[m] + dbe[m] * be[m] / se[m] }
            } else {
                dj.update(from: prev, count: M)
            }
            if leave >= 0 {
                let dbl = db + leave * M, bl = b + leave * M, sl = scale + leave * M
                for m in 0..<M { dj[m] -= dbl[m] * bl[m] / sl[m] }
            }
            finish(j - 1)
        }
        if C > 0 { finish(C - 1) }
    }
}
