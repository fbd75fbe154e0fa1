import AlexNetCore
import CKernels

/// One group's convolution, lowered onto GEMM by `im2col` over chunks of output rows.
///
/// - input  `x`: `[C][N][H][W]` — `C` is the group's own channels, or every group's when the
///   layer reads all groups (the exchange has already gathered them in group order).
/// - weight `w`: `[K][C·kh·kw]`, bias `b`: `[K]` (PyTorch's `[K][C][kh][kw]` in memory).
/// - output `y`: `[K][N][Ho][Wo]`.
/// Forward: `y[k][n, y, x] = b[k] + Σ_{c,i,j} w[k][c,i,j] · x[c][n][y·s−p+i][x·s−p+j]`.
///
/// The backward pass comes in two halves that read only `dy`: `backwardData` (the gradient
/// with respect to the input, which the next device may be waiting for) and
/// `backwardWeights`, so the network can send the first while it computes the second.
public final class Convolution {
    public let geometry: ConvGeometry
    public let outChannels: Int
    public let weight: Parameter
    public let bias: Parameter
    /// Output rows (`N·Ho` in all) lowered per GEMM: see `chunkRows(for:)`.
    public let chunk: Int

    /// A convolution over the parameters it is given (`weight` `[K][C·kh·kw]`, `bias` `[K]`).
    /// `chunkRows`: output rows per GEMM; nil for `chunkRows(for:)` (tests choose small chunks).
    public init(geometry: ConvGeometry, outChannels: Int, weight: Parameter, bias: Parameter, chunkRows: Int? = nil) {
        precondition(weight.value.shape == [outChannels, geometry.colRows] && bias.value.shape == [outChannels])
        self.geometry = geometry
        self.outChannels = outChannels
        self.weight = weight
        self.bias = bias
        chunk = max(1, min(geometry.outRows, chunkRows ?? Convolution.chunkRows(for: geometry)))
    }

    /// A convolution with parameters of its own, named `<name>.weight` and `<name>.bias`.
    public convenience init(name: String, geometry: ConvGeometry, outChannels: Int, chunkRows: Int? = nil) {
        self.init(geometry: geometry, outChannels: outChannels,
                  weight: Parameter(name + ".weight", [outChannels, geometry.colRows], decays: true),
                  bias: Parameter(name + ".bias", [outChannels], decays: false), chunkRows: chunkRows)
    }

    /// Column-matrix floats a chunk should stay under: 256 Ki floats (1 MiB, a core's L2 here), so
    /// the matrix that im2col writes is still in cache when OpenBLAS packs it. Whole-image chunks
    /// of up to 8 Mi floats sent it through memory: 14% slower on the paper's net, 12% on
    /// Fashion-MNIST's (BENCHMARKS.md, "What made the difference").
    public static let columnBudget = 1 << 18
    /// Fewest GEMM columns per chunk: below this OpenBLAS re-packs the weights too often.
    public static let minimumColumns = 512

    /// The output rows per chunk for a layer's shape; depends only on the shape, so every
    /// placement of the model sums in the same order.
    public static func chunkRows(for g: ConvGeometry) -> Int {
        let perRow = max(1, g.colRows * g.outWidth)
        let fit = columnBudget / perRow
        let least = (minimumColumns + g.outWidth - 1) / max(1, g.outWidth)
        return max(1, min(g.outRows, max(fit, least)))
    }
    /// Floats of workspace a layer of this shape needs for its chunk.
    public static func workspaceFloats(for g: ConvGeometry) -> Int { g.colRows * g.outWidth * chunkRows(for: g) }
    /// Floats of workspace this layer needs for its chunk.
    public var workspaceNeeded: Int { geometry.colRows * geometry.outWidth * chunk }

    /// Calls `body(r0, rows)` for each chunk of output rows, in order.
    @inline(__always) private func eachChunk(_ body: (Int, Int) -> Void) {
        let total = geometry.outRows
        var r0 = 0
        while r0 < total {
            let rows = min(chunk, total - r0)
            body(r0, rows)
            r0 += rows
        }
    }

    public func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>) {
        let g = geometry, Wo = g.outWidth, ld = g.batch * g.outPlane
        eachChunk { r0, rows in
            im2col(g, input: x, r0: r0, rows: rows, col: workspace)
            gemm(m: outChannels, n: rows * Wo, k: g.colRows, a: weight.value.data, b: workspace,
                 c: y + r0 * Wo, ldc: ld)
        }
        axmp_add_bias(y, bias.value.data, outChannels, ld)
    }

    /// Both halves of the backward pass: `weight.grad`, `bias.grad` and, when `dx` is given,
    /// the gradient with respect to the input (all overwritten, nothing accumulated).
    public func backward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                         workspace: UnsafeMutablePointer<Float>) {
        if let dx { backwardData(dy: dy, dx: dx, workspace: workspace) }
        backwardWeights(x: x, dy: dy, workspace: workspace)
    }

    /// `dx = col2im(wᵀ · dy)`, overwritten.
    public func backwardData(dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>) {
        let g = geometry, Wo = g.outWidth, ld = g.batch * g.outPlane
        dx.update(repeating: 0, count: g.channels * g.batch * g.height * g.width)
        eachChunk { r0, rows in
            gemm(transA: true, m: g.colRows, n: rows * Wo, k: outChannels,
                 a: weight.value.data, b: dy + r0 * Wo, ldb: ld, c: workspace)
            col2im(g, col: workspace, r0: r0, rows: rows, input: dx)
        }
    }

    /// `weight.grad = dy · im2col(x)ᵀ` summed over the chunks in order, `bias.grad = Σ dy`.
    public func backwardWeights(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, workspace: UnsafeMutablePointer<Float>) {
        let g = geometry, Wo = g.outWidth, ld = g.batch * g.outPlane
        axmp_sum_rows(dy, bias.grad.data, outChannels, ld)
        eachChunk { r0, rows in
            im2col(g, input: x, r0: r0, rows: rows, col: workspace)
            gemm(transB: true, m: outChannels, n: g.colRows, k: rows * Wo,
                 a: dy + r0 * Wo, lda: ld, b: workspace, ldb: rows * Wo,
                 beta: r0 == 0 ? 0 : 1, c: weight.grad.data)
        }
    }
}
