import AlexNetCore
import AlexNetLayers

/// The crossing between devices in front of a layer that reads every group (conv3, fc6–fc8),
/// and the whole of its life.
///
/// Forward (`gather`): each group's previous stage has written its output straight into
/// `gathered` at its slice (`slice` floats per group, group order); one in-place all-gather fills
/// in the other ranks' slices. A fully connected layer after maps reads `flat`, the gathered
/// maps flattened (`flatten`).
///
/// Backward: each local group's consumer writes its gradient with respect to the *whole*
/// gathered input into its own `dxLocal`; `sumLocalGradients` adds them in group order (and
/// turns them back into maps), then `startScatter` starts a reduce-scatter over the ranks that
/// leaves each rank its groups' slices in `dGathered` and returns the handle that finishes it.
/// The ranks' blocks are added in rank order, so every placement adds the groups' gradients in
/// group order and the result is bit-for-bit the same on 1 rank and on G.
///
/// A one-group model's first FC layer has a crossing too, to flatten; it exchanges nothing
/// (`communicates` false) and `passGradientBack` only turns the gradient back into maps.
final class Exchange {
    /// Floats of one group's slice of the gathered input.
    let slice: Int
    /// Whether the layer reads other devices' groups (false: flatten only).
    let communicates: Bool
    let gathered: Tensor, dGathered: Tensor
    let flat: Tensor?
    /// The summed gradient turned back from `[C·P][N]` into maps, when `flat` is used.
    let dxMaps: Tensor?
    let dxLocal: [Tensor]
    private let comm: Communicator
    private let localGroups: Int
    /// Map geometry for flattening: channels of all groups, batch, positions per map.
    private let channels: Int, batch: Int, plane: Int
    /// The backward reduce-scatter, made once over these buffers (nil when flattening only).
    private let scatter: ReduceScatter?

    init(plan: LayerPlan, previous: LayerPlan, groups: Int, localGroups: Int, batch N: Int, arena: Arena, comm: Communicator) {
        let me = BufferPlan.Owner.exchange(layer: plan.index)
        self.comm = comm
        self.localGroups = localGroups
        communicates = plan.exchange
        slice = previous.outputPerImage * N
        channels = previous.outChannels * groups
        batch = N
        plane = previous.pooledHeight * previous.pooledWidth
        gathered = arena.tensor(me, .gathered)
        dGathered = arena.tensor(me, .gatheredGradient)
        flat = arena.optionalTensor(me, .flat)
        dxMaps = arena.optionalTensor(me, .mapsGradient)
        dxLocal = (0..<localGroups).map { arena.tensor(me, .inputGradient(local: $0)) }
        let send = UnsafePointer((dxMaps ?? dxLocal[0]).data)
        scatter = communicates
            ? comm.makeReduceScatter(send: send, recv: dGathered.data + comm.rank * slice * localGroups,
                                     countPerRank: slice * localGroups,
                                     scratch: arena.has(me, .received) ? arena.floats(me, .received) : nil, tag: 100 + plan.index)
            : nil
    }

    /// What the consumer stages read.
    var input: UnsafePointer<Float> { UnsafePointer((flat ?? gathered).data) }

    /// Bytes this rank contributes to each of the exchange's collectives.
    var blockBytes: Int { 4 * slice * localGroups }

    /// The forward communication: fill in the other ranks' slices.
    func gather() throws {
        try comm.allgatherInPlace(gathered.data, countPerRank: slice * localGroups)
    }

    /// Compute after the gather: flatten the maps for a fully connected consumer.
    func flatten() {
        if let flat { Flatten.forward(gathered.data, flat.data, channels: channels, batch: batch, plane: plane) }
    }

    /// Compute before the scatter: sum the local groups' gradients (group order) and turn them
    /// back into maps if needed, into what the reduce-scatter sends.
    func sumLocalGradients() {
        let sum = dxLocal[0]
        for t in dxLocal.dropFirst() {
            for i in 0..<sum.count { sum[i] += t[i] }
        }
        if let dxMaps { Flatten.backward(sum.data, dxMaps.data, channels: channels, batch: batch, plane: plane) }
    }

    /// The backward communication, started: sum over the ranks, keep this rank's slices.
    func startScatter() throws -> PendingReduceScatter { try scatter!.start() }

    /// Without communication (a one-group model's flatten): the gradient of the maps is the
    /// summed gradient, turned back into maps.
    func passGradientBack() {
        sumLocalGradients()
        dGathered.data.update(from: (dxMaps ?? dxLocal[0]).data, count: dGathered.count)
    }
}
