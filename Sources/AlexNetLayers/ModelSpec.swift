import AlexNetCore

/// The model, as the config describes it. Independent of where it runs: the number of groups
/// is part of the model, the number of ranks is not.
public struct ModelSpec: Equatable, Sendable {
    public var inputChannels: Int
    public var inputHeight: Int
    public var inputWidth: Int
    public var classes: Int
    /// The paper's GPUs: every layer's kernels are split evenly between the groups.
    public var groups: Int
    public var initScheme: InitScheme
    public var lrn: LRNParameters
    public var poolSize: Int
    public var poolStride: Int
    public var layers: [LayerSpec]

    public init(inputChannels: Int, inputHeight: Int, inputWidth: Int, classes: Int, groups: Int,
                initScheme: InitScheme, lrn: LRNParameters = .paper, poolSize: Int = 3, poolStride: Int = 2,
                layers: [LayerSpec]) {
        self.inputChannels = inputChannels; self.inputHeight = inputHeight; self.inputWidth = inputWidth
        self.classes = classes; self.groups = groups; self.initScheme = initScheme; self.lrn = lrn
        self.poolSize = poolSize; self.poolStride = poolStride; self.layers = layers
    }
}

public struct LayerSpec: Equatable, Sendable {
    public enum Kind: String, Codable, Sendable { case conv, fc }
    /// What a layer reads: only its own group's maps, or every group's (an exchange between devices).
    public enum Sees: String, Codable, Sendable { case own, all }

    public var name: String
    public var kind: Kind
    /// Kernels (conv) or output neurons (fc), summed over all groups.
    public var outputs: Int
    public var size: Int = 1
    public var stride: Int = 1
    public var pad: Int = 0
    public var sees: Sees = .all
    public var relu: Bool = true
    public var lrn: Bool = false
    public var pool: Bool = false
    /// Dropout probability after the ReLU; 0 for none.
    public var dropout: Double = 0
    /// The bias the `paper` init gives this layer (1 or 0); `he` uses 0.1 where this is 1.
    public var paperBias: Float = 0

    public init(name: String, kind: Kind, outputs: Int, size: Int = 1, stride: Int = 1, pad: Int = 0,
                sees: Sees = .all, relu: Bool = true, lrn: Bool = false, pool: Bool = false,
                dropout: Double = 0, paperBias: Float = 0) {
        self.name = name; self.kind = kind; self.outputs = outputs; self.size = size; self.stride = stride
        self.pad = pad; self.sees = sees; self.relu = relu; self.lrn = lrn; self.pool = pool
        self.dropout = dropout; self.paperBias = paperBias
    }
}

public struct ModelSpecError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// Every shape of one layer, worked out once from the spec (per group unless said otherwise).
public struct LayerPlan: Sendable {
    public var index: Int
    public var spec: LayerSpec
    /// Channels (conv) or features (fc) this layer reads, per group; includes every group's when `exchange`.
    public var inChannels: Int
    public var inHeight: Int, inWidth: Int
    /// Kernels (conv) or neurons (fc) of one group.
    public var outChannels: Int
    public var outHeight: Int, outWidth: Int
    /// Map size after the optional pooling (what the next layer reads).
    public var pooledHeight: Int, pooledWidth: Int
    /// True when this layer reads every group's output of the previous layer (an all-gather
    /// forward, a reduce-scatter backward). Never true for the first layer, which reads the image.
    public var exchange: Bool
    /// True for a fully connected layer that reads maps larger than 1×1: its input must be
    /// flattened from `[C][N][H][W]` to `[C·H·W][N]` first (in every model, one group or many).
    public var flattens = false
    /// Whether a crossing buffer (`Exchange`) stands in front of this layer: to exchange, to flatten, or both.
    public var crossing: Bool { exchange || flattens }

    /// Inputs of one output neuron: `inChannels·size²` for conv, `inChannels·inHeight·inWidth` for fc.
    public var fanIn: Int { spec.kind == .conv ? inChannels * spec.size * spec.size : inChannels * inHeight * inWidth }
    public var weightsPerGroup: Int { outChannels * fanIn }
    public var parametersPerGroup: Int { weightsPerGroup + outChannels }
    /// Multiply-adds per image and group, forward.
    public var multiplyAddsPerGroup: Int { spec.kind == .conv ? weightsPerGroup * outHeight * outWidth : weightsPerGroup }
    /// Floats of this group's final output per image (what the next layer's exchange moves).
    public var outputPerImage: Int { outChannels * pooledHeight * pooledWidth }
    public var isConv: Bool { spec.kind == .conv }
}

