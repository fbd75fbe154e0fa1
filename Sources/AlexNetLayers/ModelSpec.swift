import AlexNetCore

/// The model: the config's `model:` section, decoded strictly here. Independent of where it
/// runs: the number of groups is part of the model, the number of ranks is not.
///
///     model:
///       input: {channels: 3, height: 227, width: 227}
///       classes: 1000
///       groups: 2                  # the paper's GPUs (default 1)
///       replicas: 1                # slices of each minibatch, gradients summed (default 1)
///       init: paper                # or he (default paper)
///       lrn: {k: 2, n: 5, alpha: 1.0e-4, beta: 0.75}   # the paper's (the default)
///       pool: {size: 3, stride: 2}                      # the paper's (the default)
///       layers: [...]              # LayerSpec
public struct ModelSpec: Equatable, Sendable {
    public var inputChannels: Int
    public var inputHeight: Int
    public var inputWidth: Int
    public var classes: Int
    /// The paper's GPUs: every layer's kernels are split evenly between the groups.
    public var groups: Int
    /// Equal slices each minibatch is cut into: each slice's gradient is computed apart and the
    /// slices' gradients are summed in replica order before one update (data parallelism across
    /// copies of the paper's split). Part of the model, like `groups`: fixed for a run.
    public var replicas: Int
    public var initScheme: InitScheme
    public var lrn: LRNParameters
    public var pool: PoolParameters
    public var layers: [LayerSpec]

    public init(inputChannels: Int, inputHeight: Int, inputWidth: Int, classes: Int, groups: Int, replicas: Int = 1,
                initScheme: InitScheme, lrn: LRNParameters = .paper, pool: PoolParameters = .paper,
                layers: [LayerSpec]) {
        self.inputChannels = inputChannels; self.inputHeight = inputHeight; self.inputWidth = inputWidth
        self.classes = classes; self.groups = groups; self.replicas = replicas; self.initScheme = initScheme; self.lrn = lrn
        self.pool = pool; self.layers = layers
    }
}

/// Overlapping max pooling's window and stride (the paper: z = 3, s = 2).
public struct PoolParameters: Equatable, Sendable {
    public var size: Int, stride: Int
    public init(size: Int, stride: Int) { self.size = size; self.stride = stride }
    public static let paper = PoolParameters(size: 3, stride: 2)
}

/// One layer: an entry of `model.layers`.
///
///     - {name: conv2, type: conv, kernels: 256, size: 5, stride: 1, pad: 2, sees: own, lrn: true, pool: true, bias: 1}
///     - {name: fc6, type: fc, outputs: 4096, dropout: 0.5, bias: 1}
///
/// Defaults: `stride` 1, `pad` 0, `relu` true (false for the last layer, whose outputs are the
/// logits), `lrn`, `pool` false, `dropout` 0, `bias` 1 for the hidden FC layers and 0 elsewhere.
/// `sees` has no default where it matters: a convolution after the first in a model of several
/// groups must say `own` or `all` (with one group it reads every map either way, and the first
/// layer reads the image; a fully connected layer always reads every group).
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
    /// The bias the `paper` init gives this layer (the paper's are 1 or 0); `he` uses 0.1 where
    /// this is 1 and 0 where it is 0, and refuses any other value.
    public var paperBias: Float = 0
    /// The config keys this layer was given (the rest took their defaults); not part of `==`.
    public var given: Set<String> = []

    public init(name: String, kind: Kind, outputs: Int, size: Int = 1, stride: Int = 1, pad: Int = 0,
                sees: Sees = .all, relu: Bool = true, lrn: Bool = false, pool: Bool = false,
                dropout: Double = 0, paperBias: Float = 0) {
        self.name = name; self.kind = kind; self.outputs = outputs; self.size = size; self.stride = stride
        self.pad = pad; self.sees = sees; self.relu = relu; self.lrn = lrn; self.pool = pool
        self.dropout = dropout; self.paperBias = paperBias
    }

    public static func == (a: LayerSpec, b: LayerSpec) -> Bool {
        a.name == b.name && a.kind == b.kind && a.outputs == b.outputs && a.size == b.size && a.stride == b.stride
            && a.pad == b.pad && a.sees == b.sees && a.relu == b.relu && a.lrn == b.lrn && a.pool == b.pool
            && a.dropout == b.dropout && a.paperBias == b.paperBias
    }
}

public struct ModelSpecError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

// MARK: - The `model:` section

