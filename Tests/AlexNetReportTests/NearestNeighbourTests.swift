import AlexNetCore
@testable import AlexNetReport
import XCTest

final class NearestNeighbourTests: XCTestCase {
    /// The GEMM search against a plain loop over every pair, on random features.
    func testAgainstBruteForce() {
        var rng = RandomStream(seed: 3, .test, 1)
        let d = 37, n = 500, q = 6, k = 7
        let base = (0..<(n * d)).map { _ in Float(rng.normal()) }
        let queries = (0..<(q * d)).map { _ in Float(rng.normal()) }
        let found = NearestNeighbours.search(queries: queries, base: base, dimensions: d, k: k)
        for i in 0..<q {
            var all: [(Int, Double)] = []
            for j in 0..<n {
                var s = 0.0
                for t in 0..<d { let e = Double(queries[i * d + t]) - Double(base[j * d + t]); s += e * e }
                all.append((j, s.squareRoot()))
            }
            all.sort { $0.1 < $1.1 }
            XCTAssertEqual(found[i].map(\.index), all.prefix(k).map(\.0), "query \(i)")
            for (m, b) in zip(found[i], all.prefix(k)) { XCTAssertEqual(m.distance, b.1, accuracy: 1e-9) }
        }
    }

    /// Points on a line, checked by hand: 0, 1, 3, 6, 10 seen from 2.5 → 3 (0.5), 1 (1.5), 0 (2.5).
    func testByHand() {
        let found = NearestNeighbours.search(queries: [2.5], base: [0, 1, 3, 6, 10], dimensions: 1, k: 3)
        XCTAssertEqual(found[0].map(\.index), [2, 1, 0])
        XCTAssertEqual(found[0].map(\.distance), [0.5, 1.5, 2.5])
    }
}
