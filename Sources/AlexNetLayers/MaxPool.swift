/// Overlapping max pooling (the paper's z = 3, s = 2), over each `H×W` plane of `[C][N][H][W]`.
/// Output `[C][N][Ho][Wo]` with `Ho = (H − z)/s + 1` (no padding: 55 → 27 → 13 → 6).
/// `index` keeps, per output, the offset of the winning input inside its plane (first maximum
/// wins a tie) for the backward pass.
public enum MaxPool {
    public static func outputSize(_ h: Int, size: Int, stride: Int) -> Int { (h - size) / stride + 1 }

    public static func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, index: UnsafeMutablePointer<Int32>,
                               planes: Int, height H: Int, width W: Int, size z: Int, stride s: Int) {
        let Ho = outputSize(H, size: z, stride: s), Wo = outputSize(W, size: z, stride: s)
        for p in 0..<planes {
            let xp = x + p * H * W, yp = y + p * Ho * Wo, ip = index + p * Ho * Wo
            for oy in 0..<Ho {
                for ox in 0..<Wo {
                    var best = -Float.infinity, at = 0
                    for i in 0..<z {
                        let row = (oy * s + i) * W + ox * s
                        for j in 0..<z where xp[row + j] > best { best = xp[row + j]; at = row + j }
                    }
                    yp[oy * Wo + ox] = best
                    ip[oy * Wo + ox] = Int32(at)
                }
            }
        }
    }

    /// `dx` is overwritten: zero, then each output's gradient added at its winner.
    public static func backward(dy: UnsafePointer<Float>, index: UnsafePointer<Int32>, dx: UnsafeMutablePointer<Float>,
                                planes: Int, height H: Int, width W: Int, size z: Int, stride s: Int) {
        let Ho = outputSize(H, size: z, stride: s), Wo = outputSize(W, size: z, stride: s)
        dx.update(repeating: 0, count: planes * H * W)
        for p in 0..<planes {
            let dxp = dx + p * H * W, dyp = dy + p * Ho * Wo, ip = index + p * Ho * Wo
            for o in 0..<(Ho * Wo) { dxp[Int(ip[o])] += dyp[o] }
        }
    }
}