extension ModelSpec: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable { case input, classes, groups, replicas, initScheme = "init", lrn, pool, layers }
    struct Input: Codable {
        var channels: Int, height: Int, width: Int
        enum CodingKeys: String, CodingKey, CaseIterable { case channels, height, width }
        init(channels: Int, height: Int, width: Int) { self.channels = channels; self.height = height; self.width = width }
        init(from decoder: Decoder) throws {
            let c = try strictContainer(decoder, CodingKeys.self)
            channels = try c.decode(Int.self, forKey: .channels)
            height = try c.decode(Int.self, forKey: .height)
            width = try c.decode(Int.self, forKey: .width)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try strictContainer(decoder, CodingKeys.self)
        let input = try c.decode(Input.self, forKey: .input)
        inputChannels = input.channels; inputHeight = input.height; inputWidth = input.width
        classes = try c.decode(Int.self, forKey: .classes)
        groups = try c.decodeIfPresent(Int.self, forKey: .groups) ?? 1
        replicas = try c.decodeIfPresent(Int.self, forKey: .replicas) ?? 1
        initScheme = try c.decodeIfPresent(InitScheme.self, forKey: .initScheme) ?? .paper
        lrn = try c.decodeIfPresent(LRNParameters.self, forKey: .lrn) ?? .paper
        pool = try c.decodeIfPresent(PoolParameters.self, forKey: .pool) ?? .paper
        layers = try c.decode([LayerSpec].self, forKey: .layers)
        // The defaults that depend on a layer's place in the net.
        for i in layers.indices {
            let last = i == layers.count - 1
            if !layers[i].given.contains("relu") { layers[i].relu = !last }
            if layers[i].kind == .fc { layers[i].sees = .all }
            else if !layers[i].given.contains("sees") {
                // A silent `own` made conv3 of a two-group net read half its input without notice.
                guard i == 0 || groups == 1 else {
                    throw ConfigError("model.layers[\(i)] (\(layers[i].name)).sees: required after the first layer in a model of \(groups) groups: own (its group's maps only, as the paper's conv2, conv4, conv5) or all (every group's, as conv3)")
                }
                layers[i].sees = i == 0 ? .all : .own
            }
            if !layers[i].given.contains("bias") { layers[i].paperBias = layers[i].kind == .fc && !last ? 1 : 0 }
        }
    }

    /// The section as written: every value, in the config's key order.
    private struct Written: Encodable {
        let input: Input, classes: Int, groups: Int, replicas: Int, initScheme: InitScheme, lrn: LRNParameters, pool: PoolParameters
        let layers: [LayerSpec]
        enum CodingKeys: String, CodingKey { case input, classes, groups, replicas, initScheme = "init", lrn, pool, layers }
    }

    public func encode(to encoder: Encoder) throws {
        try Written(input: Input(channels: inputChannels, height: inputHeight, width: inputWidth), classes: classes, groups: groups,
                    replicas: replicas, initScheme: initScheme, lrn: lrn, pool: pool, layers: layers).encode(to: encoder)
    }
}

extension PoolParameters: Codable {}

extension LayerSpec: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable { case name, type, kernels, outputs, size, stride, pad, sees, relu, lrn, pool, dropout, bias }

    public init(from decoder: Decoder) throws {
        let c = try strictContainer(decoder, CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        kind = try c.decode(Kind.self, forKey: .type)
        given = Set(c.allKeys.map(\.stringValue))
        let key = "model.layers.\(name)"
        switch kind {
        case .conv:
            guard let k = try c.decodeIfPresent(Int.self, forKey: .kernels) else { throw ConfigError("\(key).kernels: a conv layer needs kernels") }
            guard !c.contains(.outputs) else { throw ConfigError("\(key).outputs: conv layers take kernels, not outputs") }
            guard let z = try c.decodeIfPresent(Int.self, forKey: .size) else { throw ConfigError("\(key).size: a conv layer needs a kernel size") }
            outputs = k; size = z
            stride = try c.decodeIfPresent(Int.self, forKey: .stride) ?? 1
            pad = try c.decodeIfPresent(Int.self, forKey: .pad) ?? 0
            sees = try c.decodeIfPresent(Sees.self, forKey: .sees) ?? .own
        case .fc:
            guard let o = try c.decodeIfPresent(Int.self, forKey: .outputs) else { throw ConfigError("\(key).outputs: an fc layer needs outputs") }
            for k in [CodingKeys.kernels, .size, .stride, .pad] where c.contains(k) {
                throw ConfigError("\(key).\(k.stringValue): not a key of fc layers")
            }
            guard !c.contains(.sees) else { throw ConfigError("\(key).sees: fc layers always see every group") }
            outputs = o
        }
        relu = try c.decodeIfPresent(Bool.self, forKey: .relu) ?? true
        lrn = try c.decodeIfPresent(Bool.self, forKey: .lrn) ?? false
        pool = try c.decodeIfPresent(Bool.self, forKey: .pool) ?? false
        dropout = try c.decodeIfPresent(Double.self, forKey: .dropout) ?? 0
        paperBias = try c.decodeIfPresent(Float.self, forKey: .bias) ?? 0
    }

    /// A layer as written: every value (the run's config.yaml records the model as it was
    /// built); the keys of convolutions only are left out of fully connected layers.
    private struct Written: Encodable {
        let name: String, type: Kind
        let kernels: Int?, outputs: Int?, size: Int?, stride: Int?, pad: Int?, sees: Sees?
        let relu: Bool, lrn: Bool, pool: Bool, dropout: Double, bias: Float
    }

    public func encode(to encoder: Encoder) throws {
        let conv = kind == .conv
        try Written(name: name, type: kind, kernels: conv ? outputs : nil, outputs: conv ? nil : outputs,
                    size: conv ? size : nil, stride: conv ? stride : nil, pad: conv ? pad : nil, sees: conv ? sees : nil,
                    relu: relu, lrn: lrn, pool: pool, dropout: dropout, bias: paperBias).encode(to: encoder)
    }
}