extension ModelSpec {
    /// Works out every layer's shapes, or says which layer and key do not fit.
    public func plan() throws -> [LayerPlan] {
        guard groups >= 1 else { throw ModelSpecError("model.groups: must be at least 1, got \(groups)") }
        guard inputChannels >= 1, inputHeight >= 1, inputWidth >= 1 else {
            throw ModelSpecError("model.input: channels, height and width must be positive") }
        guard classes >= 2 else { throw ModelSpecError("model.classes: need at least 2 classes, got \(classes)") }
        guard !layers.isEmpty else { throw ModelSpecError("model.layers: the model has no layers") }
        guard poolSize >= 1, poolStride >= 1 else { throw ModelSpecError("model.pool: size and stride must be positive") }
        try lrn.validate()
        var plans: [LayerPlan] = []
        var c = inputChannels, h = inputHeight, w = inputWidth
        var seenFC = false
        for (i, l) in layers.enumerated() {
            let key = "model.layers[\(i)] (\(l.name))"
            guard l.outputs >= 1 else { throw ModelSpecError("\(key).kernels: must be positive, got \(l.outputs)") }
            guard l.outputs % groups == 0 else {
                throw ModelSpecError("\(key).kernels: \(l.outputs) does not divide into \(groups) groups") }
            guard l.dropout >= 0 && l.dropout < 1 else {
                throw ModelSpecError("\(key).dropout: must be in [0, 1), got \(l.dropout)") }
            let first = i == 0
            // A layer reads every group's maps when it says so, and always when it is the first
            // fully connected layer or follows one; a one-group model has nothing to exchange.
            let readsAll = l.kind == .fc || l.sees == .all
            let exchange = !first && groups > 1 && readsAll
            let inC = first ? c : (readsAll ? c : c / groups)
            var p: LayerPlan
            switch l.kind {
            case .conv:
                guard !seenFC else { throw ModelSpecError("\(key): a convolution cannot follow a fully connected layer") }
                guard l.size >= 1, l.stride >= 1, l.pad >= 0 else {
                    throw ModelSpecError("\(key): size and stride must be positive and pad not negative") }
                let oh = outputSize(h, kernel: l.size, stride: l.stride, pad: l.pad)
                let ow = outputSize(w, kernel: l.size, stride: l.stride, pad: l.pad)
                guard oh >= 1, ow >= 1, h + 2 * l.pad >= l.size, w + 2 * l.pad >= l.size else {
                    throw ModelSpecError("\(key).size: a \(l.size)×\(l.size) kernel does not fit a \(h)×\(w) map with pad \(l.pad)") }
                var ph = oh, pw = ow
                if l.pool {
                    guard oh >= poolSize, ow >= poolSize else {
                        throw ModelSpecError("\(key).pool: a \(poolSize)×\(poolSize) pool does not fit its \(oh)×\(ow) map") }
                    ph = (oh - poolSize) / poolStride + 1
                    pw = (ow - poolSize) / poolStride + 1
                }
                p = LayerPlan(index: i, spec: l, inChannels: inC, inHeight: h, inWidth: w,
                              outChannels: l.outputs / groups, outHeight: oh, outWidth: ow,
                              pooledHeight: ph, pooledWidth: pw, exchange: exchange)
                c = l.outputs; h = ph; w = pw
            case .fc:
                guard !l.lrn, !l.pool else { throw ModelSpecError("\(key): LRN and pooling apply to convolutions only") }
                seenFC = true
                p = LayerPlan(index: i, spec: l, inChannels: c, inHeight: h, inWidth: w,
                              outChannels: l.outputs / groups, outHeight: 1, outWidth: 1,
                              pooledHeight: 1, pooledWidth: 1, exchange: exchange)
                p.flattens = h * w > 1
                c = l.outputs; h = 1; w = 1
            }
            plans.append(p)
        }
        let last = layers[layers.count - 1]
        guard last.kind == .fc, !last.relu, last.dropout == 0 else {
            throw ModelSpecError("model.layers: the last layer must be fully connected with relu: false and no dropout (its outputs are the logits)") }
        guard last.outputs == classes else {
            throw ModelSpecError("model.layers[\(layers.count - 1)] (\(last.name)).outputs: \(last.outputs) outputs for \(classes) classes") }
        return plans
    }

    /// Total parameters over all groups.
    public func parameterCount() throws -> Int { try plan().reduce(0) { $0 + $1.parametersPerGroup * groups } }
    /// Total forward multiply-adds per image over all groups.
    public func multiplyAddsPerImage() throws -> Int { try plan().reduce(0) { $0 + $1.multiplyAddsPerGroup * groups } }
}
