import AlexNetCore
import AlexNetLayers

/// One group's piece of one layer: the conv or FC op and what follows it (ReLU, dropout,
/// LRN, pooling), with every buffer it needs, allocated once.
///
/// Buffers, all `[C][N][H][W]` or `[F][N]`:
/// - `x`: input — the image, the same group's previous output, or the exchange's gathered maps.
/// - `y`: the conv/FC output, ReLU (and dropout) applied in place; `dy` its gradient.
/// - `lrnOut`, `lrnScale`, `dLrnOut`; `poolOut`, `poolIndex`: the optional LRN and pooling.
/// - `out` / `dOut`: the stage's final output and its gradient. When the next layer reads every
///   group, these are views into that exchange's gathered buffers, at this group's slice.
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
    let poolOut: Tensor?, poolIndex: UnsafeMutablePointer<Int32>?
    let dropMask: Tensor?
    /// Whether the last forward pass applied dropout (training), so backward knows to.
    var dropoutApplied = false
    let out: Tensor, dOut: Tensor

    let parameters: [Parameter]

    /// `x`/`dx`: the input and where its gradient goes (nil: not needed, the first layer).
    /// `outView`/`dOutView`: where the final output and its gradient live when an exchange or
    /// the logits follow; nil to allocate them here.
    init(plan: LayerPlan, group: Int, batch N: Int, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
         outView: UnsafeMutablePointer<Float>?, dOutView: UnsafeMutablePointer<Float>?) {
        self.plan = plan; self.group = group; self.batch = N
        self.x = x; self.dx = dx
        let name = "\(plan.spec.name).g\(group)"
        let K = plan.outChannels
        let yShape = [K, N, plan.outHeight, plan.outWidth]
        let outShape = [K, N, plan.pooledHeight, plan.pooledWidth]
        if plan.isConv {
            conv = Convolution(name: name, geometry: ConvGeometry(channels: plan.inChannels, height: plan.inHeight,
                                                                 width: plan.inWidth, batch: N, kernel: plan.spec.size,
                                                                 stride: plan.spec.stride, pad: plan.spec.pad),
                               outChannels: K)
            fc = nil
        } else {
            conv = nil
            fc = FullyConnected(name: name, inFeatures: plan.fanIn, outFeatures: K, batch: N)
        }
        parameters = conv.map { [$0.weight, $0.bias] } ?? fc.map { [$0.weight, $0.bias] } ?? []
        let finalIsY = !plan.spec.lrn && !plan.spec.pool
        func make(_ n: String, _ shape: [Int], _ view: UnsafeMutablePointer<Float>?) -> Tensor {
            view.map { Tensor(n, shape, viewing: $0) } ?? Tensor(n, shape)
        }
        out = make(name + ".out", outShape, outView)
        dOut = make(name + ".dout", outShape, dOutView)
        y = finalIsY ? out : Tensor(name + ".y", yShape)
        dy = finalIsY ? dOut : Tensor(name + ".dy", yShape)
        if plan.spec.lrn {
            let last = !plan.spec.pool
            lrnOut = last ? out : Tensor(name + ".lrn", yShape)
            dLrnOut = last ? dOut : Tensor(name + ".dlrn", yShape)
            lrnScale = Tensor(name + ".lrnscale", yShape)
        } else { lrnOut = nil; dLrnOut = nil; lrnScale = nil }
        if plan.spec.pool {
            poolOut = out
            poolIndex = .allocate(capacity: out.count)
            poolIndex!.initialize(repeating: 0, count: out.count)
        } else { poolOut = nil; poolIndex = nil }
        dropMask = plan.spec.dropout > 0 ? Tensor(name + ".mask", yShape) : nil
    }

    deinit { poolIndex?.deallocate() }

    var positions: Int { batch * plan.outHeight * plan.outWidth }

    func forward(training: Bool, seed: UInt64, step: Int, lrn: LRNParameters, poolSize: Int, poolStride: Int,
                 workspace: UnsafeMutablePointer<Float>) {
        if let conv { conv.forward(x: x, y: y.data, workspace: workspace) }
        if let fc { fc.forward(x: x, y: y.data) }
        if plan.spec.relu { ReLU.forward(y.data, count: y.count) }
        dropoutApplied = dropMask != nil && training
        if let dropMask, training {
            Dropout.forward(y.data, mask: dropMask.data, count: y.count, p: plan.spec.dropout, seed: seed,
                            layer: plan.index, group: group, step: step)
        }
        if let lrnOut, let lrnScale {
            LocalResponseNorm.forward(lrn, a: y.data, b: lrnOut.data, scale: lrnScale.data,
                                      channels: plan.outChannels, positions: positions)
        }
        if let poolOut, let poolIndex {
            MaxPool.forward(x: (lrnOut ?? y).data, y: poolOut.data, index: poolIndex, planes: plan.outChannels * batch,
                            height: plan.outHeight, width: plan.outWidth, size: poolSize, stride: poolStride)
        }
    }

    /// The backward pass, all of it or one half: `.data` runs pooling, LRN, dropout and ReLU
    /// backward and the gradient with respect to the input (what the previous layer's devices
    /// wait for); `.weights` the parameter gradients, from the `dy` that `.data` left.
    func backward(_ part: BackwardPart, lrn: LRNParameters, poolSize: Int, poolStride: Int,
                  workspace: UnsafeMutablePointer<Float>) {
        if part != .weights {
            if let poolIndex {
                MaxPool.backward(dy: dOut.data, index: poolIndex, dx: (dLrnOut ?? dy).data, planes: plan.outChannels * batch,
                                 height: plan.outHeight, width: plan.outWidth, size: poolSize, stride: poolStride)
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