// MARK: - Every shape, worked out once

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
    /// The largest value a size in the model may take (a side, a channel count, a kernel): large
    /// enough for any net, small enough that no product of shapes overflows.
    public static let largestDimension = 1 << 20

    /// Works out every layer's shapes, or says which layer and key do not fit. Every number is
    /// range-checked first, so the arithmetic cannot overflow.
    public func plan() throws -> [LayerPlan] {
        let big = ModelSpec.largestDimension
        func within(_ v: Int, _ key: String, from low: Int) throws {
            guard v >= low, v <= big else {
                throw ModelSpecError("\(key): must be \(low == 0 ? "from 0" : "from \(low)") to \(big), got \(v)")
            }
        }
        try within(groups, "model.groups", from: 1)
        try checkRange("model.replicas", replicas, 1...1024)
        try within(inputChannels, "model.input.channels", from: 1)
        try within(inputHeight, "model.input.height", from: 1)
        try within(inputWidth, "model.input.width", from: 1)
        try within(classes, "model.classes", from: 2)
        guard !layers.isEmpty else { throw ModelSpecError("model.layers: the model has no layers") }
        try within(pool.size, "model.pool.size", from: 1)
        try within(pool.stride, "model.pool.stride", from: 1)
        try lrn.validate()
        var plans: [LayerPlan] = []
        var c = inputChannels, h = inputHeight, w = inputWidth
        var seenFC = false
        var parameters = 0.0
        for (i, l) in layers.enumerated() {
            let key = "model.layers[\(i)] (\(l.name))"
            try within(l.outputs, "\(key).\(l.kind == .conv ? "kernels" : "outputs")", from: 1)
            guard l.outputs % groups == 0 else {
                throw ModelSpecError("\(key).kernels: \(l.outputs) does not divide into \(groups) groups") }
            guard l.dropout >= 0 && l.dropout < 1 else {
                throw ModelSpecError("\(key).dropout: must be in [0, 1), got \(l.dropout)") }
            guard l.paperBias.isFinite, abs(l.paperBias) <= 100 else {
                throw ModelSpecError("\(key).bias: must be a finite number from -100 to 100, got \(l.paperBias)") }
            guard initScheme != .he || l.paperBias == 0 || l.paperBias == 1 else {
                throw ModelSpecError("\(key).bias: init: he reads a bias of 1 as 0.1 and of 0 as 0, so \(l.paperBias) has no meaning there: give 0 or 1, or use init: paper, which takes the value as given") }
            let first = i == 0
            guard !first || l.kind == .conv else {
                throw ModelSpecError("\(key): the first layer must be a convolution (a fully connected layer reads another layer's maps)") }
            // A layer reads every group's maps when it says so, and always when it is fully
            // connected; a one-group model has nothing to exchange.
            let readsAll = l.kind == .fc || l.sees == .all
            let exchange = !first && groups > 1 && readsAll
            let inC = first ? c : (readsAll ? c : c / groups)
            var p: LayerPlan
            switch l.kind {
            case .conv:
                guard !seenFC else { throw ModelSpecError("\(key): a convolution cannot follow a fully connected layer") }
                try within(l.size, "\(key).size", from: 1)
                try within(l.stride, "\(key).stride", from: 1)
                try within(l.pad, "\(key).pad", from: 0)
                let oh = outputSize(h, kernel: l.size, stride: l.stride, pad: l.pad)
                let ow = outputSize(w, kernel: l.size, stride: l.stride, pad: l.pad)
                guard oh >= 1, ow >= 1, h + 2 * l.pad >= l.size, w + 2 * l.pad >= l.size else {
                    throw ModelSpecError("\(key).size: a \(l.size)×\(l.size) kernel does not fit a \(h)×\(w) map with pad \(l.pad)") }
                var ph = oh, pw = ow
                if l.pool {
                    guard oh >= pool.size, ow >= pool.size else {
                        throw ModelSpecError("\(key).pool: a \(pool.size)×\(pool.size) pool does not fit its \(oh)×\(ow) map") }
                    ph = (oh - pool.size) / pool.stride + 1
                    pw = (ow - pool.size) / pool.stride + 1
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
            // Sizes in floating point first: a product past 2^40 is no model this program can hold.
            let fanIn = Double(p.inChannels) * (p.isConv ? Double(l.size * l.size) : Double(p.inHeight) * Double(p.inWidth))
            let perImage = Double(p.outChannels) * Double(p.outHeight) * Double(p.outWidth) * Double(groups)
            parameters += (fanIn + 1) * Double(l.outputs)
            guard parameters < 1e12, perImage * max(fanIn, 1) < 1e15 else {
                throw ModelSpecError("\(key): the model is too large (\(String(format: "%.3g", parameters)) parameters so far, \(String(format: "%.3g", perImage * fanIn)) multiply-adds per image in this layer)")
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
