import AlexNetCore
import AlexNetLayers

/// One group's piece of one layer: the conv or FC op and what follows it (ReLU, dropout,
/// LRN, pooling). Its buffers come from the rank's `Arena` (see `BufferPlan` for each one's
/// shape and which are views):
/// - `x`: input — the image, the same group's previous output, or the exchange's gathered maps.
/// - `y`: the conv/FC output, ReLU (and dropout) applied in place; `dy` its gradient.
/// - `lrnOut`, `lrnScale`, `dLrnOut`; `poolIndex`: the optional LRN and pooling.
/// - `out` / `dOut`: the stage's final output and its gradient.
final class Stage {
    let plan: LayerPlan
    let group: Int
    let batch: Int
    let conv: Convolution?
    let fc: FullyConnected?
    let x: UnsafePointer<Float>
    let dx: UnsafeMutablePointer<Float>?
    let y: Tensor, dy: Tensor
    let lrnOut: Tensor?, lrnScale: Tensor?, dLrnOut: Tensor?
    let poolIndex: UnsafeMutablePointer<Int32>?
    let dropMask: Tensor?
    let out: Tensor, dOut: Tensor
    let workspace: UnsafeMutablePointer<Float>
    let parameters: [Parameter]
    /// This replica's gradients of weight and bias, back to back, and their sum over the replicas.
    let gradients: Tensor, gradientSum: Tensor
    /// Whether the last forward pass applied dropout (training), so backward knows to.
    var dropoutApplied = false

    /// `x`/`dx`: the input and where its gradient goes (nil: not needed, the first layer).
    init(plan: LayerPlan, group: Int, batch N: Int, arena: Arena, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
         workspace: UnsafeMutablePointer<Float>, convolutions: ConvolutionAlgorithm) {
        self.plan = plan; self.group = group; self.batch = N
        self.x = x; self.dx = dx; self.workspace = workspace
        let me = BufferPlan.Owner.stage(layer: plan.index, group: group)
        let name = "\(plan.spec.name).g\(group)"
        // The replicas' summed gradients lie as this replica's do: weights, then biases.
        let sum = arena.floats(me, .gradientSum), weights = plan.outChannels * plan.fanIn
        let weight = Parameter(name + ".weight", value: arena.tensor(me, .weight), grad: arena.tensor(me, .weightGradient),
                               sum: Tensor(name + ".weight.sum", [plan.outChannels, plan.fanIn], viewing: sum),
                               momentum: arena.tensor(me, .weightMomentum), decays: true)
        let bias = Parameter(name + ".bias", value: arena.tensor(me, .bias), grad: arena.tensor(me, .biasGradient),
                             sum: Tensor(name + ".bias.sum", [plan.outChannels], viewing: sum + weights),
                             momentum: arena.tensor(me, .biasMomentum), decays: false)
        gradients = arena.tensor(me, .gradients)
        gradientSum = arena.tensor(me, .gradientSum)
        parameters = [weight, bias]
        if plan.isConv {
            conv = Convolution(geometry: ConvGeometry(channels: plan.inChannels, height: plan.inHeight, width: plan.inWidth,
                                                      batch: N, kernel: plan.spec.size, stride: plan.spec.stride, pad: plan.spec.pad),
                               outChannels: plan.outChannels, weight: weight, bias: bias,
                               algorithm: convolutions, inputGradient: dx != nil)
            fc = nil
        } else {
            conv = nil
            fc = FullyConnected(inFeatures: plan.fanIn, outFeatures: plan.outChannels, batch: N, weight: weight, bias: bias)
        }
        out = arena.tensor(me, .out); dOut = arena.tensor(me, .outGradient)
        y = arena.tensor(me, .y); dy = arena.tensor(me, .yGradient)
        lrnOut = arena.optionalTensor(me, .lrnOutput)
        dLrnOut = arena.optionalTensor(me, .lrnGradient)
        lrnScale = arena.optionalTensor(me, .lrnScale)
        poolIndex = arena.has(me, .poolIndex) ? arena.int32s(me, .poolIndex) : nil
        dropMask = arena.optionalTensor(me, .dropoutMask)
    }

