import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import AlexNetSimulator
import AlexNetTraining
import Foundation

/// A small SVG writer: elements appended as text, numbers with one decimal.
public struct SVG {
    public var width: Double, height: Double
    var elements: [String] = []

    public init(width: Double, height: Double) { self.width = width; self.height = height }

    public static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    public mutating func add(_ element: String) { elements.append(element) }

    public mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String = "#000",
                              width: Double = 1, dash: String? = nil) {
        add("<line x1=\"\(SVG.f(x1))\" y1=\"\(SVG.f(y1))\" x2=\"\(SVG.f(x2))\" y2=\"\(SVG.f(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(SVG.f(width))\"\(dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>")
    }

    public mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, stroke: String? = nil, title: String? = nil) {
        let t = title.map { "<title>\(escapeXML($0))</title>" } ?? ""
        add("<rect x=\"\(SVG.f(x))\" y=\"\(SVG.f(y))\" width=\"\(SVG.f(w))\" height=\"\(SVG.f(h))\" fill=\"\(fill)\"\(stroke.map { " stroke=\"\($0)\"" } ?? "")>\(t)</rect>")
    }

    /// `anchor`: start, middle or end; `rotate`: degrees about (x, y).
    public mutating func text(_ x: Double, _ y: Double, _ s: String, size: Double = 11, anchor: String = "start",
                              fill: String = "#222", bold: Bool = false, rotate: Double? = nil) {
        let r = rotate.map { " transform=\"rotate(\(SVG.f($0)) \(SVG.f(x)) \(SVG.f(y)))\"" } ?? ""
        add("<text x=\"\(SVG.f(x))\" y=\"\(SVG.f(y))\" font-size=\"\(SVG.f(size))\" text-anchor=\"\(anchor)\" fill=\"\(fill)\"\(bold ? " font-weight=\"bold\"" : "")\(r)>\(escapeXML(s))</text>")
    }

    public mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 2, dash: String? = nil) {
        let p = points.map { "\(SVG.f($0.0)),\(SVG.f($0.1))" }.joined(separator: " ")
        add("<polyline points=\"\(p)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(SVG.f(width))\"\(dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>")
    }

    public mutating func circle(_ x: Double, _ y: Double, r: Double, fill: String) {
        add("<circle cx=\"\(SVG.f(x))\" cy=\"\(SVG.f(y))\" r=\"\(SVG.f(r))\" fill=\"\(fill)\"/>")
    }

    public mutating func image(_ x: Double, _ y: Double, _ w: Double, _ h: Double, _ bitmap: Bitmap) {
        add("<image x=\"\(SVG.f(x))\" y=\"\(SVG.f(y))\" width=\"\(SVG.f(w))\" height=\"\(SVG.f(h))\" style=\"image-rendering:pixelated\" href=\"\(bitmap.dataURI)\"/>")
    }

    /// Another drawing placed with its top-left corner at (x, y).
    public mutating func embed(_ other: SVG, x: Double, y: Double) {
        add("<svg x=\"\(SVG.f(x))\" y=\"\(SVG.f(y))\" width=\"\(SVG.f(other.width))\" height=\"\(SVG.f(other.height))\">\(other.elements.joined())</svg>")
    }

    /// The document: a standalone file (with the XML declaration) or inline in HTML.
    public func document(standalone: Bool = false) -> String {
        (standalone ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" : "")
            + "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(SVG.f(width))\" height=\"\(SVG.f(height))\" viewBox=\"0 0 \(SVG.f(width)) \(SVG.f(height))\" font-family=\"sans-serif\">\n"
            + elements.joined(separator: "\n") + "\n</svg>\n"
    }

    /// Drawings side by side, tops aligned.
    public static func row(_ parts: [SVG], gap: Double = 12) -> SVG {
        var out = SVG(width: parts.reduce(0) { $0 + $1.width } + gap * Double(max(0, parts.count - 1)),
                      height: parts.map(\.height).max() ?? 0)
        var x = 0.0
        for p in parts { out.embed(p, x: x, y: 0); x += p.width + gap }
        return out
    }
}

public func escapeXML(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}

/// Maps `domain` linearly onto `range` (which may run backwards, as a y axis does).
public struct LinearScale: Sendable {
    public var domain: (Double, Double), range: (Double, Double)
    public init(domain: (Double, Double), range: (Double, Double)) { self.domain = domain; self.range = range }
    public func callAsFunction(_ v: Double) -> Double {
        let span = domain.1 - domain.0
        return range.0 + (span == 0 ? 0.5 : (v - domain.0) / span) * (range.1 - range.0)
    }
}

/// The smallest of 1, 2, 2.5, 5 × 10^k at or above `v` (0 for v ≤ 0).
public func niceCeiling(_ v: Double) -> Double {
    guard v > 0, v.isFinite else { return 0 }
    let p = pow(10, floor(log10(v)))
    for m in [1.0, 2, 2.5, 5, 10] where m * p >= v * (1 - 1e-12) { return m * p }
    return 10 * p
}

/// Colours of successive runs (Okabe–Ito, readable by colour-blind readers).
public let seriesColours = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
