import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import AlexNetSimulator
import AlexNetTraining
import Foundation

/// Horizontal stacked bars in categories (the layers): each category has one bar per entry of
/// `barNames` (the ranks), each bar stacks `segmentNames` (compute, communication) left to right.
public struct StackedBarChart {
    public var title: String, unit: String
    public var categories: [String]
    public var barNames: [String]
    public var segmentNames: [String]
    public var segmentColours: [String]
    /// `values[category][bar][segment]`.
    public var values: [[[Double]]]
    public var width = 440.0
    public var barHeight = 9.0, barGap = 2.0, categoryGap = 8.0
    public var margin = (left: 86.0, right: 20.0, top: 30.0, bottom: 56.0)

    public init(title: String, unit: String, categories: [String], barNames: [String], segmentNames: [String],
                segmentColours: [String], values: [[[Double]]]) {
        self.title = title; self.unit = unit; self.categories = categories; self.barNames = barNames
        self.segmentNames = segmentNames; self.segmentColours = segmentColours; self.values = values
    }

    var categoryHeight: Double { Double(barNames.count) * (barHeight + barGap) - barGap }
    public var height: Double {
        margin.top + Double(categories.count) * (categoryHeight + categoryGap) + margin.bottom
    }
    public var xMax: Double { niceCeiling(values.flatMap { $0.map { $0.reduce(0, +) } }.max() ?? 1) }
    public var xScale: LinearScale { LinearScale(domain: (0, xMax > 0 ? xMax : 1), range: (margin.left, width - margin.right)) }
    /// Top of bar `b` of category `c`.
    public func barTop(category c: Int, bar b: Int) -> Double {
        margin.top + Double(c) * (categoryHeight + categoryGap) + Double(b) * (barHeight + barGap)
    }

    public func svg() -> SVG {
        var s = SVG(width: width, height: height)
        let x = xScale
        let bottom = height - margin.bottom + categoryGap
        s.text(width / 2, 16, title, size: 13, anchor: "middle", bold: true)
        let top = x.domain.1
        for i in 0...4 {
            let v = top * Double(i) / 4
            s.line(x(v), margin.top - 4, x(v), bottom, stroke: i == 0 ? "#444" : "#e3e3e3")
            s.text(x(v), bottom + 13, String(format: "%g", (v * 1000).rounded() / 1000), size: 10, anchor: "middle")
        }
        s.text((margin.left + width - margin.right) / 2, bottom + 28, unit, size: 11, anchor: "middle")
        for (c, name) in categories.enumerated() {
            s.text(margin.left - 6, barTop(category: c, bar: 0) + categoryHeight / 2 + 4, name, size: 11, anchor: "end")
            for b in barNames.indices {
                var left = 0.0
                let y = barTop(category: c, bar: b)
                for (k, v) in values[c][b].enumerated() where v > 0 {
                    s.rect(x(left), y, x(left + v) - x(left), barHeight, fill: segmentColours[k % segmentColours.count],
                           title: "\(name), \(barNames[b]): \(segmentNames[k]) \(String(format: "%.3f", v)) \(unit)")
                    left += v
                }
                if barNames.count > 1 {
                    s.text(x(left) + 3, y + barHeight - 1, barNames[b], size: 8, fill: "#555")
                }
            }
        }
        var lx = margin.left
        for (k, n) in segmentNames.enumerated() {
            s.rect(lx, bottom + 36, 10, 10, fill: segmentColours[k % segmentColours.count])
            s.text(lx + 14, bottom + 45, n, size: 10)
            lx += 24 + Double(n.count) * 5.6
        }
        return s
    }
}
