import AlexNetCore
import AlexNetLayers

/// Every buffer of one rank's network, worked out once from the layer plans: its name, shape,
/// owner, and whether it is its own memory or a view into another buffer. The network allocates
/// the plan in one `Arena` and every stage and exchange takes its buffers from it, by role;
/// `simulate` counts a device's memory from the same plan. A new buffer is one line here.
///
/// Shapes use the package's letters: N images, K kernels of one group, H×W maps, F features,
/// all `[C][N][H][W]` or `[F][N]` (see Tensor.swift). Int32 buffers (labels, pooling winners)
/// take 4 bytes an element, as floats do.
public struct BufferPlan: Sendable {
    public enum Owner: Hashable, Sendable {
        /// The minibatch, the logits, the im2col workspaces.
        case network
        /// One group's piece of one layer (`Stage`).
        case stage(layer: Int, group: Int)
        /// The crossing in front of a layer that reads every group (`Exchange`).
        case exchange(layer: Int)
    }

    public enum Role: Hashable, Sendable {
        // network
        case input, labels, logits, logitsGradient, probabilities, workspace(local: Int)
        // stage
        case y, yGradient, lrnOutput, lrnGradient, lrnScale, poolIndex, dropoutMask, out, outGradient
        case weight, weightGradient, weightMomentum, bias, biasGradient, biasMomentum
        /// This replica's gradients of the stage's weight and bias, back to back (padded to a
        /// multiple of the replicas), their sum over the replicas (what the update reads; the same
        /// memory with one replica), and the other replicas' blocks of the sum while it is under way.
        case gradients, gradientSum, gradientsReceived
        // exchange
        case gathered, gatheredGradient, flat, mapsGradient, inputGradient(local: Int), received
    }

    public struct Key: Hashable, Sendable {
        public let owner: Owner, role: Role
        public init(_ owner: Owner, _ role: Role) { self.owner = owner; self.role = role }
    }

    public struct Buffer: Sendable {
        public let key: Key
        public let name: String
        public let shape: [Int]
        public var count: Int { shape.reduce(1, *) }
        /// nil: its own memory; else the buffer it is a view of, and the offset in floats.
        public let view: (of: Key, offset: Int)?
        /// The layer whose memory it counts as (nil: the network's own).
        public let layer: Int?
    }

    /// What a rank (or a modelled device) holds of one layer: which groups, for how many images.
    public struct Share: Sendable {
        public var groups: [Int], images: Int
        public init(groups: [Int], images: Int) { self.groups = groups; self.images = images }
    }

    public private(set) var buffers: [Buffer] = []
    private var index: [Key: Int] = [:]

    /// The buffers of a rank holding `localGroups` of every layer, for `batch` images at a time;
    /// `ranks`: the ranks of its replica (the group communicator); `replicas`: the model's,
    /// `replicasApart`: whether the replicas' gradients are summed over ranks.
    public init(spec: ModelSpec, plans: [LayerPlan], batch: Int, localGroups: [Int], ranks: Int, replicas: Int = 1,
                replicasApart: Bool = false, convolutions: ConvolutionAlgorithm = .chosen) {
        self.init(spec: spec, plans: plans, ranks: ranks, replicas: replicas, replicasApart: replicasApart,
                  convolutions: convolutions) { _ in
            Share(groups: localGroups, images: batch)
        }
    }

