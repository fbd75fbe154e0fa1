import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import AlexNetSimulator
import AlexNetTraining
import Foundation

/// The report's pictures, each an SVG built from data already computed.
public enum Figures {
    /// The modelled scaling of each strategy (`scalingTable`): images per second and efficiency
    /// against devices (log scale), one line per strategy.
    public static func scaling(_ rows: [ScalingRow], device: String) -> SVG {
        var ips = LineChart(title: "images/s, modelled on \(device)", xLabel: "devices (log₂: 0 = 1, 6 = 64)", yLabel: "images/s")
        var eff = LineChart(title: "efficiency (speed-up ÷ devices)", xLabel: "devices (log₂)", yLabel: "efficiency")
        eff.percent = true; eff.yMax = 1
        var strategies: [Strategy] = []
        for r in rows where !strategies.contains(r.strategy) { strategies.append(r.strategy) }
        for (i, s) in strategies.enumerated() {
            let colour = seriesColours[i % seriesColours.count], mine = rows.filter { $0.strategy == s }
            ips.series.append(.init(name: s.short, colour: colour, points: mine.map { (log2(Double($0.devices)), $0.imagesPerSecond) }))
            eff.series.append(.init(name: s.short, colour: colour, points: mine.map { (log2(Double($0.devices)), $0.efficiency) }))
        }
        return SVG.row([ips, eff].map { chart -> SVG in
            var c = chart
            c.width = 420
            c.margin.bottom = 52 + 13 * Double(strategies.count)
            c.height = 220 + c.margin.bottom
            return c.svg()
        })
    }

    /// Training loss, validation top-1 and top-5 error against epochs, one line per run; the
    /// learning-rate drops marked. With `steps` (a run's steps.csv rows: global step, loss), the
    /// loss is drawn per logged step, at step / steps-per-epoch.
    public static func learningCurves(_ runs: [(label: String, record: RunRecord, steps: [(step: Int, loss: Double)])]) -> SVG {
        var loss = LineChart(title: "training loss", xLabel: "epoch", yLabel: "cross-entropy")
        var top1 = LineChart(title: "validation top-1 error", xLabel: "epoch", yLabel: "error")
        var top5 = LineChart(title: "validation top-5 error", xLabel: "epoch", yLabel: "error")
        top1.percent = true; top5.percent = true
        for (i, run) in runs.enumerated() {
            let colour = seriesColours[i % seriesColours.count]
            let e = run.record.epochs
            if let perEpoch = e.first?.steps, perEpoch > 0, !run.steps.isEmpty {
                loss.series.append(.init(name: run.label, colour: colour,
                                         points: run.steps.map { (Double($0.step) / Double(perEpoch), $0.loss) }))
            } else {
                loss.series.append(.init(name: run.label, colour: colour, points: e.map { (Double($0.epoch), $0.loss) }))
            }
            top1.series.append(.init(name: run.label, colour: colour, points: e.map { (Double($0.epoch), $0.validationErrorTop1) }))
            top5.series.append(.init(name: run.label, colour: colour, points: e.map { (Double($0.epoch), $0.validationErrorTop5) }))
            for (a, b) in zip(e, e.dropFirst()) where b.learningRate < a.learningRate * 0.999 {
                let m = LineChart.Marker(x: Double(a.epoch), label: String(format: "lr %g", b.learningRate), colour: colour)
                loss.markers.append(m); top1.markers.append(m); top5.markers.append(m)
            }
        }
        // Logged steps start after 0 and may end before the last epoch does: span whole epochs.
        if let last = runs.flatMap({ $0.record.epochs.map(\.epoch) }).max(), runs.contains(where: { !$0.steps.isEmpty }) {
            loss.xRange = (0, Double(last))
        }
        return SVG.row([loss, top1, top5].map { chart -> SVG in
            var c = chart
            c.width = 370
            c.margin.bottom = 52 + 13 * Double(runs.count)
            c.height = 220 + c.margin.bottom
            return c.svg()
        })
    }

