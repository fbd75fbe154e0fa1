import AlexNetCore

/// One learnable tensor of one group, with its gradient and its momentum (the paper's `v`).
public final class Parameter {
    public let name: String
    public let value: Tensor
    public let grad: Tensor
    public let momentum: Tensor
    /// Weight decay applies to weights, not biases, as in cuda-convnet's layer definitions.
    public let decays: Bool

    public init(_ name: String, _ shape: [Int], decays: Bool) {
        self.name = name
        value = Tensor(name, shape)
        grad = Tensor(name + ".grad", shape)
        momentum = Tensor(name + ".momentum", shape)
        self.decays = decays
    }

    public var count: Int { value.count }
}

/// Initialisation schemes (config `model.init`).
public enum InitScheme: String, Codable, Sendable, CaseIterable {
    /// Weights N(0, 0.01²); biases 1 in conv2, conv4, conv5 and the hidden FC layers, 0 elsewhere.
    case paper
    /// He-normal weights N(0, 2/fanIn); the biases that `paper` sets to 1 set to 0.1.
    case he
}
