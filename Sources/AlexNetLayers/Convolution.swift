import AlexNetCore
import CDNNL
import CKernels
import Foundation

/// One group's convolution, lowered onto GEMM by `im2col` over chunks of output rows.
///
/// - input  `x`: `[C][N][H][W]` — `C` is the group's own channels, or every group's when the
///   layer reads all groups (the exchange has already gathered them in group order).
/// - weight `w`: `[K][C·kh·kw]`, bias `b`: `[K]` (PyTorch's `[K][C][kh][kw]` in memory).
/// - output `y`: `[K][N][Ho][Wo]`.
/// Forward: `y[k][n, y, x] = b[k] + Σ_{c,i,j} w[k][c,i,j] · x[c][n][y·s−p+i][x·s−p+j]`.
///
/// The forward pass and the input gradient run on oneDNN's direct convolution where it has a
/// generated kernel for the shape (`OneDNNConvolution`), and on im2col + OpenBLAS otherwise; the
/// weight gradient runs on oneDNN where it is faster at the shape
/// (`OneDNNConvolution.computesWeightsGradient`), else on im2col + OpenBLAS. The choice depends
/// only on the shape and the CPU, so every placement of a model computes each pass with the same
/// code. `ALEXNET_MP_CONV=im2col` forces im2col everywhere (for A/B runs).
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
    /// oneDNN's passes (see the type's comment), when it has a generated kernel for this shape.
    public let direct: OneDNNConvolution?

    /// A convolution over the parameters it is given (`weight` `[K][C·kh·kw]`, `bias` `[K]`).
    /// `chunkRows`: output rows per GEMM; nil for `chunkRows(for:)` (tests choose small chunks).
    /// `algorithm`: `.auto` (oneDNN where it has a kernel) or `.im2col`; `inputGradient`: whether
    /// `backwardData` will be called (not for the first layer).
    public init(geometry: ConvGeometry, outChannels: Int, weight: Parameter, bias: Parameter, chunkRows: Int? = nil,
                algorithm: ConvolutionAlgorithm = .chosen, inputGradient: Bool = true,
                oneDNNBudget: Int = OneDNNConvolution.budgetFloats) {
        precondition(weight.value.shape == [outChannels, geometry.colRows] && bias.value.shape == [outChannels])
        self.geometry = geometry
        self.outChannels = outChannels
        self.weight = weight
        self.bias = bias
        chunk = max(1, min(geometry.outRows, chunkRows ?? Convolution.chunkRows(for: geometry)))
        direct = algorithm == .auto
            ? OneDNNConvolution(geometry, outChannels: outChannels, inputGradient: inputGradient, budgetFloats: oneDNNBudget) : nil
    }

    /// A convolution with parameters of its own, named `<name>.weight` and `<name>.bias`.
    public convenience init(name: String, geometry: ConvGeometry, outChannels: Int, chunkRows: Int? = nil,
                            algorithm: ConvolutionAlgorithm = .chosen, inputGradient: Bool = true,
                            oneDNNBudget: Int = OneDNNConvolution.budgetFloats) {
        self.init(geometry: geometry, outChannels: outChannels,
                  weight: Parameter(name + ".weight", [outChannels, geometry.colRows], decays: true),
                  bias: Parameter(name + ".bias", [outChannels], decays: false), chunkRows: chunkRows,
                  algorithm: algorithm, inputGradient: inputGradient, oneDNNBudget: oneDNNBudget)
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
    /// Floats of workspace im2col needs for a layer of this shape (its chunk's column matrix).
    public static func workspaceFloats(for g: ConvGeometry) -> Int { g.colRows * g.outWidth * chunkRows(for: g) }
    /// Floats of workspace a layer of this shape needs with `algorithm`: im2col's chunk, or
    /// oneDNN's blocked copies when it runs the layer, whichever is larger (the passes take turns).
    public static func workspaceFloats(for g: ConvGeometry, outChannels: Int, inputGradient: Bool,
                                       algorithm: ConvolutionAlgorithm = .chosen) -> Int {
        let direct = algorithm == .auto
            ? OneDNNConvolution(g, outChannels: outChannels, inputGradient: inputGradient)?.workspaceFloats ?? 0 : 0
        return max(workspaceFloats(for: g), direct)
    }
    /// Floats of workspace this layer needs.
    public var workspaceNeeded: Int { max(geometry.colRows * geometry.outWidth * chunk, direct?.workspaceFloats ?? 0) }

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
        if let direct {
            direct.forward(x: x, weight: weight.value.data, bias: bias.value.data, y: y, workspace: workspace)
            return
        }
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
        if let direct, direct.inputGradient {
            direct.backwardData(dy: dy, weight: weight.value.data, dx: dx, workspace: workspace)
            return
        }
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
        if let direct, direct.weightsGradient {
            direct.backwardWeights(x: x, dy: dy, dw: weight.grad.data, workspace: workspace)
            return
        }
        eachChunk { r0, rows in
            im2col(g, input: x, r0: r0, rows: rows, col: workspace)
            gemm(transB: true, m: outChannels, n: g.colRows, k: rows * Wo,
                 a: dy + r0 * Wo, lda: ld, b: workspace, ldb: rows * Wo,
                 beta: r0 == 0 ? 0 : 1, c: weight.grad.data)
        }
    }
}

/// Which code computes a convolution's passes.
public enum ConvolutionAlgorithm: String, Sendable {
    /// oneDNN's direct convolution where it has a generated kernel for the shape, im2col otherwise.
    case auto
    /// im2col + OpenBLAS for every pass.
    case im2col

