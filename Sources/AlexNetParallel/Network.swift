import AlexNetCore
import AlexNetLayers
import Dispatch

/// An optimizer's rule, applied to one group's parameters at a time (`Network.update`).
public protocol ParameterUpdate: Sendable {
    func update(_ parameters: [Parameter], learningRate: Double)
}

/// The model as one rank runs it: the stages of its local groups, the exchanges in front of
/// the layers that read every group, and the gathered logits. One rank holding every group
/// and one rank per group run this same code; only the communicator differs. Every buffer is
/// in one `Arena`, laid out by the rank's `BufferPlan`.
///
/// With replicas, a forward and backward pass computes one slice of the minibatch (`batch`
/// images of `globalBatch`): a rank computes its replicas' slices in turn, adding their
/// gradients in replica order (`accumulateGradients`), or, with a rank per replica, sums them
/// over the replica communicator (a reduce-scatter started as soon as a layer's gradients are
/// ready, finished with an all-gather before the update).
public final class Network {
    public let spec: ModelSpec
    public let plans: [LayerPlan]
    /// Images of one forward pass: the minibatch's slice of one replica.
    public let batch: Int
    /// Images of the whole minibatch (all replicas' slices).
    public var globalBatch: Int { batch * placement.replicas }
    public let placement: Placement
    /// The replicas this rank computes, in turn (kept: the placement makes a new array each time).
    public let localReplicas: [Int]
    /// Every rank of the job (the agreement on stopping, the checkpoints).
    public let comm: Communicator
    /// The ranks of this rank's replica: the exchanges and the logits' gather.
    public let groupComm: Communicator
    /// The ranks that hold this rank's groups in the other replicas: the gradient sums (one rank
    /// when the replicas are computed in turn).
    public let replicaComm: Communicator
    public let seed: UInt64
    /// Every buffer this rank holds (names, shapes, owners), and the one allocation behind them.
    public let buffers: BufferPlan
    let arena: Arena

    /// The minibatch, `[C][N][H][W]`, and its labels; every rank fills them with the same images.
    public let input: Tensor
    public let labels: UnsafeMutablePointer<Int32>
    /// Every group's logits, `[classes][N]`, and their gradient.
    public let logits: Tensor, dlogits: Tensor
    public let probabilities: Tensor

    let stages: [[Stage]]          // [layer][local group]
    let exchanges: [Exchange?]     // [layer]
    /// Run the local groups of a layer on one thread each (see `ThreadPlan`).
    public let concurrentGroups: Bool
    private var workers: GroupWorkers?
    /// What the group workers run next (set before `workers.run()`).
    private var work: (layer: Int, pass: Pass) = (0, .update)
    /// Each concurrent group's seconds in the pass the workers just ran (sized once).
    private var groupSeconds: UnsafeMutablePointer<Double>
    private enum Pass { case forward(training: Bool, step: Int, replica: Int), backward(BackwardPart), update }
    /// The update `update(_:learningRate:)` is applying.
    private var rule: (update: ParameterUpdate, learningRate: Double)?
    public let profile: Profile
    /// Every parameter this rank holds, in layer then group order (built once: the step allocates nothing).
    public let parameters: [Parameter]
    /// Every parameter of each local group, in local group order (built once).
    public let localGroupParameters: [[Parameter]]

