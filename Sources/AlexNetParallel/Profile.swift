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
    /// Each layer's gradients summed over the replicas (with a rank per replica).
    public var gradientSum: [Collective]
    public var logits = Collective(name: "MPI_Allgather")
    public var data = 0.0, loss = 0.0, update = 0.0
    /// The per-step agreement on stopping (one tiny all-reduce).
    public var control = 0.0
    public var steps = 0, stepSeconds = 0.0

    /// With `logCalls(capacity:)`: the length of every communication call in order, those on the
    /// replica's ranks (exchanges, logits) and those on the replica ranks (gradient sums) apart,
    /// so that `Network.measureWaiting()` can tell waiting from moving bytes call by call.
    public private(set) var callLog: (group: [Double], replicas: [Double])?
    /// Of `communicationSeconds`, the part spent waiting for other ranks (`Network.measureWaiting`).
    public var waitingSeconds: Double?
    /// Groups on one rank's threads: the mean time a group waited for the slowest at the end of
    /// each pass, and the time spent waking and joining the threads beyond the slowest group.
    public var groupWaiting = 0.0, groupDispatch = 0.0
    func recordGroups(waiting: Double, dispatch: Double) { groupWaiting += waiting; groupDispatch += dispatch }

    /// Trace spans, when tracing: (name, category, start, duration) in seconds since `origin`.
    public var trace: [(name: String, cat: String, start: Double, duration: Double)]?
    public var origin = now()

    /// What `measure` times.
    public enum Event {
        /// Layer l's compute, forward or backward (every local group).
        case forward(Int), backward(Int)
        /// The exchange in front of layer l: the forward all-gather; the start and the finish of
        /// the backward reduce-scatter (one call, timed in two parts).
        case gather(Int), scatterStart(Int), scatterFinish(Int)
        /// Layer l's gradients summed over the replicas: started when they are ready, finished
        /// (with the all-gather of the sum) before the update.
        case gradientSumStart(Int), gradientSumFinish(Int)
        /// The logits' all-gather; the trainer's pieces of a step; the stop check after it.
        case logits, data, loss, update, control
    }

    /// Span names, built once: building a string in the step would allocate.
    private let names: (forward: [String], backward: [String], gather: [String], scatter: [String], gradientSum: [String])
    /// Bytes this rank contributes to each collective per call ([layer]; the logits' apart).
    private var gatherBlock: [Int], scatterBlock: [Int], logitsBlock = 0, sumBlock: [Int]
    private var ranks = 1, replicas = 1

    init(layers: [String]) {
        self.layers = layers
        forward = Array(repeating: 0, count: layers.count)
        backward = forward
        exchangeForward = Array(repeating: Collective(), count: layers.count)
        exchangeBackward = exchangeForward
        names = (layers.map { "\($0) forward" }, layers.map { "\($0) backward" },
                 layers.map { "\($0) all-gather" }, layers.map { "\($0) reduce-scatter" }, layers.map { "\($0) gradient sum" })
        gatherBlock = Array(repeating: 0, count: layers.count)
        scatterBlock = gatherBlock
        sumBlock = gatherBlock
        gradientSum = Array(repeating: Collective(), count: layers.count)
    }

    /// Names the collectives of layer `layer`'s exchange and the bytes this rank contributes per call.
    func describeExchange(layer: Int, blockBytes: Int, ranks: Int) {
        exchangeForward[layer].name = "MPI_Allgather"
        exchangeBackward[layer].name = "MPI_Isend/Irecv reduce-scatter"
        gatherBlock[layer] = blockBytes
        scatterBlock[layer] = blockBytes
        self.ranks = ranks
    }

    func describeLogits(blockBytes: Int, ranks: Int) { logitsBlock = blockBytes; self.ranks = ranks }

    /// Names layer `layer`'s gradient sum over `replicas` replica ranks and the bytes of this
    /// rank's block of it (a reduce-scatter and an all-gather: each moves (R − 1) blocks).
    func describeGradientSum(layer: Int, blockBytes: Int, ranks replicas: Int) {
        gradientSum[layer].name = "MPI_Isend/Irecv reduce-scatter + MPI_Allgather"
        sumBlock[layer] = blockBytes
        self.replicas = replicas
    }

    /// Runs `body` and counts its wall time (and, for a collective, a call and its bytes) where
    /// `event` says; with a trace, also as a span. Bookkeeping around the algorithm, not in it.
    @inline(__always) @discardableResult
    public func measure<T>(_ event: Event, _ body: () throws -> T) rethrows -> T {
        let t = now()
        let result = try body()
        let seconds = span(name(event), category(event), since: t)
        record(event, seconds)
        return result
    }

    /// The step itself, around `body` (named with its number when tracing).
    @inline(__always) @discardableResult
    public func measureStep<T>(_ globalStep: Int, _ body: () throws -> T) rethrows -> T {
        let t = now()
        let result = try body()
        // The step's number in the name only when tracing: building the string allocates.
        stepSeconds += span(trace == nil ? "step" : "step \(globalStep + 1)", "step", since: t)
        steps += 1
        return result
    }

    private func name(_ e: Event) -> String {
        switch e {
        case .forward(let l): return names.forward[l]
        case .backward(let l): return names.backward[l]
        case .gather(let l): return names.gather[l]
        case .scatterStart(let l), .scatterFinish(let l): return names.scatter[l]
        case .gradientSumStart(let l), .gradientSumFinish(let l): return names.gradientSum[l]
        case .logits: return "logits all-gather"
        case .data: return "data"
        case .loss: return "loss"
        case .update: return "update"
        case .control: return "stop check"
        }
    }

    private func category(_ e: Event) -> String {
        switch e {
        case .forward, .backward, .loss, .update: return "compute"
        case .gather, .scatterStart, .scatterFinish, .gradientSumStart, .gradientSumFinish, .logits, .control: return "communication"
        case .data: return "data"
        }
    }

    /// Starts (or restarts) the call log with room for `capacity` calls of each kind (sized
    /// once: appending in the step must not allocate).
    public func logCalls(capacity: Int) {
        callLog = ([], [])
        callLog!.group.reserveCapacity(capacity)
        callLog!.replicas.reserveCapacity(capacity)
    }

    private func record(_ e: Event, _ seconds: Double) {
        if callLog != nil {
            switch e {
            case .gather, .scatterStart, .scatterFinish, .logits: callLog!.group.append(seconds)
            case .gradientSumStart, .gradientSumFinish: callLog!.replicas.append(seconds)
            default: break
            }
        }
        func call(_ c: inout Collective, _ block: Int) {
            c.calls += 1
            c.bytesSent += Profile.bytesPerRank(block: block, ranks: ranks)
            c.bytesReceived += Profile.bytesPerRank(block: block, ranks: ranks)
        }
        switch e {
        case .forward(let l): forward[l] += seconds
        case .backward(let l): backward[l] += seconds
        case .gather(let l): exchangeForward[l].seconds += seconds; call(&exchangeForward[l], gatherBlock[l])
        case .scatterStart(let l): exchangeBackward[l].seconds += seconds
        case .scatterFinish(let l): exchangeBackward[l].seconds += seconds; call(&exchangeBackward[l], scatterBlock[l])
        case .gradientSumStart(let l): gradientSum[l].seconds += seconds
        case .gradientSumFinish(let l):
            gradientSum[l].seconds += seconds
            gradientSum[l].calls += 1
            // A reduce-scatter and an all-gather, each (R − 1) blocks out and in.
            gradientSum[l].bytesSent += 2 * Profile.bytesPerRank(block: sumBlock[l], ranks: replicas)
            gradientSum[l].bytesReceived += 2 * Profile.bytesPerRank(block: sumBlock[l], ranks: replicas)
        case .logits: logits.seconds += seconds; call(&logits, logitsBlock)
        case .data: data += seconds
        case .loss: loss += seconds
        case .update: update += seconds
        case .control: control += seconds
        }
    }

    public func reset() {
        for i in layers.indices {
            forward[i] = 0; backward[i] = 0
            exchangeForward[i] = Collective(name: exchangeForward[i].name)
            exchangeBackward[i] = Collective(name: exchangeBackward[i].name)
            gradientSum[i] = Collective(name: gradientSum[i].name)
        }
        logits = Collective(name: logits.name)
        data = 0; loss = 0; update = 0; control = 0; steps = 0; stepSeconds = 0
        if trace != nil { trace = [] }
        if callLog != nil { callLog!.group.removeAll(keepingCapacity: true); callLog!.replicas.removeAll(keepingCapacity: true) }
        waitingSeconds = nil
        groupWaiting = 0; groupDispatch = 0
    }

    /// Runs `body` without counting it (evaluation passes inside a training run); its spans
    /// stay in the timeline.
    public func excluding<T>(_ body: () throws -> T) rethrows -> T {
        let saved = (forward, backward, exchangeForward, exchangeBackward, gradientSum, logits, data, loss, update, control, steps, stepSeconds)
        let groups = (groupWaiting, groupDispatch)
        defer {
            (forward, backward, exchangeForward, exchangeBackward, gradientSum, logits, data, loss, update, control, steps, stepSeconds) = saved
            (groupWaiting, groupDispatch) = groups
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
        exchangeForward.map(\.seconds).reduce(0, +) + exchangeBackward.map(\.seconds).reduce(0, +)
            + gradientSum.map(\.seconds).reduce(0, +) + logits.seconds
    }

    /// A Codable copy for JSON (`train --profile`, `profile`).
    public var record: Record {
        Record(layers: layers.indices.map { i in
                   Record.Layer(name: layers[i], forwardSeconds: forward[i], backwardSeconds: backward[i],
                                exchangeForward: exchangeForward[i].calls > 0 ? exchangeForward[i] : nil,
                                exchangeBackward: exchangeBackward[i].calls > 0 ? exchangeBackward[i] : nil,
                                gradientSum: gradientSum[i].calls > 0 ? gradientSum[i] : nil) },
               logits: logits, dataSeconds: data, lossSeconds: loss, updateSeconds: update, controlSeconds: control,
               steps: steps, stepSeconds: stepSeconds, waitingSeconds: waitingSeconds)
    }

    public struct Record: Codable, Sendable {
        public struct Layer: Codable, Sendable {
            public var name: String
            public var forwardSeconds: Double, backwardSeconds: Double
            public var exchangeForward: Collective?, exchangeBackward: Collective?
            /// The layer's gradients summed over the replicas (none with one replica, or replicas in turn).
            public var gradientSum: Collective?
            /// Seconds in this layer's collectives.
            public var communicationSeconds: Double {
                (exchangeForward?.seconds ?? 0) + (exchangeBackward?.seconds ?? 0) + (gradientSum?.seconds ?? 0)
            }
        }
        public var layers: [Layer]
        public var logits: Collective
        public var dataSeconds: Double, lossSeconds: Double, updateSeconds: Double
        /// Outside the step: the stop check after it (train only).
        public var controlSeconds: Double
        public var steps: Int, stepSeconds: Double
        /// Of the seconds in collectives, those spent waiting for other ranks (nil: not measured).
        public var waitingSeconds: Double?
        /// Seconds in every collective of the steps: the layers' and the logits' gather.
        public var communicationSeconds: Double { layers.reduce(0) { $0 + $1.communicationSeconds } + logits.seconds }
        /// ": moving bytes 0.12 ms, waiting 1.30 ms" per step (empty when not measured).
        public func waitingText(steps: Double) -> String {
            guard let w = waitingSeconds else { return "" }
            return String(format: ": moving bytes %.2f ms, waiting for the other ranks %.2f ms",
                          (communicationSeconds - w) / steps * 1e3, w / steps * 1e3)
        }
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
            stepSeconds - layers.reduce(0) { $0 + $1.forwardSeconds + $1.backwardSeconds + $1.communicationSeconds }
                - logits.seconds - dataSeconds - lossSeconds - updateSeconds
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
