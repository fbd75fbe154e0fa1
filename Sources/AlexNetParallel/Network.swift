import AlexNetCore
import AlexNetLayers
import Dispatch

/// An optimizer's rule, applied to one group's parameters at a time (`Network.update`).
public protocol ParameterUpdate: Sendable {
    func update(_ parameters: [Parameter], learningRate: Double)
}

/// The model as one rank runs it: the stages of its local groups, the exchanges in front of
/// the layers that read every group, and the gathered logits. One rank holding every group
/// and one rank per group run this same code; only the communicator differs.
public final class Network {
    public let spec: ModelSpec
    public let plans: [LayerPlan]
    public let batch: Int
    public let placement: Placement
    public let comm: Communicator
    public let seed: UInt64

    /// The minibatch, `[C][N][H][W]`, and its labels; every rank fills them with the same images.
    public let input: Tensor
    public let labels: UnsafeMutablePointer<Int32>
    /// Every group's logits, `[classes][N]`, and their gradient.
    public let logits: Tensor, dlogits: Tensor
    public let probabilities: Tensor

    let stages: [[Stage]]          // [layer][local group]
    let exchanges: [Exchange?]     // [layer]
    /// One im2col/LRN workspace per local group, so the groups can run at the same time.
    let workspaces: [Tensor]
    /// Run the local groups of a layer on one thread each (see `ThreadPlan`).
    public let concurrentGroups: Bool
    private var workers: GroupWorkers?
    /// What the group workers run next (set before `workers.run()`).
    private var pending: (layer: Int, pass: Pass, training: Bool, step: Int) = (0, .forward, false, 0)
    private enum Pass { case forward, backward(BackwardPart), update }
    /// The update `update(_:learningRate:)` is applying.
    private var pendingUpdate: (rule: ParameterUpdate, learningRate: Double)?
    public let profile: Profile
    /// Every parameter this rank holds, in layer then group order (built once: the step allocates nothing).
    public let parameters: [Parameter]
    /// Span names, built once for the same reason: [layer].
    private let forwardSpans: [String], backwardSpans: [String], gatherSpans: [String], scatterSpans: [String]

    public init(spec: ModelSpec, batch: Int, placement: Placement, comm: Communicator, seed: UInt64,
                concurrentGroups: Bool = false) throws {
        self.concurrentGroups = concurrentGroups
        precondition(comm.size == placement.ranks && comm.rank == placement.rank, "communicator and placement disagree")
        self.spec = spec; self.batch = batch; self.placement = placement; self.comm = comm; self.seed = seed
        let plans = try spec.plan()
        self.plans = plans
        let G = spec.groups, local = placement.localGroups, N = batch
        input = Tensor("input", [spec.inputChannels, N, spec.inputHeight, spec.inputWidth])
        labels = .allocate(capacity: N)
        labels.initialize(repeating: 0, count: N)
        logits = Tensor("logits", [spec.classes, N])
        dlogits = Tensor("dlogits", [spec.classes, N])
        probabilities = Tensor("probabilities", [spec.classes, N])

        var exchanges: [Exchange?] = []
        for p in plans {
            // A crossing buffer where groups exchange, and where a one-group model's first FC
            // layer must flatten its maps (no communication then).
            exchanges.append(p.crossing ? Exchange(plan: p, previous: plans[p.index - 1], groups: G,
                                                   localGroups: local.count, ranks: placement.ranks, batch: N) : nil)
        }
        var stages: [[Stage]] = []
        var need = 0
        for p in plans {
            var row: [Stage] = []
            for (li, g) in local.enumerated() {
                let sliceFloats = p.outputPerImage * N
                var outView: UnsafeMutablePointer<Float>?, dOutView: UnsafeMutablePointer<Float>?
                if p.index + 1 < plans.count, let ex = exchanges[p.index + 1] {
                    outView = ex.gathered.data + g * sliceFloats
                    dOutView = ex.dGathered.data + g * sliceFloats
                } else if p.index + 1 == plans.count {
                    outView = logits.data + g * sliceFloats
                    dOutView = dlogits.data + g * sliceFloats
                }
                // What the stage reads, and where its input gradient goes: the image (none), the
                // exchange in front of it, or the same group's previous stage.
                let x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?
                if p.index == 0 {
                    x = UnsafePointer(input.data); dx = nil
                } else if let ex = exchanges[p.index] {
                    x = ex.input; dx = ex.dxLocal[li].data
                } else {
                    let prev = stages[p.index - 1][li]
                    x = UnsafePointer(prev.out.data); dx = prev.dOut.data
                }
                let s = Stage(plan: p, group: g, batch: N, x: x, dx: dx, outView: outView, dOutView: dOutView)
                need = max(need, s.conv?.workspaceNeeded ?? 0)
                row.append(s)
            }
            stages.append(row)
        }
        self.stages = stages
        self.exchanges = exchanges
        workspaces = local.map { Tensor("workspace.g\($0)", [max(need, 1)]) }
        parameters = stages.flatMap { $0.flatMap { $0.parameters } }
        localGroupParameters = local.indices.map { i in stages.flatMap { $0[i].parameters } }
        forwardSpans = plans.map { "\($0.spec.name) forward" }
        backwardSpans = plans.map { "\($0.spec.name) backward" }
        gatherSpans = plans.map { "\($0.spec.name) all-gather" }
        scatterSpans = plans.map { "\($0.spec.name) reduce-scatter" }
        profile = Profile(layers: plans.map { $0.spec.name })
        for (l, ex) in exchanges.enumerated() where ex != nil && plans[l].exchange {
            profile.exchangeForward[l].name = "MPI_Allgather"
            profile.exchangeBackward[l].name = "MPI_Isend/Irecv reduce-scatter"
        }
        initialise()
        if concurrentGroups && local.count > 1 {
            workers = GroupWorkers(count: local.count) { [unowned self] i in runPending(group: i) }
        }
    }

