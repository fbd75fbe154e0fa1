import CBLAS

/// The one GEMM entry point: `C = alpha * op(A) * op(B) + beta * C`, all matrices **row-major**.
///
/// - `op(A)` is `m × k`, `op(B)` is `k × n`, `C` is `m × n`.
/// - Leading dimensions default to the packed width of each stored matrix: `A` is stored
///   `m × k` (or `k × m` when transposed), so its `lda` is `k` (or `m`); likewise for `B`.
///   Pass `ldc` (or `lda`/`ldb`) explicitly to address a block of columns inside a wider
///   matrix, as the convolutions do to write one chunk of images into the `[K][N·H·W]` output.
@inline(__always)
public func gemm(transA: Bool = false, transB: Bool = false,
                 m: Int, n: Int, k: Int,
                 alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
                 b: UnsafePointer<Float>, ldb: Int? = nil,
                 beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
    let lda = lda ?? (transA ? m : k)
    let ldb = ldb ?? (transB ? k : n)
    let ldc = ldc ?? n
    cblas_sgemm(CblasRowMajor,
                transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Multiply-adds of one `m × n × k` GEMM (for GFLOP/s figures: FLOPs are twice this).
@inlinable public func gemmMultiplyAdds(m: Int, n: Int, k: Int) -> Int { m * n * k }
