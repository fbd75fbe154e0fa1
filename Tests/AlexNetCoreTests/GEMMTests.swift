import AlexNetCore
import XCTest
import _TestSupport

/// `gemm` against a naive triple loop in Double, row-major, with `op(A)` `m×k` and `op(B)` `k×n`.
final class GEMMTests: XCTestCase {
    /// `alpha·op(A)·op(B) + beta·C` written out element by element; `a`, `b`, `c` are stored
    /// with leading dimensions `lda`, `ldb`, `ldc`.
    func naiveGEMM(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                   a: [Float], lda: Int, b: [Float], ldb: Int, beta: Double, c: [Float], ldc: Int) -> [Double] {
        var out = c.map(Double.init)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for l in 0..<k {
                    let aij = transA ? a[l * lda + i] : a[i * lda + l]
                    let blj = transB ? b[j * ldb + l] : b[l * ldb + j]
                    s += Double(aij) * Double(blj)
                }
                out[i * ldc + j] = alpha * s + beta * Double(c[i * ldc + j])
            }
        }
        return out
    }

    func checkCombination(transA: Bool, transB: Bool, file: StaticString = #filePath, line: UInt = #line) {
        let m = 5, n = 7, k = 3
        let alpha: Float = 1.5, beta: Float = 0.5
        // Stored shapes: A is m×k (k×m when transposed), B is k×n (n×k when transposed).
        let a = randomTensor("A", transA ? [k, m] : [m, k], seed: 1)
        let b = randomTensor("B", transB ? [n, k] : [k, n], seed: 2)
        let c = randomTensor("C(transA: \(transA), transB: \(transB))", [m, n], seed: 3)
        let expected = naiveGEMM(transA: transA, transB: transB, m: m, n: n, k: k, alpha: Double(alpha),
                                 a: a.array, lda: transA ? m : k, b: b.array, ldb: transB ? k : n,
                                 beta: Double(beta), c: c.array, ldc: n)
        gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a.data, b: b.data,
             beta: beta, c: c.data)
        assertClose(c, expected, rtol: 1e-5, atol: 1e-6, file: file, line: line)
    }

    func testNoTranspose() { checkCombination(transA: false, transB: false) }
    func testTransposeA() { checkCombination(transA: true, transB: false) }
    func testTransposeB() { checkCombination(transA: false, transB: true) }
    func testTransposeBoth() { checkCombination(transA: true, transB: true) }

    /// Hand-checkable: [[1,2],[3,4]] · [[5,6],[7,8]] = [[19,22],[43,50]].
    func testTwoByTwoByHand() {
        let a = Tensor("A", [2, 2]), b = Tensor("B", [2, 2]), c = Tensor("C", [2, 2])
        a.copy(from: [1, 2, 3, 4]); b.copy(from: [5, 6, 7, 8])
        gemm(m: 2, n: 2, k: 2, a: a.data, b: b.data, c: c.data)
        XCTAssertEqual(c.array, [19, 22, 43, 50])
        gemm(transA: true, m: 2, n: 2, k: 2, a: a.data, b: b.data, c: c.data)
        XCTAssertEqual(c.array, [26, 30, 38, 44])  // Aᵀ·B
    }

    /// `ldc` wider than `n`: the product lands in columns 3 ..< 3+n of a 4×12 matrix and the
    /// other columns are untouched — how a convolution writes one chunk of images. `lda` and
    /// `ldb` also address blocks inside wider matrices.
    func testSubBlockWithLeadingDimensions() {
        let m = 4, n = 5, k = 6
        let lda = 9, ldb = 8, ldc = 12, col0 = 3
        let aWide = randomTensor("A.wide", [m, lda], seed: 11)      // A is columns 2 ..< 2+k
        let bWide = randomTensor("B.wide", [k, ldb], seed: 12)      // B is columns 1 ..< 1+n
        let cWide = randomTensor("C.wide", [m, ldc], seed: 13)
        let before = cWide.array

        var expected = before.map(Double.init)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for l in 0..<k { s += Double(aWide[i * lda + 2 + l]) * Double(bWide[l * ldb + 1 + j]) }
                expected[i * ldc + col0 + j] = s
            }
        }
        gemm(m: m, n: n, k: k, a: aWide.data + 2, lda: lda, b: bWide.data + 1, ldb: ldb,
             c: cWide.data + col0, ldc: ldc)
        assertClose(cWide, expected, rtol: 1e-5, atol: 1e-6)
        for i in 0..<m {
            for j in 0..<ldc where j < col0 || j >= col0 + n {
                XCTAssertEqual(cWide[i * ldc + j], before[i * ldc + j], "C.wide[\(i)][\(j)] outside the block changed")
            }
        }
    }

    func testMultiplyAdds() {
        XCTAssertEqual(gemmMultiplyAdds(m: 96, n: 3025, k: 363), 96 * 3025 * 363)
    }
}