    deinit {
        labels.deallocate()
        workers?.stop()
    }

    /// What the last forward pass left as `layer`'s output for local group `group` (after ReLU,
    /// LRN and pooling): `[K/G][N][H][W]` for a convolution, `[F/G][N]` for an FC layer (dropout
    /// applied only if that pass was training). Read-only use, e.g. the report's fc7 features;
    /// the next pass overwrites it.
    public func output(layer: Int, group: Int) -> Tensor {
        guard let s = stages[layer].first(where: { $0.group == group }) else {
            preconditionFailure("group \(group) is not on this rank")
        }
        return s.out
    }

    /// Every parameter of each local group, in local group order (built once).
    public let localGroupParameters: [[Parameter]]

    /// Applies `rule` to every local parameter, each group's on its group's thread when the
    /// groups run concurrently (on 1 rank with the paper's 2 groups, the update of 61 M
    /// parameters is memory-bound; on both cores "loss, update, logits" went from 33–40 to
    /// 26–29 ms a step).
    public func update(_ rule: ParameterUpdate, learningRate: Double) {
        pendingUpdate = (rule, learningRate)
        eachGroup(layer: 0, .update, training: false, step: 0)
        pendingUpdate = nil
    }

    /// Parameters of one local group.
    public func parameters(group: Int) -> [Parameter] {
        stages.flatMap { $0.filter { $0.group == group }.flatMap { $0.parameters } }
    }

    /// Draws the initial weights from streams keyed by (layer, group), so every placement starts alike.
    public func initialise() {
        for row in stages {
            for s in row {
                let p = s.plan
                let std: Double = spec.initScheme == .paper ? 0.01 : (2.0 / Double(p.fanIn)).squareRoot()
                let biasValue: Float = spec.initScheme == .paper ? p.spec.paperBias : (p.spec.paperBias != 0 ? 0.1 : 0)
                guard let w = s.parameters.first, let b = s.parameters.last else { continue }
                var stream = RandomStream(seed: seed, .initWeights, p.index, s.group)
                for i in 0..<w.count { w.value[i] = Float(stream.normal() * std) }
                b.value.data.update(repeating: biasValue, count: b.count)
                w.momentum.zero(); b.momentum.zero()
            }
        }
    }

    /// Runs the minibatch in `input` through every layer; leaves all classes' logits in `logits`.
    public func forward(training: Bool, step: Int) throws {
        for (l, row) in stages.enumerated() {
            if let ex = exchanges[l], plans[l].exchange {
                let t = now()
                try ex.gather(comm, localGroups: row.count)
                record(&profile.exchangeForward[l], since: t, block: ex.slice * row.count * 4, span: gatherSpans[l])
            }
            let t = now()
            exchanges[l]?.flatten()
            eachGroup(layer: l, .forward, training: training, step: step)
            profile.forward[l] += profile.span(forwardSpans[l], "compute", since: t)
        }
        let t = now()
        let count = spec.classes / spec.groups * batch * placement.groupsPerRank
        try comm.allgatherInPlace(logits.data, countPerRank: count)
        record(&profile.logits, since: t, block: count * 4, span: "logits all-gather")
    }

