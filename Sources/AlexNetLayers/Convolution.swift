import AlexNetCore

/// One group's convolution, lowered onto GEMM by `im2col` over chunks of the minibatch.
///
/// - input  `x`: `[C][N][H][W]` — `C` is the group's own channels, or every group's when the
///   layer reads all groups (the exchange has already gathered them in group order).
/// - weight `w`: `[K][C·kh·kw]`, bias `b`: `[K]` (PyTorch's `[K][C][kh][kw]` in memory).
/// - output `y`: `[K][N][Ho][Wo]`.
/// Forward: `y[k][n, y, x] = b[k] + Σ_{c,i,j} w[k][c,i,j] · x[c][n][y·s−p+i][x·s−p+j]`.
public final class Convolution {
    public let geometry: ConvGeometry
    public let outChannels: Int
    public let weight: Parameter
    public let bias: Parameter
    /// Images lowered per GEMM: as many as fit the workspace budget, so each GEMM is large.
    public let chunk: Int

    public init(name: String, geometry: ConvGeometry, outChannels: Int, workspaceFloats: Int) {
        self.geometry = geometry
        self.outChannels = outChannels
        weight = Parameter(name + ".weight", [outChannels, geometry.colRows], decays: true)
        bias = Parameter(name + ".bias", [outChannels], decays: false)
        chunk = Convolution.chunk(for: geometry, workspaceFloats: workspaceFloats)
    }

    /// The chunk size for a workspace budget; depends only on the layer's shape, so every
    /// placement of the model sums in the same order.
    public static func chunk(for g: ConvGeometry, workspaceFloats: Int) -> Int {
        max(1, min(g.batch, workspaceFloats / max(1, g.colRows * g.outPlane)))
    }
    /// Floats of workspace this layer needs for its chunk.
    public var workspaceNeeded: Int { geometry.colRows * geometry.outPlane * chunk }

    public func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>) {
        let g = geometry, plane = g.outPlane, ld = g.batch * plane
        var n0 = 0
        while n0 < g.batch {
            let nc = min(chunk, g.batch - n0)
            im2col(g, input: x, n0: n0, nChunk: nc, col: workspace)
            gemm(m: outChannels, n: nc * plane, k: g.colRows, a: weight.value.data, b: workspace,
                 c: y + n0 * plane, ldc: ld)
            n0 += nc
        }
        for k in 0..<outChannels {
            let row = y + k * ld, bk = bias.value[k]
            for i in 0..<ld { row[i] += bk }
        }
    }

    /// Accumulates nothing: writes `weight.grad` and `bias.grad` for this minibatch, and, when
    /// `dx` is given, the gradient with respect to the input (overwritten).
    public func backward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                         workspace: UnsafeMutablePointer<Float>) {
        let g = geometry, plane = g.outPlane, ld = g.batch * plane
        for k in 0..<outChannels {
            let row = dy + k * ld
            var s: Float = 0
            for i in 0..<ld { s += row[i] }
            bias.grad[k] = s
        }
        if let dx { dx.update(repeating: 0, count: g.channels * g.batch * g.height * g.width) }
        var n0 = 0
        while n0 < g.batch {
            let nc = min(chunk, g.batch - n0)
            im2col(g, input: x, n0: n0, nChunk: nc, col: workspace)
            gemm(transB: true, m: outChannels, n: g.colRows, k: nc * plane,
                 a: dy + n0 * plane, lda: ld, b: workspace, ldb: nc * plane,
                 beta: n0 == 0 ? 0 : 1, c: weight.grad.data)
            if let dx {
                gemm(transA: true, m: g.colRows, n: nc * plane, k: outChannels,
                     a: weight.value.data, b: dy + n0 * plane, ldb: ld, c: workspace)
                col2im(g, col: workspace, n0: n0, nChunk: nc, input: dx)
            }
            n0 += nc
        }
    }
}
