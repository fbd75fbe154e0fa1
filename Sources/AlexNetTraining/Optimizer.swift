import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import AlexNetSimulator

/// The paper's update, per parameter: `v ← μ·v − λ·ε·w − ε·∂L/∂w;  w ← w + v`
/// (μ = 0.9, λ = 0.0005, ε the learning rate; ∂L/∂w the minibatch mean). Weight decay applies
/// to weights only, as in cuda-convnet's layer definitions; biases get `v ← μ·v − ε·∂L/∂b`.
public struct SGD: ParameterUpdate {
    public var momentum: Float
    public var weightDecay: Float
    public init(momentum: Double, weightDecay: Double) { self.momentum = Float(momentum); self.weightDecay = Float(weightDecay) }

    public func update(_ parameters: [Parameter], learningRate lr: Double) {
        let eps = Float(lr), mu = momentum
        for p in parameters {
            let w = p.value.data, g = p.sum.data, v = p.momentum.data
            let decay = p.decays ? weightDecay * eps : 0
            for i in 0..<p.count {
                v[i] = mu * v[i] - decay * w[i] - eps * g[i]
                w[i] += v[i]
            }
        }
    }
}

/// The learning-rate schedule: `plateau` divides the rate by 10 when the validation top-1 error
/// has not improved for `patience` epochs (the paper's "by hand", made a rule), `step` every
/// `every` epochs, `fixed` never; at most `maxDrops` times.
public struct Schedule: Codable, Equatable, Sendable {
    public let config: ScheduleConfig
    public private(set) var learningRate: Double
    public private(set) var best = Double.infinity
    public private(set) var epochsSinceBest = 0
    public private(set) var drops = 0

    public init(_ config: ScheduleConfig, initial: Double) { self.config = config; learningRate = initial }

    /// Records the validation error of a finished epoch (1-based) and returns true when the rate
    /// dropped. Without a validation split, `Trainer` passes the epoch's training top-1 error.
    public mutating func endEpoch(_ epoch: Int, validationError: Double) -> Bool {
        var drop = false
        switch config.type {
        case .fixed: break
        case .step: drop = epoch % config.every == 0
        case .plateau:
            if validationError < best { best = validationError; epochsSinceBest = 0 } else { epochsSinceBest += 1 }
            if epochsSinceBest >= config.patience { drop = true; epochsSinceBest = 0 }
        }
        guard drop, drops < config.maxDrops else { return false }
        drops += 1
        learningRate *= config.factor
        return true
    }
}