    /// The process's choice: `.auto`, or what `ALEXNET_MP_CONV` names (`im2col` for A/B runs).
    public static let chosen: ConvolutionAlgorithm = {
        guard let name = ProcessInfo.processInfo.environment["ALEXNET_MP_CONV"], !name.isEmpty else { return .auto }
        guard let a = ConvolutionAlgorithm(rawValue: name) else {
            FileHandle.standardError.write(Data("alexnet-mp: ALEXNET_MP_CONV=\(name) is not one of auto, im2col; using auto\n".utf8))
            return .auto
        }
        return a
    }()

    /// For the first log line: "convolutions on oneDNN 2.6.3 where it has kernels, else im2col + OpenBLAS".
    public var description: String {
        self == .im2col ? "convolutions on im2col + OpenBLAS (ALEXNET_MP_CONV=im2col)"
            : "convolutions on \(OneDNNConvolution.version) where it has kernels, else im2col + OpenBLAS"
    }
}

/// oneDNN's direct convolution of one group at one shape (C in `Sources/CDNNL`): the forward pass
/// with its bias, the input gradient when asked, and the weight gradient where it is faster, each
/// over chunks of images copied into oneDNN's blocked layout inside the caller's workspace. Why:
/// at our shapes it is 1.1-2x faster than im2col + OpenBLAS for the first two passes
/// (BENCHMARKS.md, issue 19), because it never writes the lowered matrix.
public final class OneDNNConvolution {
    private let handle: OpaquePointer
    public let inputGradient: Bool
    /// Whether oneDNN computes the weight gradient too (see `weightsRule`).
    public let weightsGradient: Bool
    public let workspaceFloats: Int
    /// Images per chunk, and oneDNN's name for its kernel ("jit:avx2").
    public let chunk: Int
    public let implementation: String

    /// nil when oneDNN has no generated kernel for the shape on this CPU. `budgetFloats`: what the
    /// blocked copies of a chunk may take (tests make chunks small).
    public init?(_ g: ConvGeometry, outChannels: Int, inputGradient: Bool, askWeightsGradient: Bool? = nil,
                 budgetFloats: Int = OneDNNConvolution.budgetFloats) {
        var why = [CChar](repeating: 0, count: 256)
        let wantWeights = askWeightsGradient ?? OneDNNConvolution.computesWeightsGradient(g)
        guard let h = axmp_dnnl_conv_create(g.channels, g.batch, g.height, g.width, outChannels, g.kernel, g.stride, g.pad,
                                            inputGradient ? 1 : 0, wantWeights ? 1 : 0, budgetFloats, &why, 256) else { return nil }
        handle = h
        self.inputGradient = inputGradient
        weightsGradient = axmp_dnnl_conv_has_weights_gradient(h) != 0
        workspaceFloats = axmp_dnnl_conv_workspace_floats(h)
        chunk = axmp_dnnl_conv_chunk(h)
        implementation = String(cString: axmp_dnnl_conv_impl(h))
    }
    deinit { axmp_dnnl_conv_destroy(handle) }

    /// Floats of one image's blocked input and output copies (the unit of `budgetFloats`).
    public var perImageFloats: Int { axmp_dnnl_conv_per_image_floats(handle) }

    /// Blocked input and output copies of a chunk stay under 4 Mi floats (16 MiB: in L3 between
    /// the copy and the convolution). 1, 2 and 4 Mi floats ran the paper's net at the same speed
    /// (3.38-3.48 s a step on Zen 3, 2 rounds); 4 Mi makes the fewest oneDNN calls: 1458
    /// allocations a step against 5866 at 1 Mi (conv1 at 1 Mi: a call per image).
    public static let budgetFloats = 1 << 22

    public func forward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                        y: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>) {
        let failed = axmp_dnnl_conv_forward(handle, x, weight, bias, y, workspace)
        precondition(failed == 0, "oneDNN's convolution failed")
    }

    public func backwardData(dy: UnsafePointer<Float>, weight: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                             workspace: UnsafeMutablePointer<Float>) {
        let failed = axmp_dnnl_conv_backward_data(handle, dy, weight, dx, workspace)
        precondition(failed == 0, "oneDNN's input gradient failed")
    }

    /// dw (weights only) = the weight gradient, overwritten, summed chunk by chunk in image order.
    public func backwardWeights(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dw: UnsafeMutablePointer<Float>,
                                workspace: UnsafeMutablePointer<Float>) {
        let failed = axmp_dnnl_conv_backward_weights(handle, x, dy, dw, workspace)
        precondition(failed == 0, "oneDNN's weight gradient failed")
    }

    /// Whether oneDNN should compute a layer's weight gradient: when its im2col GEMM's output,
    /// `K × C·kh·kw`, has 64 to 1280 columns. Measured per layer (Zen 3, BENCHMARKS.md): oneDNN
    /// wins at 800-1200 (Fashion-MNIST conv2-conv5 1.1-1.2x, the paper's conv2 1.06x) and loses
    /// at 25 (Fashion-MNIST conv1: 40 against 23 ms) and at 1728-2304 (the paper's conv3-conv5,
    /// where OpenBLAS's long GEMM runs at its peak: 0.85-0.9x). Shape only: every placement agrees.
    public static func computesWeightsGradient(_ g: ConvGeometry) -> Bool { (64...1280).contains(g.colRows) }

    /// "oneDNN 2.6.3".
    public static var version: String { "oneDNN " + String(cString: axmp_dnnl_version()) }
}
