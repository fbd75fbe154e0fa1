import Foundation

/// What a random draw is for. Every stream is keyed by its purpose and by *what* it draws for
/// (layer, group, epoch, step, image) — never by which process draws it — so a group moved to
/// another rank draws exactly the same numbers.
public enum RandomPurpose: UInt64, Sendable {
    case initWeights = 1, shuffle = 2, crop = 3, flip = 4, dropout = 5, test = 6, colour = 7
}

/// A counter-based stream: the `i`-th value is a hash of (key, i), so streams are cheap to
/// create, need no state beyond a counter, and any position can be reached directly.
public struct RandomStream: Sendable {
    public let key: UInt64
    public private(set) var counter: UInt64 = 0

    /// `seed` is the run's seed; `parts` say what the stream is for (layer, group, step, …).
    public init(seed: UInt64, _ purpose: RandomPurpose, _ parts: Int...) {
        self.init(seed: seed, purpose, parts: parts)
    }

    public init(seed: UInt64, _ purpose: RandomPurpose, parts: [Int]) {
        var h = mix64(seed &+ 0x9E37_79B9_7F4A_7C15)
        h = mix64(h ^ purpose.rawValue)
        for p in parts { h = mix64(h ^ UInt64(bitPattern: Int64(p)) &+ 0x632B_E59B_D9B4_E019) }
        key = h
    }

    /// The value at `index` without moving the stream.
    @inline(__always) public func bits(at index: UInt64) -> UInt64 { mix64(key ^ mix64(index &+ 0xD1B5_4A32_D192_ED03)) }

    @inline(__always) public mutating func next() -> UInt64 {
        let v = bits(at: counter)
        counter &+= 1
        return v
    }

    /// Uniform in [0, 1) with 24 bits, exactly representable as a Float.
    @inline(__always) public mutating func uniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Uniform integer in 0 ..< bound (bound small against 2^64: the bias is negligible).
    @inline(__always) public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// Standard normal by Box–Muller, in double precision.
    public mutating func normal() -> Double {
        let u1 = (Double(next() >> 11) + 0.5) * (1.0 / 9_007_199_254_740_992.0)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    /// A uniformly random permutation of 0 ..< n (Fisher–Yates).
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n > 1 {
            for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, below(i + 1)) }
        }
        return p
    }
}

/// SplitMix64's finaliser: a bijective 64-bit mixer with good avalanche.
@inline(__always) public func mix64(_ x: UInt64) -> UInt64 {
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
