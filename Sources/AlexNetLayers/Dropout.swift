import AlexNetCore

/// Dropout with probability `p` (0.5 on fc6 and fc7), **scaled at training time**: kept units
/// are multiplied by 1/(1−p), so inference uses the layer unchanged and needs no rescaling. (The
/// paper instead multiplied by 0.5 at test time; the two are equivalent in expectation.)
///
/// The mask of element `e` of layer `layer`, group `group`, at training step `step` is drawn
/// from a stream keyed by exactly those, so it does not depend on which rank holds the group.
public enum Dropout {
    /// `first`: the stream position of element 0 (a minibatch cut into slices draws each slice's
    /// mask at its own place in the one stream).
    public static func forward(_ y: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>, count: Int,
                               p: Double, seed: UInt64, layer: Int, group: Int, step: Int, first: Int = 0) {
        let stream = RandomStream(seed: seed, .dropout, layer, group, step)
        let keep = 1 / Float(1 - p)
        let threshold = UInt64(p * 18_446_744_073_709_551_616.0)  // p · 2^64
        for e in 0..<count {
            mask[e] = stream.bits(at: UInt64(first + e)) < threshold ? 0 : keep
            y[e] *= mask[e]
        }
    }

    public static func backward(_ dy: UnsafeMutablePointer<Float>, mask: UnsafePointer<Float>, count: Int) {
        for e in 0..<count { dy[e] *= mask[e] }
    }
}