    /// Test images with the net's five best guesses and their probabilities (Figure 4, left):
    /// the true class written under the image; its bar green when it is among the five.
    public static func topFive(set: ImageSet, images: [Int], outputs: TrainedModel.Outputs, names: [String],
                               columns: Int = 4) -> SVG {
        let shown = images.map { set.bitmap($0).fitted(84) }
        let imageSide = Double(shown.map(\.height).max() ?? 84)
        let cellW = 230.0, cellH = imageSide + 30 + 5 * 15
        let rows = (images.count + columns - 1) / columns
        var s = SVG(width: cellW * Double(min(columns, images.count)), height: cellH * Double(rows))
        for (k, i) in images.enumerated() {
            let x0 = Double(k % columns) * cellW, y0 = Double(k / columns) * cellH
            s.image(x0 + 4, y0 + 4, Double(shown[k].width), Double(shown[k].height), shown[k])
            let truth = outputs.labels[i]
            let top = outputs.top(5, of: i)
            let right = top.first?.label == truth
            s.text(x0 + 4, y0 + imageSide + 18, names[truth] + (right ? "" : top.contains { $0.label == truth } ? "" : "  (not in top 5)"),
                   size: 11, fill: right ? "#1a7f37" : "#b42318", bold: true)
            for (j, guess) in top.enumerated() {
                let y = y0 + imageSide + 26 + Double(j) * 15
                let barMax = cellW - 110
                s.rect(x0 + 96, y + 2, max(1, barMax * Double(guess.probability)), 10,
                       fill: guess.label == truth ? "#2da44e" : "#8fb3d9")
                s.text(x0 + 92, y + 11, names[guess.label], size: 10, anchor: "end", fill: guess.label == truth ? "#1a7f37" : "#222",
                       bold: guess.label == truth)
                s.text(x0 + 100 + max(1, barMax * Double(guess.probability)), y + 11, String(format: "%.1f%%", 100 * guess.probability), size: 9)
            }
        }
        return s
    }

    /// Test images (left column) and, to their right, the training images whose feature-layer
    /// activations are nearest in Euclidean distance (Figure 4, right), each with its class and distance.
    public static func neighbours(test: ImageSet, queries: [Int], train: ImageSet, matches: [[NearestNeighbours.Match]],
                                  names: [String]) -> SVG {
        let side = Double(test.bitmap(0).fitted(56).height)
        let cellW = max(side + 10, 84), cellH = side + 34
        let k = matches.map(\.count).max() ?? 0
        var s = SVG(width: cellW * Double(k + 1) + 16, height: cellH * Double(queries.count) + 18)
        s.text(4, 12, "test image", size: 10, bold: true)
        s.text(cellW + 16, 12, "nearest training images in the last hidden layer (distance)", size: 10, bold: true)
        for (r, q) in queries.enumerated() {
            let y = 18 + Double(r) * cellH
            s.image(4, y, side, side, test.bitmap(q).fitted(56))
            s.text(4, y + side + 12, names[Int(test.labels[q])], size: 9, bold: true)
            s.line(cellW + 6, y, cellW + 6, y + side, stroke: "#999")
            for (j, m) in matches[r].enumerated() {
                let x = cellW + 16 + Double(j) * cellW
                s.image(x, y, side, side, train.bitmap(m.index).fitted(56))
                let same = train.labels[m.index] == test.labels[q]
                s.text(x, y + side + 12, names[Int(train.labels[m.index])], size: 9, fill: same ? "#1a7f37" : "#b42318")
                s.text(x, y + side + 23, String(format: "%.2f", m.distance), size: 9, fill: "#555")
            }
        }
        return s
    }

    /// The measured profile (per layer and rank: compute and communication per step) beside the
    /// same model on the config's device as the simulator models it (compute and transfers).
    public static func profile(measured: ProfileReport?, modelled: Simulation, device: String) -> SVG {
        var parts: [SVG] = []
        if let m = measured {
            let layers = m.ranks[0].layers.map(\.name)
            let values = layers.indices.map { l in
                m.ranks.map { r -> [Double] in
                    let steps = Double(max(r.steps, 1)), x = r.layers[l]
                    let comm = x.communicationSeconds
                    return [1e3 * (x.forwardSeconds + x.backwardSeconds) / steps, 1e3 * comm / steps]
                }
            }
            var chart = StackedBarChart(title: "measured here, per step", unit: "ms per step",
                                        categories: layers, barNames: m.ranks.indices.map { "rank \($0)" },
                                        segmentNames: ["compute", "communication"], segmentColours: ["#0072B2", "#E69F00"],
                                        values: values)
            chart.width = 440
            parts.append(chart.svg())
        }
        let sim = StackedBarChart(title: "modelled: \(device), per device", unit: "ms per step",
                                  categories: modelled.layers.map(\.name), barNames: [device],
                                  segmentNames: ["compute", "transfer"], segmentColours: ["#56B4E9", "#D55E00"],
                                  values: modelled.layers.map { [[1e3 * ($0.forwardSeconds + $0.backwardSeconds), 1e3 * $0.transferSeconds]] })
        parts.append(sim.svg())
        return SVG.row(parts, gap: 20)
    }
}