    /// The buffers of a device that holds `share(layer)` of each layer (the simulator's
    /// strategies hold different shares of different layers). `convolutions`: the algorithm this
    /// process runs them with (its workspace), or nil for a modelled device (im2col's chunk).
    public init(spec: ModelSpec, plans: [LayerPlan], ranks: Int, replicas: Int = 1, replicasApart: Bool = false,
                convolutions: ConvolutionAlgorithm? = nil, share: (LayerPlan) -> Share) {
        let G = spec.groups
        let first = share(plans[0]), last = share(plans[plans.count - 1])
        add(.network, .input, "input", [spec.inputChannels, first.images, spec.inputHeight, spec.inputWidth])
        add(.network, .labels, "labels", [first.images])
        for role in [Role.logits, .logitsGradient, .probabilities] {
            add(.network, role, "\(role)", [spec.classes, last.images])
        }
        // One im2col workspace per local group (the groups may run at once), the largest chunk's.
        var workspace = 1
        for p in plans where p.isConv {
            let geometry = ConvGeometry(channels: p.inChannels, height: p.inHeight, width: p.inWidth, batch: share(p).images,
                                        kernel: p.spec.size, stride: p.spec.stride, pad: p.spec.pad)
            workspace = max(workspace, convolutions.map {
                Convolution.workspaceFloats(for: geometry, outChannels: p.outChannels, inputGradient: p.index > 0, algorithm: $0)
            } ?? Convolution.workspaceFloats(for: geometry))
        }
        for i in first.groups.indices { add(.network, .workspace(local: i), "workspace.g\(first.groups[i])", [workspace]) }

        // The crossings first: the stages' outputs are views into them.
        for p in plans {
            let l = p.index, s = share(p), N = s.images, name = p.spec.name
            // The crossing in front of the layer: every group's output of the layer before, gathered.
            if p.crossing {
                let prev = plans[l - 1]
                let slice = prev.outputPerImage * N, whole = G * slice, ex = Owner.exchange(layer: l)
                add(ex, .gathered, "\(name).exchange.gathered", [whole], layer: l)
                add(ex, .gatheredGradient, "\(name).exchange.dgathered", [whole], layer: l)
                if !p.isConv && prev.pooledHeight * prev.pooledWidth > 1 {
                    add(ex, .flat, "\(name).exchange.flat", [whole], layer: l)
                    add(ex, .mapsGradient, "\(name).exchange.dxmaps", [whole], layer: l)
                }
                for i in s.groups.indices { add(ex, .inputGradient(local: i), "\(name).exchange.dx\(i)", [whole], layer: l) }
                // The other ranks' blocks of the backward reduce-scatter, received while the weight
                // gradients are computed.
                if p.exchange && ranks > 1 {
                    add(ex, .received, "\(name).exchange.received", [(ranks - 1) * slice * s.groups.count], layer: l)
                }
            }
        }
        for p in plans {
            let l = p.index, s = share(p), N = s.images, name = p.spec.name
            for g in s.groups {
                let st = Owner.stage(layer: l, group: g), n = "\(name).g\(g)"
                let K = p.outChannels
                let yShape = [K, N, p.outHeight, p.outWidth], outShape = [K, N, p.pooledHeight, p.pooledWidth]
                // The final output is a view into what reads it: the next crossing (at this group's
                // slice) or the logits; else its own.
                let nextCrosses = l + 1 < plans.count && plans[l + 1].crossing
                if nextCrosses || l + 1 == plans.count {
                    let at = g * p.outputPerImage * N
                    let into: Owner = nextCrosses ? .exchange(layer: l + 1) : .network
                    add(st, .out, n + ".out", outShape, view: (Key(into, nextCrosses ? .gathered : .logits), at), layer: l)
                    add(st, .outGradient, n + ".dout", outShape, view: (Key(into, nextCrosses ? .gatheredGradient : .logitsGradient), at), layer: l)
                } else {
                    add(st, .out, n + ".out", outShape, layer: l)
                    add(st, .outGradient, n + ".dout", outShape, layer: l)
                }
                // y is the conv/FC output; with neither LRN nor pooling it is the final output.
                let finalIsY = !p.spec.lrn && !p.spec.pool
                add(st, .y, n + ".y", yShape, view: finalIsY ? (Key(st, .out), 0) : nil, layer: l)
                add(st, .yGradient, n + ".dy", yShape, view: finalIsY ? (Key(st, .outGradient), 0) : nil, layer: l)
                if p.spec.lrn {
                    // LRN's output is the final output unless pooling follows.
                    add(st, .lrnOutput, n + ".lrn", yShape, view: p.spec.pool ? nil : (Key(st, .out), 0), layer: l)
                    add(st, .lrnGradient, n + ".dlrn", yShape, view: p.spec.pool ? nil : (Key(st, .outGradient), 0), layer: l)
                    add(st, .lrnScale, n + ".lrnscale", yShape, layer: l)
                }
                if p.spec.pool { add(st, .poolIndex, n + ".poolindex", outShape, layer: l) }
                if p.spec.dropout > 0 { add(st, .dropoutMask, n + ".mask", yShape, layer: l) }
                let w = [K, p.fanIn], b = [K]
                add(st, .weight, n + ".weight", w, layer: l)
                add(st, .weightMomentum, n + ".weight.momentum", w, layer: l)
                add(st, .bias, n + ".bias", b, layer: l)
                add(st, .biasMomentum, n + ".bias.momentum", b, layer: l)
                // The gradients back to back, so that one collective sums a stage's over the replicas.
                let block = BufferPlan.gradientBlock(weights: K * p.fanIn, biases: K, replicas: replicas)
                add(st, .gradients, n + ".grad", [replicas * block], layer: l)
                add(st, .weightGradient, n + ".weight.grad", w, view: (Key(st, .gradients), 0), layer: l)
                add(st, .biasGradient, n + ".bias.grad", b, view: (Key(st, .gradients), K * p.fanIn), layer: l)
                add(st, .gradientSum, n + ".grad.sum", [replicas * block], view: replicas == 1 ? (Key(st, .gradients), 0) : nil, layer: l)
                if replicasApart && replicas > 1 {
                    add(st, .gradientsReceived, n + ".grad.received", [(replicas - 1) * block], layer: l)
                }
            }
        }
    }

