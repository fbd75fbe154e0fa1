import AlexNetCore
import Foundation

/// What one rank spent its time on, counted where it happens: each layer's compute (forward,
/// backward; the wall time of the layer's local groups), each exchange (the collective, the
/// bytes this rank sent and received, seconds inside MPI, calls), the logits' gather, and the
/// trainer's own pieces (waiting for data, loss, update). With `trace` on it also keeps every
/// span for a Chrome trace-event timeline.
public final class Profile {
    /// One exchange direction of one layer (or the logits' gather).
    public struct Collective: Codable, Sendable, Equatable {
        public var name: String = ""
        public var seconds = 0.0
        public var bytesSent = 0, bytesReceived = 0
        public var calls = 0
    }

    public let layers: [String]
    public var forward: [Double], backward: [Double]
    public var exchangeForward: [Collective], exchangeBackward: [Collective]
    public var logits = Collective(name: "MPI_Allgather")
    public var data = 0.0, loss = 0.0, update = 0.0
    /// The per-step agreement on stopping (one tiny all-reduce).
    public var control = 0.0
    public var steps = 0, stepSeconds = 0.0

    /// Trace spans, when tracing: (name, category, start, duration) in seconds since `origin`.
    public var trace: [(name: String, cat: String, start: Double, duration: Double)]?
    public var origin = now()

    init(layers: [String]) {
        self.layers = layers
        forward = Array(repeating: 0, count: layers.count)
        backward = forward
        exchangeForward = Array(repeating: Collective(), count: layers.count)
        exchangeBackward = exchangeForward
    }

    public func reset() {
        for i in layers.indices {
            forward[i] = 0; backward[i] = 0
            exchangeForward[i] = Collective(name: exchangeForward[i].name)
            exchangeBackward[i] = Collective(name: exchangeBackward[i].name)
        }
        logits = Collective(name: logits.name)
        data = 0; loss = 0; update = 0; control = 0; steps = 0; stepSeconds = 0
        if trace != nil { trace = [] }
    }

    /// Runs `body` without counting it (evaluation passes inside a training run); its spans
    /// stay in the timeline.
    public func excluding<T>(_ body: () throws -> T) rethrows -> T {
        let saved = (forward, backward, exchangeForward, exchangeBackward, logits, data, loss, update, control, steps, stepSeconds)
        defer {
            (forward, backward, exchangeForward, exchangeBackward, logits, data, loss, update, control, steps, stepSeconds) = saved
        }
        return try body()
    }

    /// Records a span that started at `start` (from `now()`) and ends now; returns its length.
    @discardableResult
    public func span(_ name: String, _ cat: String, since start: Double) -> Double {
        let t = now()
        trace?.append((name, cat, start - origin, t - start))
        return t - start
    }

    /// Logical bytes of a collective over `ranks` ranks moving `block` bytes per rank: each rank
    /// sends its block to, and receives one from, each other rank (for an all-gather), or sends
    /// the others' slices of its sum and receives theirs of its own (for a reduce-scatter).
    public static func bytesPerRank(block: Int, ranks: Int) -> Int { block * (ranks - 1) }

    /// Compute and communication of every layer, and the rest, summed over recorded steps.
    public var computeSeconds: Double { forward.reduce(0, +) + backward.reduce(0, +) }
    public var communicationSeconds: Double {
        exchangeForward.map(\.seconds).reduce(0, +) + exchangeBackward.map(\.seconds).reduce(0, +) + logits.seconds
    }

    /// A Codable copy for JSON (`train --profile`, `profile`).
    public var record: Record {
        Record(layers: layers.indices.map { i in
                   Record.Layer(name: layers[i], forwardSeconds: forward[i], backwardSeconds: backward[i],
                                exchangeForward: exchangeForward[i].calls > 0 ? exchangeForward[i] : nil,
                                exchangeBackward: exchangeBackward[i].calls > 0 ? exchangeBackward[i] : nil) },
               logits: logits, dataSeconds: data, lossSeconds: loss, updateSeconds: update, controlSeconds: control,
               steps: steps, stepSeconds: stepSeconds)
    }

    public struct Record: Codable, Sendable {
        public struct Layer: Codable, Sendable {
            public var name: String
            public var forwardSeconds: Double, backwardSeconds: Double
            public var exchangeForward: Collective?, exchangeBackward: Collective?
        }
        public var layers: [Layer]
        public var logits: Collective
        public var dataSeconds: Double, lossSeconds: Double, updateSeconds: Double
        /// Outside the step: the stop check after it (train only).
        public var controlSeconds: Double
        public var steps: Int, stepSeconds: Double
        /// Bytes per rank of every collective called (the block each rank contributes).
        public func blockBytes(ranks: Int) -> [Int] {
            guard ranks > 1 else { return [] }
            var out: [Int] = []
            for c in layers.flatMap({ [$0.exchangeForward, $0.exchangeBackward] }) + [logits] {
                if let c, c.calls > 0 { out.append(c.bytesReceived / c.calls / (ranks - 1)) }
            }
            return out
        }

        /// Seconds of the step not inside any layer, exchange, data, loss or update.
        public var unaccountedSeconds: Double {
            stepSeconds - layers.reduce(0) { $0 + $1.forwardSeconds + $1.backwardSeconds + ($1.exchangeForward?.seconds ?? 0)
                + ($1.exchangeBackward?.seconds ?? 0) } - logits.seconds - dataSeconds - lossSeconds - updateSeconds
        }
    }

    /// This rank's spans as Chrome trace events (`"ph": "X"`, microseconds), on track `pid = rank`.
    public func traceEvents(rank: Int, label: String) -> [[String: Any]] {
        var events: [[String: Any]] = [
            ["name": "process_name", "ph": "M", "pid": rank, "tid": 0, "args": ["name": label]],
            ["name": "process_sort_index", "ph": "M", "pid": rank, "tid": 0, "args": ["sort_index": rank]],
        ]
        for s in trace ?? [] {
            events.append(["name": s.name, "cat": s.cat, "ph": "X", "pid": rank, "tid": 0,
                           "ts": (s.start * 1e6 * 1000).rounded() / 1000, "dur": (s.duration * 1e6 * 1000).rounded() / 1000])
        }
        return events
    }
}
