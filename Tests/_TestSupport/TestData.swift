import AlexNetCore

// Deterministic inputs for tests: every value comes from a `RandomStream` keyed by the
// caller's seed, so a failing test fails the same way on every machine and every run.

/// `count` values uniform in `range`, keyed by `seed`.
public func testValues(_ count: Int, seed: UInt64, in range: ClosedRange<Float> = -1...1) -> [Float] {
    var stream = RandomStream(seed: seed, .test, count)
    let width = range.upperBound - range.lowerBound
    return (0..<count).map { _ in range.lowerBound + width * stream.uniform() }
}

/// A new tensor filled with `testValues`.
public func randomTensor(_ name: String, _ shape: [Int], seed: UInt64, in range: ClosedRange<Float> = -1...1) -> Tensor {
    let t = Tensor(name, shape)
    t.copy(from: testValues(t.count, seed: seed, in: range))
    return t
}

/// Overwrites `t` with `testValues`.
public func fillRandom(_ t: Tensor, seed: UInt64, in range: ClosedRange<Float> = -1...1) {
    t.copy(from: testValues(t.count, seed: seed, in: range))
}

/// A random permutation of `offset + spacing·i`, `i = 0 ..< count`: distinct values at least
/// `spacing` apart, so a finite-difference step below `spacing/2` never changes which one is
/// largest (the kinks of max pooling stay out of reach).
public func separatedValues(_ count: Int, spacing: Float, offset: Float = 0, seed: UInt64) -> [Float] {
    var stream = RandomStream(seed: seed, .test, count, 1)
    return stream.permutation(count).map { offset + spacing * Float($0) }
}

/// `Σ a[i]·b[i]` accumulated in Double.
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Double {
    var s = 0.0
    for i in 0..<count { s += Double(a[i]) * Double(b[i]) }
    return s
}

public func dot(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count, "dot: \(a.count) values against \(b.count)")
    var s = 0.0
    for i in 0..<a.count { s += Double(a[i]) * Double(b[i]) }
    return s
}

/// The scalar loss of the gradient checks: `Σ r[i]·y[i]` in Double, with fixed random weights
/// `r`, so `∂loss/∂y = r` is what the backward pass is given as `dy`.
public func weightedSum(_ y: Tensor, _ r: Tensor) -> Double {
    precondition(y.count == r.count, "weightedSum: \(y.name) has \(y.count) values, \(r.name) has \(r.count)")
    return dot(y.data, r.data, count: y.count)
}
