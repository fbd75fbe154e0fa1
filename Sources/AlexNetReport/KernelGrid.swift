import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import AlexNetSimulator
import AlexNetTraining
import Foundation

/// conv1's kernels as pictures (the paper's Figure 3). One group's weights are `[K][C·k·k]`
/// (`[K][C][k][k]` in memory). Each kernel is normalised for display on its own: its smallest
/// value becomes 0 and its largest 255, over all its channels together, so a kernel's colour
/// balance is kept. Three channels are shown as RGB, one as grey; any other count as the
/// channels' mean in grey.
public enum KernelGrid {
    /// One kernel, normalised to [0, 1]: `[C][k][k]`; a constant kernel becomes 0.5.
    public static func normalised(_ w: ArraySlice<Float>) -> [Double] {
        let lo = Double(w.min() ?? 0), hi = Double(w.max() ?? 0)
        return w.map { hi > lo ? (Double($0) - lo) / (hi - lo) : 0.5 }
    }

    /// Kernel `index` of `weights` as a `size`×`size` bitmap.
    public static func kernel(_ weights: [Float], index: Int, channels C: Int, size k: Int) -> Bitmap {
        let n = C * k * k
        let v = normalised(weights[(index * n)..<((index + 1) * n)])
        var out = Bitmap(width: k, height: k, channels: C == 3 ? 3 : 1)
        func byte(_ x: Double) -> UInt8 { UInt8((255 * x).rounded()) }
        for y in 0..<k {
            for x in 0..<k {
                if C == 3 {
                    out.set(x, y, (0..<3).map { byte(v[$0 * k * k + y * k + x]) })
                } else {
                    out.set(x, y, [byte((0..<C).reduce(0) { $0 + v[$1 * k * k + y * k + x] } / Double(C))])
                }
            }
        }
        return out
    }

    /// Every kernel of one group in a grid of `columns`, each drawn `zoom` times larger, with
    /// `gap` pixels of background (`background`) between and around them.
    public static func grid(_ weights: [Float], kernels K: Int, channels C: Int, size k: Int, columns: Int = 8,
                            zoom: Int = 4, gap: Int = 2, background: UInt8 = 255) -> Bitmap {
        let cols = max(1, min(columns, K)), rows = (K + cols - 1) / cols
        let cell = k * zoom + gap
        var out = Bitmap(width: cols * cell + gap, height: rows * cell + gap, channels: C == 3 ? 3 : 1, fill: background)
        for i in 0..<K {
            out.paste(kernel(weights, index: i, channels: C, size: k).scaled(by: zoom),
                      x: gap + (i % cols) * cell, y: gap + (i / cols) * cell)
        }
        return out
    }

    /// The mean colour saturation of a group's kernels: over every pixel of every normalised
    /// kernel, HSV saturation (max − min) / max of its (r, g, b), 0 where max is 0. Near 0 for
    /// colour-agnostic kernels (r ≈ g ≈ b), larger for colour-specific ones. Nil unless C = 3:
    /// a grey image has no colour to measure.
    public static func meanSaturation(_ weights: [Float], kernels K: Int, channels C: Int, size k: Int) -> Double? {
        guard C == 3, K > 0 else { return nil }
        let n = C * k * k, plane = k * k
        var sum = 0.0
        for i in 0..<K {
            let v = normalised(weights[(i * n)..<((i + 1) * n)])
            for p in 0..<plane {
                let r = v[p], g = v[plane + p], b = v[2 * plane + p]
                let hi = max(r, g, b), lo = min(r, g, b)
                sum += hi > 0 ? (hi - lo) / hi : 0
            }
        }
        return sum / Double(K * plane)
    }
}