    /// `convolutions`: the code the convolutions run on (`ConvolutionAlgorithm.chosen` unless a
    /// test compares the two).
    public init(spec: ModelSpec, batch: Int, placement: Placement, comm: Communicator, seed: UInt64,
                concurrentGroups: Bool = false, convolutions: ConvolutionAlgorithm = .chosen) throws {
        self.concurrentGroups = concurrentGroups
        groupSeconds = .allocate(capacity: max(1, placement.localGroups.count))
        groupSeconds.initialize(repeating: 0, count: max(1, placement.localGroups.count))
        precondition(comm.size == placement.ranks && comm.rank == placement.rank, "communicator and placement disagree")
        self.spec = spec; self.batch = batch; self.placement = placement; self.comm = comm; self.seed = seed
        localReplicas = placement.localReplicas
        // With a rank per replica: the ranks of my replica (rank order = group order), and the
        // ranks of my groups in every replica (rank order = replica order).
        let groupComm = try placement.replica.map { try comm.split(color: $0, key: placement.rankInReplica) } ?? comm
        let replicaComm = try placement.replica.map { try comm.split(color: placement.rankInReplica, key: $0) } ?? LocalCommunicator()
        self.groupComm = groupComm; self.replicaComm = replicaComm
        let plans = try spec.plan()
        self.plans = plans
        let local = placement.localGroups, N = batch
        buffers = BufferPlan(spec: spec, plans: plans, batch: N, localGroups: local, ranks: placement.ranksPerReplica,
                             replicas: placement.replicas, replicasApart: placement.replica != nil, convolutions: convolutions)
        let arena = Arena(buffers)
        self.arena = arena
        input = arena.tensor(.network, .input)
        labels = arena.int32s(.network, .labels)
        logits = arena.tensor(.network, .logits)
        dlogits = arena.tensor(.network, .logitsGradient)
        probabilities = arena.tensor(.network, .probabilities)
        let exchanges = plans.map { p in
            p.crossing ? Exchange(plan: p, previous: plans[p.index - 1], groups: spec.groups, localGroups: local.count,
                                  batch: N, arena: arena, comm: groupComm) : nil
        }
        var stages: [[Stage]] = []
        for p in plans {
            stages.append(local.indices.map { li in
                // What the stage reads, and where its input gradient goes: the image (none), the
                // exchange in front of it, or the same group's previous stage.
                let x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?
                if p.index == 0 {
                    x = UnsafePointer(arena.floats(.network, .input)); dx = nil
                } else if let ex = exchanges[p.index] {
                    x = ex.input; dx = ex.dxLocal[li].data
                } else {
                    let prev = stages[p.index - 1][li]
                    x = UnsafePointer(prev.out.data); dx = prev.dOut.data
                }
                return Stage(plan: p, group: local[li], batch: N, arena: arena, x: x, dx: dx,
                             workspace: arena.floats(.network, .workspace(local: li)), convolutions: convolutions)
            })
        }
        self.stages = stages
        // Each convolution's passes fit the workspace the plan gave its group.
        let workspace = buffers.buffers.first { $0.key.role == .workspace(local: 0) }?.count ?? 0
        precondition(stages.joined().allSatisfy { ($0.conv?.workspaceNeeded ?? 0) <= workspace },
                     "a convolution needs more workspace than the buffer plan gives it")
        self.exchanges = exchanges
        parameters = stages.flatMap { $0.flatMap { $0.parameters } }
        localGroupParameters = local.indices.map { i in stages.flatMap { $0[i].parameters } }
        let profile = Profile(layers: plans.map { $0.spec.name })
        self.profile = profile
        for (l, ex) in exchanges.enumerated() where ex?.communicates == true {
            profile.describeExchange(layer: l, blockBytes: ex!.blockBytes, ranks: groupComm.size)
        }
        profile.describeLogits(blockBytes: 4 * spec.classes / spec.groups * N * placement.groupsPerRank, ranks: groupComm.size)
        // The replicas' gradient sums, one per stage, made once over its buffers.
        let R = placement.replicas
        let gradientSums: [[ReduceScatter]] = placement.replica == nil ? [] : stages.map { row in
            row.map { s in
                let block = s.gradients.count / R
                return replicaComm.makeReduceScatter(send: s.gradients.data, recv: s.gradientSum.data + replicaComm.rank * block,
                                                     countPerRank: block,
                                                     scratch: arena.floats(.stage(layer: s.plan.index, group: s.group), .gradientsReceived),
                                                     tag: 1000 + 64 * s.plan.index + s.group)
            }
        }
        self.gradientSums = gradientSums
        pendingSums = gradientSums.map { $0.map { _ in nil } }
        for (l, row) in stages.enumerated() where !gradientSums.isEmpty {
            profile.describeGradientSum(layer: l, blockBytes: row.reduce(0) { $0 + 4 * $1.gradients.count / R }, ranks: R)
        }
        initialise()
        if concurrentGroups && local.count > 1 {
            workers = GroupWorkers(count: local.count) { [unowned self] i in
                let t = now()
                runWork(group: i)
                groupSeconds[i] = now() - t
            }
        }
    }

