import AlexNetCore
import AlexNetLayers

/// The crossing between devices in front of a layer that reads every group (conv3, fc6–fc8).
///
/// Forward: each group's previous stage has written its output straight into `gathered` at its
/// slice (`slice` floats per group, group order); one in-place all-gather fills in the other
/// ranks' slices. A fully connected layer after maps reads `flat`, the gathered maps flattened.
///
/// Backward: each local group's consumer writes its gradient with respect to the *whole*
/// gathered input into its own `dxLocal`; those are summed over the local groups in group
/// order, then summed over the ranks by a reduce-scatter that leaves each rank its groups'
/// slices in `dGathered`. The ranks' blocks are added in rank order, so every placement adds the
/// groups' gradients in group order and the result is bit-for-bit the same on 1 rank and on G.
/// The reduce-scatter is started as soon as the input gradients are summed and finished after
/// the layer's weight gradients are computed (`Network.backward`).
final class Exchange {
    let slice: Int
    let groups: Int
    let gathered: Tensor, dGathered: Tensor
    let flat: Tensor?
    /// The summed gradient turned back from `[C·P][N]` into maps, when `flat` is used.
    let dxMaps: Tensor?
    let dxLocal: [Tensor]
    /// The other ranks' blocks of the reduce-scatter, `(ranks − 1)` blocks of this rank's groups'.
    let scratch: Tensor?
    /// Map geometry for flattening: channels of all groups, batch, positions per map.
    let channels: Int, batch: Int, plane: Int

    init(plan: LayerPlan, previous: LayerPlan, groups: Int, localGroups: Int, ranks: Int, batch N: Int) {
        self.groups = groups
        slice = previous.outputPerImage * N
        channels = previous.outChannels * groups
        batch = N
        plane = previous.pooledHeight * previous.pooledWidth
        let name = "\(plan.spec.name).exchange"
        gathered = Tensor(name + ".gathered", [groups * slice])
        dGathered = Tensor(name + ".dgathered", [groups * slice])
        let flatten = !plan.isConv && plane > 1
        flat = flatten ? Tensor(name + ".flat", [groups * slice]) : nil
        dxMaps = flatten ? Tensor(name + ".dxmaps", [groups * slice]) : nil
        let size = groups * slice
        dxLocal = (0..<localGroups).map { Tensor(name + ".dx\($0)", [size]) }
        scratch = plan.exchange && ranks > 1 ? Tensor(name + ".received", [(ranks - 1) * slice * localGroups]) : nil
    }

    /// What the consumer stages read.
    var input: UnsafePointer<Float> { UnsafePointer((flat ?? gathered).data) }

    /// The communication of the forward pass: fill in the other ranks' slices.
    func gather(_ comm: Communicator, localGroups: Int) throws {
        try comm.allgatherInPlace(gathered.data, countPerRank: slice * localGroups)
    }

    /// Compute after the gather: flatten the maps for a fully connected consumer.
    func flatten() {
        if let flat { Flatten.forward(gathered.data, flat.data, channels: channels, batch: batch, plane: plane) }
    }

    /// Compute before the scatter: sum the local groups' gradients (group order) and turn them
    /// back into maps if needed; returns what to send.
    func sumLocal() -> UnsafePointer<Float> {
        let sum = dxLocal[0]
        for t in dxLocal.dropFirst() {
            for i in 0..<sum.count { sum[i] += t[i] }
        }
        if let dxMaps {
            Flatten.backward(sum.data, dxMaps.data, channels: channels, batch: batch, plane: plane)
            return UnsafePointer(dxMaps.data)
        }
        return UnsafePointer(sum.data)
    }

    /// The communication of the backward pass: sum over the ranks, keep this rank's slices.
    /// Started here, finished by `comm.finishReduceScatterSum()`.
    func startScatter(_ comm: Communicator, localGroups: Int, send: UnsafePointer<Float>) throws {
        try comm.startReduceScatterSum(send: send, recv: dGathered.data + comm.rank * slice * localGroups,
                                       countPerRank: slice * localGroups, scratch: scratch?.data)
    }
}
