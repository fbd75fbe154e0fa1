import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import AlexNetReport
import AlexNetSimulator
import AlexNetTraining
import Foundation

// The tables `profile` and `train --profile` print from every rank's gathered counters.
extension ProfileReport {
    /// The per-layer table of one rank, per step: compute, communication, bytes, share of the
    /// step; the pieces outside the layers and what is left unaccounted are rows of their own,
    /// so the rows add up to the measured step time.
    public func table(rank: Int = 0) -> String {
        let r = ranks[rank]
        let steps = Double(max(r.steps, 1)), step = r.stepSeconds / steps
        func ms(_ s: Double) -> String { String(format: "%.2f", s / steps * 1e3) }
        func kib(_ b: Int) -> String { b == 0 ? "" : String(format: "%.1f", Double(b) / steps / 1024) }
        func share(_ s: Double) -> String { String(format: "%.1f%%", 100 * s / steps / step) }
        var rows: [[String]] = [["", "fwd ms", "bwd ms", "comm ms", "collectives", "sent KiB", "recv KiB", "share"]]
        for l in r.layers {
            let collectives = [l.exchangeForward, l.exchangeBackward, l.gradientSum].compactMap { $0 }
            let comm = l.communicationSeconds
            let sent = collectives.reduce(0) { $0 + $1.bytesSent }, recv = collectives.reduce(0) { $0 + $1.bytesReceived }
            let names = [l.exchangeForward.map { "\($0.name) (in)" }, l.exchangeBackward.map { "\($0.name) (grad)" },
                         l.gradientSum.map { "\($0.name) (replicas' sum)" }].compactMap { $0 }
            rows.append([l.name, ms(l.forwardSeconds), ms(l.backwardSeconds), comm > 0 || !names.isEmpty ? ms(comm) : "",
                         names.joined(separator: " + "), kib(sent), kib(recv), share(l.forwardSeconds + l.backwardSeconds + comm)])
        }
        rows.append(["logits", "", "", ms(r.logits.seconds), r.logits.name, kib(r.logits.bytesSent), kib(r.logits.bytesReceived), share(r.logits.seconds)])
        rows.append(["data (wait)", ms(r.dataSeconds), "", "", "", "", "", share(r.dataSeconds)])
        rows.append(["loss", ms(r.lossSeconds), "", "", "", "", "", share(r.lossSeconds)])
        rows.append(["update", "", ms(r.updateSeconds), "", "", "", "", share(r.updateSeconds)])
        if r.controlSeconds > 0 {
            rows.append(["stop check", "", "", ms(r.controlSeconds), "MPI_Allreduce (outside the step)", "", "", ""])
        }
        rows.append(["unaccounted", ms(r.unaccountedSeconds), "", "", "", "", "", share(r.unaccountedSeconds)])
        let comm = r.communicationSeconds
        let sent = r.layers.reduce(0) { $0 + [$1.exchangeForward, $1.exchangeBackward, $1.gradientSum].compactMap { $0 }.reduce(0) { $0 + $1.bytesSent } }
            + r.logits.bytesSent
        rows.append(["step", "", "", ms(comm), "", kib(sent), kib(sent), String(format: "%.2f ms", step * 1e3)])
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        var out = ""
        for (k, row) in rows.enumerated() {
            if k == rows.count - 1 || k == 1 { out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
            out += row.enumerated().map { i, c in i == 0 || i == 4 ? c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                                                                   : String(repeating: " ", count: widths[i] - c.count) + c }
                .joined(separator: "  ") + "\n"
        }
        out += String(format: "rank %d: step %.2f ms, communication %.2f ms (%.1f%% of the step%@), %.1f KiB sent per step\n",
                      rank, step * 1e3, comm / steps * 1e3, 100 * comm / r.stepSeconds, r.waitingText(steps: steps),
                      Double(sent) / steps / 1024)
        return out
    }

    /// Achieved bandwidth of each collective on `rank`, against MPI_Allgather of the same size alone.
    public func bandwidthTable(rank: Int = 0) -> String {
        let r = ranks[rank]
        var out = "collective bandwidth on rank \(rank) (bytes received / time in the call, which includes waiting for a slower rank):\n"
        func line(_ what: String, _ c: Profile.Collective?) {
            guard let c, c.calls > 0, c.bytesReceived > 0 else { return }
            let perCall = c.seconds / Double(c.calls), bytes = c.bytesReceived / c.calls
            let gbs = Double(bytes) / perCall / 1e9
            var s = String(format: "  %-32@ %9.1f KiB  %8.3f ms  %6.2f GB/s", what, Double(bytes) / 1024, perCall * 1e3, gbs)
            if let alone = allgatherAlone.first(where: { $0.blockBytes * max(1, ranks.count - 1) == bytes }) {
                let ref = Double(bytes) / alone.secondsPerCall / 1e9
                s += String(format: "   alone: MPI_Allgather %.3f ms, %.2f GB/s; so ≈%.3f ms of the call was waiting for the other ranks",
                            alone.secondsPerCall * 1e3, ref, max(0, perCall - alone.secondsPerCall) * 1e3)
            }
            out += s + "\n"
        }
        for l in r.layers {
            line("\(l.name) \(l.exchangeForward?.name ?? "")", l.exchangeForward)
            line("\(l.name) \(l.exchangeBackward?.name ?? "")", l.exchangeBackward)
        }
        line("logits \(r.logits.name)", r.logits)
        return out
    }
}
