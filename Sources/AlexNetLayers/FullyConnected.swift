import AlexNetCore
import CKernels

/// One group's share of a fully connected layer.
///
/// - input  `x`: `[F_in][N]` — every group's features, gathered in group order. When the layer
///   follows a convolution, `flatten` first turns the gathered `[C][N][H·W]` maps into
///   `[C·H·W][N]`, feature `c·H·W + h·W + w`: PyTorch's `flatten` order of an NCHW tensor.
/// - weight `w`: `[F_out][F_in]`, bias `b`: `[F_out]`; output `y`: `[F_out][N]`.
/// Forward: `y = w·x + b`.
public final class FullyConnected {
    public let inFeatures: Int, outFeatures: Int, batch: Int
    public let weight: Parameter
    public let bias: Parameter

    /// A layer over the parameters it is given (`weight` `[F_out][F_in]`, `bias` `[F_out]`).
    public init(inFeatures: Int, outFeatures: Int, batch: Int, weight: Parameter, bias: Parameter) {
        precondition(weight.value.shape == [outFeatures, inFeatures] && bias.value.shape == [outFeatures])
        self.inFeatures = inFeatures; self.outFeatures = outFeatures; self.batch = batch
        self.weight = weight; self.bias = bias
    }

    /// A layer with parameters of its own, named `<name>.weight` and `<name>.bias`.
    public convenience init(name: String, inFeatures: Int, outFeatures: Int, batch: Int) {
        self.init(inFeatures: inFeatures, outFeatures: outFeatures, batch: batch,
                  weight: Parameter(name + ".weight", [outFeatures, inFeatures], decays: true),
                  bias: Parameter(name + ".bias", [outFeatures], decays: false))
    }

    public func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        let N = batch
        for f in 0..<outFeatures { (y + f * N).update(repeating: bias.value[f], count: N) }
        gemm(m: outFeatures, n: N, k: inFeatures, a: weight.value.data, b: x, beta: 1, c: y)
    }

    /// Writes `weight.grad`, `bias.grad` and, when given, `dx` (`[F_in][N]`, overwritten).
    public func backward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?) {
        if let dx { backwardData(dy: dy, dx: dx) }
        backwardWeights(x: x, dy: dy)
    }

    /// `dx = wᵀ · dy` (`[F_in][N]`, overwritten): what the previous layer's devices wait for.
    public func backwardData(dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>) {
        gemm(transA: true, m: inFeatures, n: batch, k: outFeatures, a: weight.value.data, b: dy, c: dx)
    }

    /// `weight.grad = dy · xᵀ`, `bias.grad = Σ_n dy` (overwritten).
    public func backwardWeights(x: UnsafePointer<Float>, dy: UnsafePointer<Float>) {
        axmp_sum_rows(dy, bias.grad.data, outFeatures, batch)
        gemm(transB: true, m: outFeatures, n: inFeatures, k: batch, a: dy, b: x, c: weight.grad.data)
    }
}

/// `[C][N][P]` maps → `[C·P][N]` features (P = H·W), and back for the gradient.
public enum Flatten {
    public static func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, channels: Int, batch: Int, plane: Int) {
        for c in 0..<channels {
            let src = x + c * batch * plane, dst = y + c * plane * batch
            for n in 0..<batch {
                for p in 0..<plane { dst[p * batch + n] = src[n * plane + p] }
            }
        }
    }

    public static func backward(_ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, channels: Int, batch: Int, plane: Int) {
        for c in 0..<channels {
            let src = dy + c * plane * batch, dst = dx + c * batch * plane
            for n in 0..<batch {
                for p in 0..<plane { dst[n * plane + p] = src[p * batch + n] }
            }
        }
    }
}
