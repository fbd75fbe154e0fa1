import AlexNetCore
import AlexNetLayers
import AlexNetParallel
import Foundation

/// Times training steps on random data at a given batch, like `caffe time`.
public struct BenchResult: Sendable {
    public var layers: [String]
    public var forwardMs: [Double], backwardMs: [Double], exchangeMs: [Double]
    public var gflopForward: [Double], gflopBackward: [Double]
    public var stepMs: Double, stepMsSamples: [Double]
    public var imagesPerSecond: Double
    public var gflopPerSecond: Double
    public var peakResidentBytes: Int
}

public func runBench(network: Network, steps: Int, warmup: Int = 2) throws -> BenchResult {
    let N = network.batch
    var rng = RandomStream(seed: 7, .test, 0)
    for i in 0..<network.input.count { network.input[i] = rng.uniform() - 0.5 }
    for n in 0..<N { network.labels[n] = Int32(rng.below(network.spec.classes)) }
    let sgd = SGD(momentum: 0.9, weightDecay: 0.0005)
    func step(_ s: Int) throws {
        try network.forward(training: true, step: s)
        network.loss(gradient: true)
        try network.backward()
        sgd.update(network.parameters, learningRate: 1e-5)
    }
    for s in 0..<warmup { try step(s) }
    try network.comm.barrier()
    network.timers.reset()
    var samples: [Double] = []
    for s in 0..<steps {
        let t = now()
        try step(warmup + s)
        samples.append(now() - t)
    }
    let plans = network.plans
    let G = network.spec.groups
    let local = Double(network.placement.groupsPerRank)
    let T = network.timers
    let per = Double(steps)
    var gf: [Double] = [], gb: [Double] = []
    var totalMacs = 0.0
    for p in plans {
        let fwd = Double(p.multiplyAddsPerGroup * N) * local
        let bwd = fwd * (p.index == 0 ? 1 : 2)   // dW always; dX except for the first layer
        totalMacs += (fwd + bwd) * Double(G) / local
        gf.append(2 * fwd / (T.forward[p.index] / per) / 1e9)
        gb.append(2 * bwd / (T.backward[p.index] / per) / 1e9)
    }
    let sorted = samples.sorted()
    let median = sorted[sorted.count / 2]
    return BenchResult(layers: T.layers, forwardMs: T.forward.map { $0 / per * 1e3 }, backwardMs: T.backward.map { $0 / per * 1e3 },
                       exchangeMs: zip(T.exchangeForward, T.exchangeBackward).map { ($0 + $1) / per * 1e3 },
                       gflopForward: gf, gflopBackward: gb, stepMs: median * 1e3, stepMsSamples: samples.map { $0 * 1e3 },
                       imagesPerSecond: Double(N) / median, gflopPerSecond: 2 * totalMacs / median / 1e9,
                       peakResidentBytes: peakResidentBytes())
}