    var positions: Int { batch * plan.outHeight * plan.outWidth }

    /// `replica` of `replicas`: which slice of the minibatch this is (each image draws its dropout
    /// mask at its place in the whole minibatch, so every placement and every cut of the
    /// minibatch into slices draws the same mask for the same image).
    func forward(training: Bool, seed: UInt64, step: Int, replica: Int, replicas: Int, lrn: LRNParameters, pool: PoolParameters) {
        if let conv { conv.forward(x: x, y: y.data, workspace: workspace) }
        if let fc { fc.forward(x: x, y: y.data) }
        if plan.spec.relu { ReLU.forward(y.data, count: y.count) }
        dropoutApplied = dropMask != nil && training
        if let dropMask, training {
            Dropout.forward(y.data, mask: dropMask.data, count: y.count, p: plan.spec.dropout, seed: seed,
                            layer: plan.index, group: group, step: step,
                            slice: Dropout.Slice(images: batch, inner: plan.outHeight * plan.outWidth, offset: replica * batch,
                                                 total: batch * replicas))
        }
        if let lrnOut, let lrnScale {
            LocalResponseNorm.forward(lrn, a: y.data, b: lrnOut.data, scale: lrnScale.data,
                                      channels: plan.outChannels, positions: positions)
        }
        if let poolIndex {
            MaxPool.forward(x: (lrnOut ?? y).data, y: out.data, index: poolIndex, planes: plan.outChannels * batch,
                            height: plan.outHeight, width: plan.outWidth, size: pool.size, stride: pool.stride)
        }
    }

    /// The backward pass, all of it or one half: `.data` runs pooling, LRN, dropout and ReLU
    /// backward and the gradient with respect to the input (what the previous layer's devices
    /// wait for); `.weights` the parameter gradients, from the `dy` that `.data` left.
    func backward(_ part: BackwardPart, lrn: LRNParameters, pool: PoolParameters) {
        if part != .weights {
            if let poolIndex {
                MaxPool.backward(dy: dOut.data, index: poolIndex, dx: (dLrnOut ?? dy).data, planes: plan.outChannels * batch,
                                 height: plan.outHeight, width: plan.outWidth, size: pool.size, stride: pool.stride)
            }
            if let lrnOut, let lrnScale, let dLrnOut {
                LocalResponseNorm.backward(lrn, a: y.data, b: lrnOut.data, scale: lrnScale.data, db: dLrnOut.data,
                                           da: dy.data, channels: plan.outChannels, positions: positions)
            }
            if let dropMask, dropoutApplied { Dropout.backward(dy.data, mask: dropMask.data, count: dy.count) }
            if plan.spec.relu { ReLU.backward(y: y.data, dy: dy.data, count: dy.count) }
            if let dx {
                conv?.backwardData(dy: dy.data, dx: dx, workspace: workspace)
                fc?.backwardData(dy: dy.data, dx: dx)
            }
        }
        if part != .data {
            conv?.backwardWeights(x: x, dy: dy.data, workspace: workspace)
            fc?.backwardWeights(x: x, dy: dy.data)
        }
    }
}

enum BackwardPart { case all, data, weights }

extension Stage {
    /// Adds this replica's gradients into their sum over the replicas computed in turn: the
    /// first replica's are copied, the next ones added, in replica order (the order a
    /// reduce-scatter over replica ranks adds them in, so every placement gets the same bits).
    func accumulateGradients(first: Bool) {
        guard gradientSum.data != gradients.data else { return }
        if first { gradientSum.data.update(from: gradients.data, count: gradients.count); return }
        let s = gradientSum.data, g = gradients.data
        for i in 0..<gradients.count { s[i] += g[i] }
    }
}
