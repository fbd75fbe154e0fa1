import CKernels

/// Lowering of a convolution onto GEMM for the `[C][N][H][W]` layout.
///
/// `im2col` writes, for the images `n0 ..< n0+nChunk`, the matrix
/// `col[(c·kh + i)·kw + j][(n − n0)·Ho·Wo + y·Wo + x] = input[c][n][y·s − p + i][x·s − p + j]`
/// (zero outside the map): `C·kh·kw` rows and `nChunk·Ho·Wo` columns. The convolution is then
/// `out[K][n·Ho·Wo + …] = weights[K][C·kh·kw] × col`, one GEMM for the whole chunk.
public struct ConvGeometry: Equatable, Sendable {
    public var channels: Int, height: Int, width: Int, batch: Int
    public var kernel: Int, stride: Int, pad: Int
    public var outHeight: Int { outputSize(height, kernel: kernel, stride: stride, pad: pad) }
    public var outWidth: Int { outputSize(width, kernel: kernel, stride: stride, pad: pad) }
    public var colRows: Int { channels * kernel * kernel }
    public var outPlane: Int { outHeight * outWidth }

    public init(channels: Int, height: Int, width: Int, batch: Int, kernel: Int, stride: Int, pad: Int) {
        self.channels = channels; self.height = height; self.width = width; self.batch = batch
        self.kernel = kernel; self.stride = stride; self.pad = pad
    }
}

/// Writes chunk `n0 ..< n0+nChunk`'s columns (see above). The loops are in C (`axmp_im2col`,
/// built for AVX-512/AVX2): Swift's version made a memmove call per short row and left the
/// strided copies scalar, and im2col + col2im were 15% of a Fashion-MNIST step.
public func im2col(_ g: ConvGeometry, input: UnsafePointer<Float>, n0: Int, nChunk: Int,
                   col: UnsafeMutablePointer<Float>) {
    axmp_im2col(input, col, g.channels, g.batch, g.height, g.width, g.kernel, g.stride, g.pad,
                g.outHeight, g.outWidth, n0, nChunk)
}

/// The adjoint of `im2col`: adds every column entry back onto the input position it was read
/// from. `input` (the gradient) must be zeroed by the caller for the chunk's images.
public func col2im(_ g: ConvGeometry, col: UnsafePointer<Float>, n0: Int, nChunk: Int,
                   input: UnsafeMutablePointer<Float>) {
    axmp_col2im(col, input, g.channels, g.batch, g.height, g.width, g.kernel, g.stride, g.pad,
                g.outHeight, g.outWidth, n0, nChunk)
}
