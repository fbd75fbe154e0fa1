import AlexNetCore
import XCTest

final class RandomStreamTests: XCTestCase {
    func draws(_ s: RandomStream, _ count: Int = 64) -> [UInt64] {
        var s = s
        return (0..<count).map { _ in s.next() }
    }

    func testSameKeySameValues() {
        let a = RandomStream(seed: 42, .dropout, 3, 1, 17)
        let b = RandomStream(seed: 42, .dropout, parts: [3, 1, 17])
        XCTAssertEqual(a.key, b.key)
        XCTAssertEqual(draws(a), draws(b))
    }

    func testDifferentKeysDiffer() {
        let base = draws(RandomStream(seed: 42, .dropout, 3, 1, 17))
        let others: [(String, RandomStream)] = [
            ("seed", RandomStream(seed: 43, .dropout, 3, 1, 17)),
            ("purpose", RandomStream(seed: 42, .crop, 3, 1, 17)),
            ("first part", RandomStream(seed: 42, .dropout, 4, 1, 17)),
            ("middle part", RandomStream(seed: 42, .dropout, 3, 0, 17)),
            ("last part", RandomStream(seed: 42, .dropout, 3, 1, 18)),
            ("parts swapped", RandomStream(seed: 42, .dropout, 1, 3, 17)),
            ("extra part", RandomStream(seed: 42, .dropout, 3, 1, 17, 0)),
            ("negative part", RandomStream(seed: 42, .dropout, 3, 1, -17)),
        ]
        for (what, s) in others {
            let d = draws(s)
            let same = zip(base, d).filter { $0 == $1 }.count
            XCTAssertEqual(same, 0, "changing the \(what) left \(same) of 64 draws unchanged")
        }
    }

    func testBitsAtIsTheSequence() {
        var s = RandomStream(seed: 7, .shuffle, 2)
        let fresh = s
        for i in 0..<10 {
            XCTAssertEqual(s.counter, UInt64(i))
            XCTAssertEqual(s.next(), fresh.bits(at: UInt64(i)))
        }
    }

    func testUniformAndBelowRanges() {
        var s = RandomStream(seed: 1, .test, 0)
        var sum = 0.0
        let count = 20_000
        for _ in 0..<count {
            let u = s.uniform()
            XCTAssert(u >= 0 && u < 1, "uniform() gave \(u)")
            sum += Double(u)
        }
        XCTAssertEqual(sum / Double(count), 0.5, accuracy: 0.01)
        var histogram = [Int](repeating: 0, count: 7)
        for _ in 0..<7000 { histogram[s.below(7)] += 1 }
        for (v, h) in histogram.enumerated() { XCTAssert((850...1150).contains(h), "below(7) gave \(v) \(h) times in 7000") }
    }

    func testPermutationIsAPermutation() {
        for n in [0, 1, 2, 10, 1000] {
            var s = RandomStream(seed: 5, .shuffle, n)
            let p = s.permutation(n)
            XCTAssertEqual(p.sorted(), Array(0..<n), "permutation(\(n)) is not a permutation of 0..<\(n)")
        }
        var a = RandomStream(seed: 5, .shuffle, 0), b = RandomStream(seed: 5, .shuffle, 1)
        let pa = a.permutation(1000), pb = b.permutation(1000)
        XCTAssertNotEqual(pa, Array(0..<1000), "a shuffle of 1000 left everything in place")
        XCTAssertNotEqual(pa, pb, "different epochs shuffled the same way")
        let fixedPoints = pa.enumerated().filter { $0.offset == $0.element }.count
        XCTAssertLessThan(fixedPoints, 10, "\(fixedPoints) fixed points in a random permutation of 1000 (expect about 1)")
    }

    /// All 6 orders of three items come out about equally often (Fisher–Yates, not Sattolo's
    /// cycles, which never leave an item in place).
    func testPermutationIsUniform() {
        var counts: [[Int]: Int] = [:]
        let trials = 6000
        for t in 0..<trials {
            var s = RandomStream(seed: 9, .shuffle, t)
            counts[s.permutation(3), default: 0] += 1
        }
        XCTAssertEqual(counts.count, 6, "only \(counts.count) of the 6 orders of three items appeared")
        for (p, c) in counts { XCTAssert((850...1150).contains(c), "order \(p) appeared \(c) times in 6000 (expect 1000)") }
    }

    func testNormalMeanAndVariance() {
        var s = RandomStream(seed: 2024, .initWeights, 0, 0)
        let count = 20_000
        var sum = 0.0, sumSq = 0.0, beyond3 = 0
        for _ in 0..<count {
            let z = s.normal()
            XCTAssert(z.isFinite)
            sum += z; sumSq += z * z
            if abs(z) > 3 { beyond3 += 1 }
        }
        let mean = sum / Double(count), variance = sumSq / Double(count) - mean * mean
        // Standard errors: 1/√20000 ≈ 0.007 for the mean, √(2/20000) = 0.01 for the variance.
        XCTAssertEqual(mean, 0, accuracy: 0.03)
        XCTAssertEqual(variance, 1, accuracy: 0.05)
        XCTAssert((20...90).contains(beyond3), "\(beyond3) of 20000 draws beyond 3σ (expect about 54)")
    }

    func testMix64IsNotIdentityAndAvalanches() {
        XCTAssertNotEqual(mix64(1), 1)
        let flips = (mix64(0x1234) ^ mix64(0x1235)).nonzeroBitCount
        XCTAssert((16...48).contains(flips), "one input bit flipped \(flips) output bits")
    }
}
