import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import AlexNetSimulator
import AlexNetTraining
import Foundation

/// Counts of (true class, predicted class) over a test set: `counts[truth][predicted]`.
public struct ConfusionMatrix: Equatable, Sendable {
    public let classes: Int
    public private(set) var counts: [[Int]]

    public init(classes: Int) {
        self.classes = classes
        counts = Array(repeating: Array(repeating: 0, count: classes), count: classes)
    }

    public mutating func add(truth: Int, predicted: Int) { counts[truth][predicted] += 1 }

    public var total: Int { counts.reduce(0) { $0 + $1.reduce(0, +) } }
    public var correct: Int { (0..<classes).reduce(0) { $0 + counts[$1][$1] } }
    /// The share of class `c`'s images predicted as `c`.
    public func recall(_ c: Int) -> Double {
        let n = counts[c].reduce(0, +)
        return n == 0 ? .nan : Double(counts[c][c]) / Double(n)
    }

    /// A heat map: rows the true class, columns the prediction, each cell's shade its share of
    /// the row, the count written in it; the diagonal blue, the rest red.
    public func svg(names: [String], cell: Double = 34) -> SVG {
        let left = 110.0, top = 96.0
        var s = SVG(width: left + Double(classes) * cell + 70, height: top + Double(classes) * cell + 16)
        s.text(left + Double(classes) * cell / 2, 14, "predicted class", size: 11, anchor: "middle", bold: true)
        for p in 0..<classes {
            s.text(left + (Double(p) + 0.6) * cell, top - 6, names[p], size: 10, anchor: "start", rotate: -50)
        }
        s.text(left + Double(classes) * cell + 8, top - 6, "recall", size: 10)
        for t in 0..<classes {
            let y = top + Double(t) * cell
            s.text(left - 6, y + cell / 2 + 4, names[t], size: 10, anchor: "end")
            let rowTotal = max(1, counts[t].reduce(0, +))
            for p in 0..<classes {
                let share = Double(counts[t][p]) / Double(rowTotal)
                let shade = Int((255 * (1 - min(1, share * (t == p ? 1 : 4)))).rounded())
                let fill = t == p ? String(format: "#%02x%02xff", shade, shade) : String(format: "#ff%02x%02x", shade, shade)
                s.rect(left + Double(p) * cell, y, cell, cell, fill: counts[t][p] == 0 ? "#ffffff" : fill, stroke: "#ddd",
                       title: "true \(names[t]), predicted \(names[p]): \(counts[t][p])")
                if counts[t][p] > 0 {
                    s.text(left + (Double(p) + 0.5) * cell, y + cell / 2 + 4, "\(counts[t][p])", size: cell > 30 ? 10 : 8,
                           anchor: "middle", fill: share > 0.6 ? "#fff" : "#222")
                }
            }
            s.text(left + Double(classes) * cell + 8, y + cell / 2 + 4, String(format: "%.1f%%", 100 * recall(t)), size: 10)
        }
        return s
    }
}