    deinit { workers?.stop(); groupSeconds.deallocate() }

    /// The replicas' gradient sums, per layer and local group (none when the replicas are
    /// computed in turn), and those under way.
    private let gradientSums: [[ReduceScatter]]
    private var pendingSums: [[PendingReduceScatter?]]

    /// The logits of this rank's groups: a block of the all-gather.
    private var logitsPerRank: Int { spec.classes / spec.groups * batch * placement.groupsPerRank }

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

    /// Applies `rule` to every local parameter, each group's on its group's thread when the
    /// groups run concurrently (on 1 rank with the paper's 2 groups, the update of 61 M
    /// parameters is memory-bound; on both cores "loss, update, logits" went from 33–40 to
    /// 26–29 ms a step).
    public func update(_ rule: ParameterUpdate, learningRate: Double) {
        self.rule = (rule, learningRate)
        eachGroup(layer: 0, .update)
        self.rule = nil
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

    /// Runs the minibatch in `input` through every layer, as the paper's figure 2 draws it: the
    /// crossing in front of a layer that reads every group, then the layer on every local group;
    /// leaves all classes' logits in `logits`.
    public func forward(training: Bool, step: Int, replica: Int = 0) throws {
        for l in plans.indices {
            if let ex = exchanges[l], ex.communicates { try profile.measure(.gather(l)) { try ex.gather() } }
            profile.measure(.forward(l)) {
                exchanges[l]?.flatten()
                eachGroup(layer: l, .forward(training: training, step: step, replica: replica))
            }
        }
        try profile.measure(.logits) { try groupComm.allgatherInPlace(logits.data, countPerRank: logitsPerRank) }
    }

    /// Loss and error counts of the first `valid` images of the batch; with `gradient`, also
    /// `dlogits` for `backward`. Every rank computes the same numbers from the same logits.
    @discardableResult
    public func loss(valid: Int? = nil, gradient: Bool) -> SoftmaxCrossEntropy.Result {
        // The gradient of the whole minibatch's mean loss: each slice divides by all its images.
        SoftmaxCrossEntropy.forward(logits: logits.data, labels: labels, classes: spec.classes, batch: batch,
                                    valid: valid, dlogits: gradient ? dlogits.data : nil,
                                    probabilities: probabilities.data, gradientImages: placement.replicas > 1 ? globalBatch : nil)
    }

    /// Back-propagates `dlogits`, leaving every local parameter's gradient in `grad`.
    ///
    /// Where the layer's input came from every device, its input gradient must go back to them:
    /// each group computes that gradient first, the reduce-scatter is started, and the layer's
    /// weight gradients are computed while it runs. A rank that reaches the exchange before the
    /// other does useful work instead of waiting; the profile counts only the time spent in
    /// the start and the finish as communication.
    ///
    /// `turn`: which of this rank's replicas this slice is (0 for the first): with replicas
    /// computed in turn, each layer's gradients are added into their sum as soon as they are
    /// ready; with a rank per replica, each layer's sum over the replicas is started then, and
    /// `finishGradientSums` completes them all.
    public func backward(turn: Int = 0) throws {
        for l in plans.indices.reversed() {
            if let ex = exchanges[l], ex.communicates {
                profile.measure(.backward(l)) { eachGroup(layer: l, .backward(.data)); ex.sumLocalGradients() }
                let scatter = try profile.measure(.scatterStart(l)) { try ex.startScatter() }
                profile.measure(.backward(l)) { eachGroup(layer: l, .backward(.weights)) }
                try profile.measure(.scatterFinish(l)) { try scatter.finish() }
            } else {
                profile.measure(.backward(l)) { eachGroup(layer: l, .backward(.all)); exchanges[l]?.passGradientBack() }
            }
            // This layer's gradients are complete: into the sum over the replicas.
            if !gradientSums.isEmpty {
                try profile.measure(.gradientSumStart(l)) {
                    for i in gradientSums[l].indices { pendingSums[l][i] = try gradientSums[l][i].start() }
                }
            } else if placement.replicas > 1 {
                profile.measure(.backward(l)) { for s in stages[l] { s.accumulateGradients(first: turn == 0) } }
            }
        }
    }

    /// Completes the replicas' gradient sums that `backward` started (nothing to do when the
    /// replicas are computed in turn): each stage's block of the sum, added in replica order,
    /// then every block gathered, so that every replica updates with the same sum.
    public func finishGradientSums() throws {
        for l in plans.indices.reversed() where !gradientSums.isEmpty {
            try profile.measure(.gradientSumFinish(l)) {
                for (i, s) in stages[l].enumerated() {
                    try pendingSums[l][i]?.finish()
                    pendingSums[l][i] = nil
                    try replicaComm.allgatherInPlace(s.gradientSum.data, countPerRank: s.gradientSum.count / placement.replicas)
                }
            }
        }
    }

    /// Splits this rank's seconds in communication calls since `profile.logCalls` into waiting
    /// for the other ranks and moving bytes, call by call: of each call, the rank that spent the
    /// least in it (the last to arrive) is counted as only moving bytes, and what any rank spent
    /// beyond that as waiting. Collective: every rank calls it after the same steps. Sets and
    /// returns `profile.waitingSeconds`.
    @discardableResult
    public func measureWaiting() throws -> Double {
        guard let log = profile.callLog else { return 0 }
        let logs = [(log.group, groupComm), (log.replicas, replicaComm)].filter { $0.1.size > 1 }
        // Every rank learns whether any communicator's ranks logged different calls, and all
        // stop together (a rank left in the second communicator's exchange would wait forever).
        var differ = false
        for (mine, comm) in logs { differ = try comm.allgather(Double(mine.count)).contains { Int($0) != mine.count } || differ }
        if try self.comm.anyRank(differ) {
            throw CommunicatorError("rank \(self.comm.rank): the ranks logged different communication calls")
        }
        var waiting = 0.0
        for (mine, comm) in logs {
            let n = mine.count
            var all = [Double](repeating: 0, count: n * comm.size)
            for i in 0..<n { all[comm.rank * n + i] = mine[i] }
            try comm.allreduceSum(&all)
            for i in 0..<n {
                var least = Double.infinity
                for r in 0..<comm.size { least = min(least, all[r * n + i]) }
                waiting += mine[i] - least
            }
        }
        profile.waitingSeconds = waiting
        return waiting
    }

    /// Runs layer `layer`'s pass for each local group: at the same time, one thread per group,
    /// when `concurrentGroups`; else in group order. Stages of one layer share no written buffer.
    private func eachGroup(layer: Int, _ pass: Pass) {
        work = (layer, pass)
        if let workers {
            let t = now()
            workers.run()
            // How the groups kept pace: each waited for the slowest at the end of the pass, and
            // the rest of the pass's wall time was waking and joining the threads.
            let wall = now() - t, n = stages[layer].count
            var slowest = 0.0, sum = 0.0
            for i in 0..<n { slowest = max(slowest, groupSeconds[i]); sum += groupSeconds[i] }
            profile.recordGroups(waiting: slowest - sum / Double(n), dispatch: wall - slowest)
        } else {
            for i in stages[layer].indices { runWork(group: i) }
        }
    }

    /// The work of local group `i`: its stage's pass, or its parameters' update.
    private func runWork(group i: Int) {
        let s = stages[work.layer][i]
        switch work.pass {
        case .forward(let training, let step, let replica):
            s.forward(training: training, seed: seed, step: step, replica: replica, replicas: placement.replicas, lrn: spec.lrn, pool: spec.pool)
        case .backward(let part):
            s.backward(part, lrn: spec.lrn, pool: spec.pool)
        case .update:
            if let rule { rule.update.update(localGroupParameters[i], learningRate: rule.learningRate) }
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

    /// Parameters this rank holds.
    public var localParameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
}
