import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import AlexNetSimulator
import AlexNetTraining
import Foundation

/// Lines of (x, y) points on linear axes, with a legend and vertical markers (the learning-rate
/// drops). The x axis spans the points' x exactly (±0.5 for a single x); the y axis runs from 0
/// to `niceCeiling` of the largest y, unless `yMax` is given.
public struct LineChart {
    public struct Series {
        public var name: String, colour: String
        public var points: [(x: Double, y: Double)]
        public init(name: String, colour: String, points: [(x: Double, y: Double)]) {
            self.name = name; self.colour = colour; self.points = points
        }
    }
    public struct Marker {
        public var x: Double, label: String, colour: String
        public init(x: Double, label: String, colour: String) { self.x = x; self.label = label; self.colour = colour }
    }

    public var title: String, xLabel: String, yLabel: String
    public var series: [Series] = []
    public var markers: [Marker] = []
    public var width = 420.0, height = 280.0
    /// Plot area insets: left, right, top, bottom (the legend, one line per series, goes under
    /// the x axis's title: leave 40 + 13 per series at the bottom).
    public var margin = (left: 52.0, right: 14.0, top: 26.0, bottom: 64.0)
    public var yMax: Double?
    /// The x axis's span, when not the points' own.
    public var xRange: (Double, Double)?
    /// Tick labels of y are shown as percentages.
    public var percent = false

    public init(title: String, xLabel: String, yLabel: String) { self.title = title; self.xLabel = xLabel; self.yLabel = yLabel }

    var xDomain: (Double, Double) {
        if let xRange { return xRange }
        let xs = series.flatMap { $0.points.map(\.x) }
        guard let lo = xs.min(), let hi = xs.max() else { return (0, 1) }
        return lo == hi ? (lo - 0.5, hi + 0.5) : (lo, hi)
    }
    var yDomain: (Double, Double) {
        let top = yMax ?? niceCeiling(series.flatMap { $0.points.map(\.y) }.filter(\.isFinite).max() ?? 1)
        return (0, top > 0 ? top : 1)
    }
    public var xScale: LinearScale { LinearScale(domain: xDomain, range: (margin.left, width - margin.right)) }
    public var yScale: LinearScale { LinearScale(domain: yDomain, range: (height - margin.bottom, margin.top)) }

    public func svg() -> SVG {
        var s = SVG(width: width, height: height)
        let x = xScale, y = yScale
        let left = margin.left, right = width - margin.right, top = margin.top, bottom = height - margin.bottom
        s.text(width / 2, 16, title, size: 13, anchor: "middle", bold: true)
        // y grid and ticks: 5 intervals
        let (_, yTop) = yDomain
        for i in 0...5 {
            let v = yTop * Double(i) / 5, py = y(v)
            s.line(left, py, right, py, stroke: i == 0 ? "#444" : "#e3e3e3")
            s.text(left - 5, py + 4, percent ? String(format: "%g%%", (100 * v * 1000).rounded() / 1000) : String(format: "%g", (v * 1e4).rounded() / 1e4),
                   size: 10, anchor: "end")
        }
        s.line(left, top, left, bottom, stroke: "#444")
        // x ticks at whole numbers, at most ~10 of them
        let (lo, hi) = xDomain
        let first = ceil(lo), last = floor(hi)
        let stepX = max(1, ceil((last - first + 1) / 10))
        var v = first
        while v <= last {
            s.line(x(v), bottom, x(v), bottom + 4, stroke: "#444")
            s.text(x(v), bottom + 15, String(format: "%g", v), size: 10, anchor: "middle")
            v += stepX
        }
        s.text((left + right) / 2, bottom + 30, xLabel, size: 11, anchor: "middle")
        s.text(13, (top + bottom) / 2, yLabel, size: 11, anchor: "middle", rotate: -90)
        for m in markers {
            s.line(x(m.x), top, x(m.x), bottom, stroke: m.colour, width: 1, dash: "4 3")
            s.text(x(m.x) + 3, top + 10, m.label, size: 9, fill: m.colour)
        }
        for ser in series {
            let pts = ser.points.filter { $0.y.isFinite }.map { (x($0.x), y($0.y)) }
            if pts.count > 1 { s.polyline(pts, stroke: ser.colour) }
            for p in pts { s.circle(p.0, p.1, r: 2.5, fill: ser.colour) }
        }
        // legend under the axis title, one line per series
        for (i, ser) in series.enumerated() {
            let ly = bottom + 40 + 13 * Double(i)
            s.rect(left, ly, 12, 4, fill: ser.colour)
            s.text(left + 16, ly + 6, ser.name, size: 10)
        }
        return s
    }
}
