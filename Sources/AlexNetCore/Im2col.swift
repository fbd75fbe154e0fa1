import CKernels

/// Lowering of a convolution onto GEMM for the `[C][N][H][W]` layout.
///
/// The output `[K][N][Ho][Wo]` is, per channel, `N·Ho` rows of `Wo` positions: row `r` is image
/// `r / Ho`, output row `r % Ho`. `im2col` writes, for the output rows `r0 ..< r0+rows`, the matrix
/// `col[(c·kh + i)·kw + j][(r − r0)·Wo + x] = input[c][n][y·s − p + i][x·s − p + j]`
/// (`n = r / Ho`, `y = r % Ho`; zero outside the map): `C·kh·kw` rows and `rows·Wo` columns.
/// Those columns are contiguous in the output, so the convolution of the chunk is one GEMM,
/// `out[K][r0·Wo ..< (r0+rows)·Wo] = weights[K][C·kh·kw] × col`. A chunk may start and end
/// inside an image: its size is set by the cache, not by the images (see `Convolution.chunkRows`).
public struct ConvGeometry: Equatable, Sendable {
    public var channels: Int, height: Int, width: Int, batch: Int
    public var kernel: Int, stride: Int, pad: Int
    public var outHeight: Int { outputSize(height, kernel: kernel, stride: stride, pad: pad) }
    public var outWidth: Int { outputSize(width, kernel: kernel, stride: stride, pad: pad) }
    public var colRows: Int { channels * kernel * kernel }
    public var outPlane: Int { outHeight * outWidth }
    /// Output rows of the whole minibatch: `N·Ho`.
    public var outRows: Int { batch * outHeight }

    public init(channels: Int, height: Int, width: Int, batch: Int, kernel: Int, stride: Int, pad: Int) {
        self.channels = channels; self.height = height; self.width = width; self.batch = batch
        self.kernel = kernel; self.stride = stride; self.pad = pad
    }
}

/// Writes the columns of output rows `r0 ..< r0+rows` (see above). The loops are in C
/// (`axmp_im2col`, built for AVX-512/AVX2): Swift's version made a memmove call per short row and
/// left the strided copies scalar, and im2col + col2im were 15% of a Fashion-MNIST step.
public func im2col(_ g: ConvGeometry, input: UnsafePointer<Float>, r0: Int, rows: Int,
                   col: UnsafeMutablePointer<Float>) {
    axmp_im2col(input, col, g.channels, g.batch, g.height, g.width, g.kernel, g.stride, g.pad,
                g.outHeight, g.outWidth, r0, rows)
}

/// The adjoint of `im2col`: adds every column entry back onto the input position it was read
/// from. `input` (the gradient) must be zeroed by the caller. `col` is a workspace: its entries
/// that im2col would fill with padding zeros may be overwritten with zeros.
public func col2im(_ g: ConvGeometry, col: UnsafeMutablePointer<Float>, r0: Int, rows: Int,
                   input: UnsafeMutablePointer<Float>) {
    axmp_col2im(col, input, g.channels, g.batch, g.height, g.width, g.kernel, g.stride, g.pad,
                g.outHeight, g.outWidth, r0, rows)
}
