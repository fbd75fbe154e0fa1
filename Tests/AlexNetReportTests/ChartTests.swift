@testable import AlexNetReport
import XCTest

/// Positions in the SVG charts, against coordinates worked out by hand for tiny inputs.
final class ChartTests: XCTestCase {
    func testNiceCeiling() {
        XCTAssertEqual(niceCeiling(0.5), 0.5)
        XCTAssertEqual(niceCeiling(0.23), 0.25)
        XCTAssertEqual(niceCeiling(0.26), 0.5)
        XCTAssertEqual(niceCeiling(2.3), 2.5)
        XCTAssertEqual(niceCeiling(7), 10)
        XCTAssertEqual(niceCeiling(0), 0)
    }

    /// Width 200, height 100, plot area x 40…190, y 10…70 (margins 40/10/10/30).
    /// Points (1, 0.5), (2, 0.25): x spans 1…2, y spans 0…niceCeiling(0.5) = 0.5.
    /// (1, 0.5) → (40, 10); (2, 0.25) → (190, 40); a marker at x = 1.5 → 115.
    func testLineChartPositions() {
        var c = LineChart(title: "t", xLabel: "epoch", yLabel: "loss")
        c.width = 200; c.height = 100
        c.margin = (left: 40, right: 10, top: 10, bottom: 30)
        c.series = [.init(name: "a", colour: "#123456", points: [(1, 0.5), (2, 0.25)])]
        c.markers = [.init(x: 1.5, label: "lr 0.001", colour: "#123456")]
        let svg = c.svg().document()
        XCTAssertTrue(svg.contains("<polyline points=\"40.0,10.0 190.0,40.0\""), svg)
        XCTAssertTrue(svg.contains("<circle cx=\"190.0\" cy=\"40.0\""), svg)
        XCTAssertTrue(svg.contains("<line x1=\"115.0\" y1=\"10.0\" x2=\"115.0\" y2=\"70.0\" stroke=\"#123456\""), svg)
        // the y axis's zero line at the bottom of the plot, and its top tick labelled 0.5
        XCTAssertTrue(svg.contains("<line x1=\"40.0\" y1=\"70.0\" x2=\"190.0\" y2=\"70.0\" stroke=\"#444\""), svg)
        XCTAssertTrue(svg.contains(">0.5</text>"), svg)
    }

    /// One x only: the axis spans x ± 0.5, so the point sits in the middle.
    func testLineChartSinglePoint() {
        var c = LineChart(title: "t", xLabel: "x", yLabel: "y")
        c.width = 200; c.height = 100
        c.margin = (left: 40, right: 10, top: 10, bottom: 30)
        c.series = [.init(name: "a", colour: "#000", points: [(3, 1)])]
        XCTAssertTrue(c.svg().document().contains("<circle cx=\"115.0\" cy=\"10.0\""))
    }

    /// Two categories × two bars, segments (4, 1) and (1, 1), (2, 0), (0.5, 0.5); largest total 5 → axis 0…5
    /// over x 100…300 (width 320, margins 100/20): 40 px per unit. Bar tops: top 30, bars 10 high with gap 2,
    /// categories 22 high plus 8 apart → category 1 starts at 60.
    func testStackedBarPositions() {
        var c = StackedBarChart(title: "t", unit: "ms", categories: ["conv1", "fc6"], barNames: ["rank 0", "rank 1"],
                                segmentNames: ["compute", "communication"], segmentColours: ["#00f", "#f80"],
                                values: [[[4, 1], [1, 1]], [[2, 0], [0.5, 0.5]]])
        c.width = 320; c.barHeight = 10; c.barGap = 2; c.categoryGap = 8
        c.margin = (left: 100, right: 20, top: 30, bottom: 40)
        XCTAssertEqual(c.xMax, 5)
        XCTAssertEqual(c.barTop(category: 1, bar: 1), 72)
        let svg = c.svg().document()
        XCTAssertTrue(svg.contains("<rect x=\"100.0\" y=\"30.0\" width=\"160.0\" height=\"10.0\" fill=\"#00f\""), svg)  // conv1 rank 0 compute 4
        XCTAssertTrue(svg.contains("<rect x=\"260.0\" y=\"30.0\" width=\"40.0\" height=\"10.0\" fill=\"#f80\""), svg)   // its communication 1
        XCTAssertTrue(svg.contains("<rect x=\"120.0\" y=\"72.0\" width=\"20.0\" height=\"10.0\" fill=\"#f80\""), svg)   // fc6 rank 1 comm 0.5
        XCTAssertFalse(svg.contains("y=\"60.0\" width=\"0.0\""), "a zero segment is not drawn")
    }

    func testEscaping() {
        XCTAssertEqual(escapeXML("T-shirt/top <a & \"b\">"), "T-shirt/top &lt;a &amp; &quot;b&quot;&gt;")
    }
}
