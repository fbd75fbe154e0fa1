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

public func im2col(_ g: ConvGeometry, input: UnsafePointer<Float>, n0: Int, nChunk: Int,
                   col: UnsafeMutablePointer<Float>) {
    let H = g.height, W = g.width, N = g.batch, k = g.kernel, s = g.stride, p = g.pad
    let Ho = g.outHeight, Wo = g.outWidth, plane = Ho * Wo
    let cols = nChunk * plane
    for c in 0..<g.channels {
        for i in 0..<k {
            for j in 0..<k {
                let row = col + ((c * k + i) * k + j) * cols
                for n in 0..<nChunk {
                    let src = input + (c * N + n0 + n) * H * W
                    let dst = row + n * plane
                    for y in 0..<Ho {
                        let iy = y * s - p + i
                        let d = dst + y * Wo
                        if iy < 0 || iy >= H {
                            d.update(repeating: 0, count: Wo)
                            continue
                        }
                        let srow = src + iy * W
                        if s == 1 {
                            // Contiguous run: x in [x0, x1) reads srow[x - p + j].
                            let x0 = max(0, p - j), x1 = min(Wo, W + p - j)
                            if x0 > 0 { d.update(repeating: 0, count: min(x0, Wo)) }
                            if x1 > x0 { (d + x0).update(from: srow + (x0 - p + j), count: x1 - x0) }
                            if x1 < Wo { (d + max(x1, 0)).update(repeating: 0, count: Wo - max(x1, 0)) }
                        } else {
                            for x in 0..<Wo {
                                let ix = x * s - p + j
                                d[x] = (ix >= 0 && ix < W) ? srow[ix] : 0
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint of `im2col`: adds every column entry back onto the input position it was read
/// from. `input` (the gradient) must be zeroed by the caller for the chunk's images.
public func col2im(_ g: ConvGeometry, col: UnsafePointer<Float>, n0: Int, nChunk: Int,
                   input: UnsafeMutablePointer<Float>) {
    let H = g.height, W = g.width, N = g.batch, k = g.kernel, s = g.stride, p = g.pad
    let Ho = g.outHeight, Wo = g.outWidth, plane = Ho * Wo
    let cols = nChunk * plane
    for c in 0..<g.channels {
        for i in 0..<k {
            for j in 0..<k {
                let row = col + ((c * k + i) * k + j) * cols
                for n in 0..<nChunk {
                    let dst = input + (c * N + n0 + n) * H * W
                    let src = row + n * plane
                    for y in 0..<Ho {
                        let iy = y * s - p + i
                        if iy < 0 || iy >= H { continue }
                        let drow = dst + iy * W
                        let srow = src + y * Wo
                        if s == 1 {
                            let x0 = max(0, p - j), x1 = min(Wo, W + p - j)
                            if x1 > x0 {
                                let d = drow + (x0 - p + j), sp = srow + x0
                                for x in 0..<(x1 - x0) { d[x] += sp[x] }
                            }
                        } else {
                            for x in 0..<Wo {
                                let ix = x * s - p + j
                                if ix >= 0 && ix < W { drow[ix] += srow[x] }
                            }
                        }
                    }
                }
            }
        }
    }
}
