import Foundation
import XCTest

/// `profile` and `train --profile/--trace` on real ranks: the bytes each exchange moves must be
/// what the layer shapes imply, the rows must add up to the step, and the timeline must be
/// Chrome trace-event JSON that a viewer accepts.
final class ProfileTests: XCTestCase {
    /// Bytes each rank sends per call on 2 ranks, batch 128, configs/fashion-mnist.yaml, by hand:
    /// conv3 reads pool2 (64 maps of 5×5 per group), fc6 pool5 (64 maps of 2×2), fc7 and fc8 the
    /// 512 neurons of fc6/fc7 per group; the logits are 5 classes per group. Float32, 128 images.
    static let handBlocks: [String: Int] = [
        "conv3": 64 * 5 * 5 * 128 * 4,   // 819,200
        "fc6": 64 * 2 * 2 * 128 * 4,     // 131,072
        "fc7": 512 * 128 * 4,            // 262,144
        "fc8": 512 * 128 * 4,            // 262,144
    ]
    static let handLogits = 5 * 128 * 4  // 2,560

    func testProfileOnTwoRanksCountsTheBytesTheShapesImply() throws {
        let dir = Run.tempDir("profile")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let steps = 4
        let r = try Run.alexnet(["profile", "--config", "configs/fashion-mnist.yaml", "--steps", String(steps), "--warmup", "1",
                                 "--json", dir + "/p.json", "--trace", dir + "/trace.json"], ranks: 2, timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("unaccounted") && r.stdout.contains("alone: MPI_Allgather"), r.stdout)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/p.json"))) as! [String: Any]
        let ranks = json["ranks"] as! [[String: Any]]
        XCTAssertEqual(ranks.count, 2)
        for (rank, rec) in ranks.enumerated() {
            XCTAssertEqual(rec["steps"] as? Int, steps)
            for layer in rec["layers"] as! [[String: Any]] {
                let name = layer["name"] as! String
                let fwd = layer["exchangeForward"] as? [String: Any], bwd = layer["exchangeBackward"] as? [String: Any]
                guard let block = Self.handBlocks[name] else {
                    XCTAssertNil(fwd, "rank \(rank) \(name) must not communicate")
                    XCTAssertNil(bwd, "rank \(rank) \(name) must not communicate")
                    continue
                }
                for (c, collective) in [(fwd, "MPI_Allgather"), (bwd, "MPI_Isend/Irecv reduce-scatter")] {
                    XCTAssertEqual(c?["name"] as? String, collective, "\(name)")
                    XCTAssertEqual(c?["calls"] as? Int, steps, "\(name) \(collective)")
                    XCTAssertEqual(c?["bytesSent"] as? Int, steps * block, "rank \(rank) \(name) \(collective) bytes sent")
                    XCTAssertEqual(c?["bytesReceived"] as? Int, steps * block, "rank \(rank) \(name) \(collective) bytes received")
                }
            }
            let logits = rec["logits"] as! [String: Any]
            XCTAssertEqual(logits["bytesSent"] as? Int, steps * Self.handLogits)
            // The rows add up to the step: what no row explains is a sliver of it.
            let step = rec["stepSeconds"] as! Double
            var parts = (rec["dataSeconds"] as! Double) + (rec["lossSeconds"] as! Double) + (rec["updateSeconds"] as! Double)
                + (logits["seconds"] as! Double)
            for layer in rec["layers"] as! [[String: Any]] {
                parts += (layer["forwardSeconds"] as! Double) + (layer["backwardSeconds"] as! Double)
                parts += ((layer["exchangeForward"] as? [String: Any])?["seconds"] as? Double) ?? 0
                parts += ((layer["exchangeBackward"] as? [String: Any])?["seconds"] as? Double) ?? 0
            }
            XCTAssertLessThan(abs(step - parts), 0.02 * step, "rank \(rank): rows \(parts) s against the step \(step) s")
        }
        try Self.validateTrace(dir + "/trace.json", ranks: 2, layers: ["conv1", "conv3", "fc8"])
    }

    func testProfileOnOneRankMovesNoBytes() throws {
        let dir = Run.tempDir("profile1")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let r = try Run.alexnet(["profile", "--steps", "2", "--warmup", "1", "--json", dir + "/p.json"], timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = try String(contentsOfFile: dir + "/p.json", encoding: .utf8)
        XCTAssertTrue(text.contains("\"bytesSent\" : 0"), text)
        XCTAssertFalse(text.contains("\"bytesSent\" : 819200"))
    }

    func testTrainWithProfileAndTraceWritesThem() throws {
        let dir = Run.tempDir("trainprof")
        let r = try Run.alexnet(["train", "--steps", "3", "--profile", "--trace", dir + "-trace.json", "--out", dir], ranks: 2, timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/profile.json"))) as! [String: Any]
        let ranks = json["ranks"] as! [[String: Any]]
        XCTAssertEqual(ranks.map { $0["steps"] as? Int }, [3, 3], "evaluation passes are not counted as steps")
        try Self.validateTrace(dir + "-trace.json", ranks: 2, layers: ["conv2", "fc6"])
    }

    /// The trace-event format's "JSON object" form: `traceEvents` of complete events (`ph: X`,
    /// name, pid, tid, `ts`/`dur` in µs) and metadata events (`ph: M`); spans on one track nest.
    static func validateTrace(_ path: String, ranks: Int, layers: [String]) throws {
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        guard let root = doc as? [String: Any], let events = root["traceEvents"] as? [[String: Any]] else {
            return XCTFail("\(path): not an object with a traceEvents array")
        }
        var spans: [Int: [(Double, Double, String)]] = [:]
        for e in events {
            guard let name = e["name"] as? String, let ph = e["ph"] as? String, let pid = e["pid"] as? Int, e["tid"] is Int else {
                return XCTFail("event without name/ph/pid/tid: \(e)")
            }
            XCTAssertTrue(["X", "M"].contains(ph), "unexpected phase \(ph)")
            if ph == "X" {
                guard let ts = e["ts"] as? Double, let dur = e["dur"] as? Double else { return XCTFail("X event without ts/dur: \(e)") }
                XCTAssertGreaterThanOrEqual(ts, 0); XCTAssertGreaterThanOrEqual(dur, 0)
                spans[pid, default: []].append((ts, ts + dur, name))
            } else {
                XCTAssertNotNil((e["args"] as? [String: Any])?["name"] ?? (e["args"] as? [String: Any])?["sort_index"], "metadata without args")
            }
        }
        XCTAssertEqual(Set(spans.keys), Set(0..<ranks), "one track per rank")
        for (pid, list) in spans {
            for l in layers {
                XCTAssertTrue(list.contains { $0.2 == "\(l) forward" }, "rank \(pid) has no \(l) forward span")
            }
            // Proper nesting: sorted by start (longest first on ties), each span ends inside its parent.
            var stack: [(Double, Double, String)] = []
            for s in list.sorted(by: { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 > $1.1 }) {
                while let top = stack.last, top.1 <= s.0 + 0.002 { stack.removeLast() }
                if let top = stack.last {
                    XCTAssertLessThanOrEqual(s.1, top.1 + 0.002, "rank \(pid): \(s.2) overlaps \(top.2) without nesting")
                }
                stack.append(s)
            }
        }
    }
}