    /// Floats of one replica's block of a stage's gradients: weights and biases, padded so that
    /// the replicas' blocks tile them exactly.
    public static func gradientBlock(weights: Int, biases: Int, replicas: Int) -> Int {
        (weights + biases + replicas - 1) / replicas
    }

    private mutating func add(_ owner: Owner, _ role: Role, _ name: String, _ shape: [Int],
                              view: (of: Key, offset: Int)? = nil, layer: Int? = nil) {
        let key = Key(owner, role)
        precondition(index[key] == nil, "buffer \(name) planned twice")
        if let view { precondition(index[view.of] != nil, "buffer \(name) is a view of a buffer not planned before it") }
        index[key] = buffers.count
        buffers.append(Buffer(key: key, name: name, shape: shape, view: view, layer: layer))
    }

    public subscript(owner: Owner, role: Role) -> Buffer? { index[Key(owner, role)].map { buffers[$0] } }

    /// Bytes of the buffers that are their own memory (views cost nothing).
    public var bytes: Int { buffers.reduce(0) { $0 + ($1.view == nil ? 4 * $1.count : 0) } }
    /// Bytes of layer `layer`'s own buffers (its stages' and its crossing's).
    public func bytes(layer: Int) -> Int { buffers.reduce(0) { $0 + ($1.view == nil && $1.layer == layer ? 4 * $1.count : 0) } }
    /// Bytes of the parameters' own buffers: values, momenta, gradients and their sums.
    public var parameterBytes: Int {
        let roles: Set<Role> = [.weight, .weightMomentum, .bias, .biasMomentum, .gradients, .gradientSum, .gradientsReceived]
        return buffers.reduce(0) { $0 + ($1.view == nil && roles.contains($1.key.role) ? 4 * $1.count : 0) }
    }

    /// Bytes of the network's own buffers (input, labels, logits, workspaces).
    public var networkBytes: Int { buffers.reduce(0) { $0 + ($1.view == nil && $1.layer == nil ? 4 * $1.count : 0) } }
}

/// One allocation for every buffer of a `BufferPlan` (in the spirit of llm.c's
/// `malloc_and_point_parameters`): each of its own buffers at an offset aligned to a page, views
/// at their offset into the buffer they view. Zeroed; freed with the arena.
public final class Arena {
    public let plan: BufferPlan
    public let bytes: Int
    private let base: UnsafeMutableRawPointer
    private var offsets: [BufferPlan.Key: Int] = [:]   // bytes from `base`

    /// Page alignment, as separate large allocations had: no buffer shares a cache line or a
    /// page with another (two groups' threads write their own buffers at once).
    static let alignment = 4096

    public init(_ plan: BufferPlan) {
        self.plan = plan
        var at = 0
        for b in plan.buffers {
            if let v = b.view {
                offsets[b.key] = offsets[v.of]! + 4 * v.offset
            } else {
                offsets[b.key] = at
                at += (4 * max(b.count, 1) + Arena.alignment - 1) / Arena.alignment * Arena.alignment
            }
        }
        bytes = max(at, Arena.alignment)
        base = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: Arena.alignment)
        base.initializeMemory(as: Float.self, repeating: 0, count: bytes / 4)
        Arena.liveBytes += bytes
    }

    deinit {
        Arena.liveBytes -= bytes
        base.deallocate()
    }

    /// Bytes held by all live arenas of this process.
    nonisolated(unsafe) public static var liveBytes = 0

    public func has(_ owner: BufferPlan.Owner, _ role: BufferPlan.Role) -> Bool { offsets[BufferPlan.Key(owner, role)] != nil }

    /// The buffer's floats.
    public func floats(_ owner: BufferPlan.Owner, _ role: BufferPlan.Role) -> UnsafeMutablePointer<Float> {
        guard let o = offsets[BufferPlan.Key(owner, role)] else { preconditionFailure("no buffer \(role) of \(owner) in the plan") }
        return (base + o).assumingMemoryBound(to: Float.self)
    }

    /// The buffer's Int32s (labels, pooling winners).
    public func int32s(_ owner: BufferPlan.Owner, _ role: BufferPlan.Role) -> UnsafeMutablePointer<Int32> {
        guard let o = offsets[BufferPlan.Key(owner, role)] else { preconditionFailure("no buffer \(role) of \(owner) in the plan") }
        return (base + o).bindMemory(to: Int32.self, capacity: plan[owner, role]!.count)
    }

    /// The buffer as a named tensor (a view into the arena).
    public func tensor(_ owner: BufferPlan.Owner, _ role: BufferPlan.Role) -> Tensor {
        guard let b = plan[owner, role] else { preconditionFailure("no buffer \(role) of \(owner) in the plan") }
        return Tensor(b.name, b.shape, viewing: floats(owner, role))
    }

    /// The tensor if the plan has the buffer, else nil.
    public func optionalTensor(_ owner: BufferPlan.Owner, _ role: BufferPlan.Role) -> Tensor? {
        has(owner, role) ? tensor(owner, role) : nil
    }
}
