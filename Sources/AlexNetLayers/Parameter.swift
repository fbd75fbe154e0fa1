import AlexNetCore

/// One learnable tensor of one group, with its gradient and its momentum (the paper's `v`).
public final class Parameter {
    public let name: String
    public let value: Tensor
    /// The gradient of the minibatch slice just back-propagated (what a layer's backward writes).
    public let grad: Tensor
    /// The gradient summed over the model's replicas, what the update reads: the same memory as
    /// `grad` with one replica.
    public let sum: Tensor
    public let momentum: Tensor
    /// Weight decay applies to weights, not biases, as in cuda-convnet's layer definitions.
    public let decays: Bool

    /// A parameter with memory of its own (tests, and layers built alone).
    public convenience init(_ name: String, _ shape: [Int], decays: Bool) {
        self.init(name, value: Tensor(name, shape), grad: Tensor(name + ".grad", shape),
                  momentum: Tensor(name + ".momentum", shape), decays: decays)
    }

    /// A parameter over tensors it is given (views into a network's arena); `sum` nil: `grad`.
    public init(_ name: String, value: Tensor, grad: Tensor, sum: Tensor? = nil, momentum: Tensor, decays: Bool) {
        precondition(value.shape == grad.shape && value.shape == momentum.shape && (sum?.shape ?? grad.shape) == grad.shape,
                     "parameter \(name): shapes differ")
        self.name = name
        self.value = value; self.grad = grad; self.sum = sum ?? grad; self.momentum = momentum
        self.decays = decays
    }

    public var count: Int { value.count }
}

/// Initialisation schemes (config `model.init`).
public enum InitScheme: String, Codable, Sendable, CaseIterable {
    /// Weights N(0, 0.01²); biases 1 in conv2, conv4, conv5 and the hidden FC layers, 0 elsewhere.
    case paper
    /// He-normal weights N(0, 2/fanIn); the biases that `paper` sets to 1 set to 0.1, the others 0
    /// (`ModelSpec.plan()` refuses a bias other than 0 or 1 under `he`).
    case he
}