    private func record(_ c: inout Profile.Collective, since t: Double, block: Int, span: String) {
        record(&c, seconds: profile.span(span, "communication", since: t), block: block)
    }

    private func record(_ c: inout Profile.Collective, seconds: Double, block: Int) {
        c.seconds += seconds
        c.calls += 1
        c.bytesSent += Profile.bytesPerRank(block: block, ranks: comm.size)
        c.bytesReceived += Profile.bytesPerRank(block: block, ranks: comm.size)
    }

    /// Loss and error counts of the first `valid` images of the batch; with `gradient`, also
    /// `dlogits` for `backward`. Every rank computes the same numbers from the same logits.
    @discardableResult
    public func loss(valid: Int? = nil, gradient: Bool) -> SoftmaxCrossEntropy.Result {
        SoftmaxCrossEntropy.forward(logits: logits.data, labels: labels, classes: spec.classes, batch: batch,
                                    valid: valid, dlogits: gradient ? dlogits.data : nil,
                                    probabilities: probabilities.data)
    }

    /// Back-propagates `dlogits`, leaving every local parameter's gradient in `grad`.
    ///
    /// Where the layer's input came from every device, its input gradient must go back to them:
    /// each group computes that gradient first, the reduce-scatter is started, and the layer's
    /// weight gradients are computed while it runs. A rank that reaches the exchange before the
    /// other does useful work instead of waiting; the profile counts only the time spent in
    /// the start and the finish as communication.
    public func backward() throws {
        for l in stride(from: stages.count - 1, through: 0, by: -1) {
            let ex = exchanges[l], sends = ex != nil && plans[l].exchange
            var t = now()
            eachGroup(layer: l, .backward(sends ? .data : .all), training: true, step: 0)
            let send = ex?.sumLocal()
            profile.backward[l] += profile.span(backwardSpans[l], "compute", since: t)
            guard let ex, let send else { continue }
            guard sends else {
                ex.dGathered.data.update(from: send, count: ex.dGathered.count)   // flatten only: no ranks to sum over
                continue
            }
            t = now()
            try ex.startScatter(comm, localGroups: stages[l].count, send: send)
            var communicated = profile.span(scatterSpans[l], "communication", since: t)
            t = now()
            eachGroup(layer: l, .backward(.weights), training: true, step: 0)
            profile.backward[l] += profile.span(backwardSpans[l], "compute", since: t)
            t = now()
            try comm.finishReduceScatterSum()
            communicated += profile.span(scatterSpans[l], "communication", since: t)
            record(&profile.exchangeBackward[l], seconds: communicated, block: ex.slice * stages[l].count * 4)
        }
    }

    /// Runs layer `layer`'s forward or backward pass for each local group: at the same time,
    /// one thread per group, when `concurrentGroups`; else in group order. Stages of one layer
    /// share no written buffer.
    private func eachGroup(layer: Int, _ pass: Pass, training: Bool, step: Int) {
        pending = (layer, pass, training, step)
        if let workers {
            workers.run()
        } else {
            for i in stages[layer].indices { runPending(group: i) }
        }
    }

    /// The pending pass of local group `i` (its stage and its workspace).
    private func runPending(group i: Int) {
        let s = stages[pending.layer][i]
        switch pending.pass {
        case .forward:
            s.forward(training: pending.training, seed: seed, step: pending.step, lrn: spec.lrn, poolSize: spec.poolSize,
                      poolStride: spec.poolStride, workspace: workspaces[i].data)
        case .backward(let part):
            s.backward(part, lrn: spec.lrn, poolSize: spec.poolSize, poolStride: spec.poolStride, workspace: workspaces[i].data)
        case .update:
            if let u = pendingUpdate { u.rule.update(localGroupParameters[i], learningRate: u.learningRate) }
        }
    }

    /// Where non-finite numbers first appear on this rank, in forward order: a layer's
    /// parameters, or its output for the last minibatch. Nil when everything is finite.
    public func firstNonFinite() -> String? {
        func bad(_ t: Tensor) -> Bool { t.buffer.contains { !$0.isFinite } }
        if bad(input) { return "the input minibatch" }
        for row in stages {
            for s in row {
                let where_ = "\(s.plan.spec.name) (group \(s.group))"
                if let p = s.parameters.first(where: { bad($0.value) }) { return "the parameters \(p.name) of \(where_)" }
                if bad(s.y) { return "the output of \(where_)" }
                if bad(s.out) { return "the output of \(where_) after LRN/pooling" }
            }
        }
        return bad(logits) ? "the logits" : nil
    }

    /// Parameters this rank holds, and the whole model's.
    public var localParameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
}
