import AlexNetLayers
import AlexNetData
import Foundation
import Yams

/// A run's configuration, read from YAML. Unknown keys, wrong types and impossible values are
/// refused before any work starts, naming the key.
public struct RunConfig: Codable, Equatable, Sendable {
    public var name: String
    public var model: ModelConfig
    public var data: DataConfig
    public var train: TrainConfig
    /// The device each rank plays, for `simulate` and the memory check (default: a GTX 580 3 GB).
    public var device: DeviceProfile

    enum CodingKeys: String, CodingKey, CaseIterable { case name, model, data, train, device }
    public init(from decoder: Decoder) throws {
        let c = try strictContainer(decoder, CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        model = try c.decode(ModelConfig.self, forKey: .model)
        data = try c.decode(DataConfig.self, forKey: .data)
        train = try c.decodeIfPresent(TrainConfig.self, forKey: .train) ?? TrainConfig()
        device = try c.decodeIfPresent(DeviceProfile.self, forKey: .device) ?? DeviceProfile()
    }

    /// Reads and checks a config file.
    public static func load(_ path: String) throws -> RunConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError(FileManager.default.fileExists(atPath: path) ? "config \(path): cannot be read" : "config \(path): no such file")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> RunConfig {
        let config: RunConfig
        do {
            config = try YAMLDecoder().decode(RunConfig.self, from: text)
        } catch let e as ConfigError {
            throw ConfigError("config \(file): \(e.description)")
        } catch let e as DecodingError {
            // Yams re-wraps errors thrown inside init(from:) as "not valid YAML": unwrap ours.
            if case .dataCorrupted(let ctx) = e, let inner = ctx.underlyingError {
                if let c = inner as? ConfigError { throw ConfigError("config \(file): \(c.description)") }
                if let d = inner as? DecodingError { throw ConfigError("config \(file): \(describe(d))") }
                throw ConfigError("config \(file): not valid YAML: \(String(describing: inner).split(separator: "\n").joined(separator: " "))")
            }
            throw ConfigError("config \(file): \(describe(e))")
        } catch {
            throw ConfigError("config \(file): not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        do { try config.validate() } catch { throw ConfigError("config \(file): \(error)") }
        return config
    }

    public func yaml() throws -> String { try YAMLEncoder().encode(self) }

    public func validate() throws {
        _ = try model.spec().plan()
        try train.validate()
        try data.validate()
        try device.validate()
        guard data.crop == model.input.height, data.crop == model.input.width else {
            throw ConfigError("data.crop: \(data.crop) but model.input is \(model.input.height)×\(model.input.width)")
        }
    }
}

public struct ModelConfig: Codable, Equatable, Sendable {
    public struct Input: Codable, Equatable, Sendable {
        public var channels: Int, height: Int, width: Int
        enum CodingKeys: String, CodingKey, CaseIterable { case channels, height, width }
        public init(from decoder: Decoder) throws {
            let c = try strictContainer(decoder, CodingKeys.self)
            channels = try c.decode(Int.self, forKey: .channels)
            height = try c.decode(Int.self, forKey: .height)
            width = try c.decode(Int.self, forKey: .width)
        }
    }
    public struct Pool: Codable, Equatable, Sendable {
        public var size = 3, stride = 2
        enum CodingKeys: String, CodingKey, CaseIterable { case size, stride }
        public init() {}
        public init(from decoder: Decoder) throws {
            let c = try strictContainer(decoder, CodingKeys.self)
            size = try c.decodeIfPresent(Int.self, forKey: .size) ?? 3
            stride = try c.decodeIfPresent(Int.self, forKey: .stride) ?? 2
        }
    }
    public struct LRN: Codable, Equatable, Sendable {
        public var k: Float = 2, n = 5, alpha: Float = 1e-4, beta: Float = 0.75
        enum CodingKeys: String, CodingKey, CaseIterable { case k, n, alpha, beta }
        public init() {}
        public init(from decoder: Decoder) throws {
            let c = try strictContainer(decoder, CodingKeys.self)
            k = try c.decodeIfPresent(Float.self, forKey: .k) ?? 2
            n = try c.decodeIfPresent(Int.self, forKey: .n) ?? 5
            alpha = try c.decodeIfPresent(Float.self, forKey: .alpha) ?? 1e-4
            beta = try c.decodeIfPresent(Float.self, forKey: .beta) ?? 0.75
        }
    }
    public struct Layer: Codable, Equatable, Sendable {
        public var name: String
        public var type: LayerSpec.Kind
        public var kernels: Int?
        public var outputs: Int?
        public var size: Int?, stride: Int?, pad: Int?
        public var sees: LayerSpec.Sees?
        public var relu: Bool?, lrn: Bool?, pool: Bool?
        public var dropout: Double?
        /// The bias the paper's init gives this layer (1 in conv2, conv4, conv5, fc6, fc7).
        public var bias: Float?
        enum CodingKeys: String, CodingKey, CaseIterable { case name, type, kernels, outputs, size, stride, pad, sees, relu, lrn, pool, dropout, bias }
        public init(from decoder: Decoder) throws {
            let c = try strictContainer(decoder, CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            type = try c.decode(LayerSpec.Kind.self, forKey: .type)
            kernels = try c.decodeIfPresent(Int.self, forKey: .kernels)
            outputs = try c.decodeIfPresent(Int.self, forKey: .outputs)
            size = try c.decodeIfPresent(Int.self, forKey: .size)
            stride = try c.decodeIfPresent(Int.self, forKey: .stride)
            pad = try c.decodeIfPresent(Int.self, forKey: .pad)
            sees = try c.decodeIfPresent(LayerSpec.Sees.self, forKey: .sees)
            relu = try c.decodeIfPresent(Bool.self, forKey: .relu)
            lrn = try c.decodeIfPresent(Bool.self, forKey: .lrn)
            pool = try c.decodeIfPresent(Bool.self, forKey: .pool)
            dropout = try c.decodeIfPresent(Double.self, forKey: .dropout)
            bias = try c.decodeIfPresent(Float.self, forKey: .bias)
            let key = "model.layers.\(name)"
            switch type {
            case .conv:
                guard kernels != nil else { throw ConfigError("\(key).kernels: a conv layer needs kernels") }
                guard outputs == nil else { throw ConfigError("\(key).outputs: conv layers take kernels, not outputs") }
                guard size != nil else { throw ConfigError("\(key).size: a conv layer needs a kernel size") }
            case .fc:
                guard outputs != nil else { throw ConfigError("\(key).outputs: an fc layer needs outputs") }
                for (k, v) in [("kernels", kernels), ("size", size), ("stride", stride), ("pad", pad)] where v != nil {
                    throw ConfigError("\(key).\(k): not a key of fc layers")
                }
                guard sees == nil else { throw ConfigError("\(key).sees: fc layers always see every group") }
            }
        }
    }

    public var input: Input
    public var classes: Int
    public var groups: Int
    public var initScheme: InitScheme
    public var lrn: LRN
    public var pool: Pool
    public var layers: [Layer]

    enum CodingKeys: String, CodingKey, CaseIterable { case input, classes, groups, initScheme = "init", lrn, pool, layers }
    public init(from decoder: Decoder) throws {
        let c = try strictContainer(decoder, CodingKeys.self)
        input = try c.decode(Input.self, forKey: .input)
        classes = try c.decode(Int.self, forKey: .classes)
        groups = try c.decodeIfPresent(Int.self, forKey: .groups) ?? 1
        initScheme = try c.decodeIfPresent(InitScheme.self, forKey: .initScheme) ?? .paper
        lrn = try c.decodeIfPresent(LRN.self, forKey: .lrn) ?? LRN()
        pool = try c.decodeIfPresent(Pool.self, forKey: .pool) ?? Pool()
        layers = try c.decode([Layer].self, forKey: .layers)
    }

    public func spec() throws -> ModelSpec {
        let specs = layers.enumerated().map { (i, l) -> LayerSpec in
            let last = i == layers.count - 1
            return LayerSpec(name: l.name, kind: l.type, outputs: l.kernels ?? l.outputs ?? 0, size: l.size ?? 1,
                             stride: l.stride ?? 1, pad: l.pad ?? 0, sees: l.sees ?? (i == 0 ? .all : .own),
                             relu: l.relu ?? !last, lrn: l.lrn ?? false, pool: l.pool ?? false,
                             dropout: l.dropout ?? 0, paperBias: l.bias ?? (l.type == .fc && !last ? 1 : 0))
        }
        return ModelSpec(inputChannels: input.channels, inputHeight: input.height, inputWidth: input.width,
                         classes: classes, groups: groups, initScheme: initScheme,
                         lrn: LRNParameters(k: lrn.k, n: lrn.n, alpha: lrn.alpha, beta: lrn.beta),
                         poolSize: pool.size, poolStride: pool.stride, layers: specs)
    }
}

public struct DataConfig: Codable, Equatable, Sendable {
    /// `idx`: MNIST-style IDX files; `prepared`: a directory written by `alexnet-mp prepare`;
    /// `cifar10`: CIFAR-10's binary batches.
    public enum Source: String, Codable, Sendable { case idx, prepared, cifar10 }
    public var source: Source
    public var dir: String
    public var crop: Int
    /// Training crops at a random place (false: the centre, for ablations).
    public var randomCrop: Bool
    public var flip: Bool
    public var scale: Float
    public var meanImage: Bool
    /// The paper's PCA colour augmentation (RGB sources only), αᵢ ~ N(0, pcaColourStd).
    public var pcaColour: Bool
    public var pcaColourStd: Float

    enum CodingKeys: String, CodingKey, CaseIterable {
        case source, dir, crop, randomCrop = "random_crop", flip, scale, meanImage = "mean_image"
        case pcaColour = "pca_colour", pcaColourStd = "pca_colour_std"
    }
    public init(from decoder: Decoder) throws {
        let c = try strictContainer(decoder, CodingKeys.self)
        source = try c.decodeIfPresent(Source.self, forKey: .source) ?? .idx
        dir = try c.decode(String.self, forKey: .dir)
        crop = try c.decode(Int.self, forKey: .crop)
        randomCrop = try c.decodeIfPresent(Bool.self, forKey: .randomCrop) ?? true
        flip = try c.decodeIfPresent(Bool.self, forKey: .flip) ?? true
        scale = try c.decodeIfPresent(Float.self, forKey: .scale) ?? 1
        meanImage = try c.decodeIfPresent(Bool.self, forKey: .meanImage) ?? true
        pcaColour = try c.decodeIfPresent(Bool.self, forKey: .pcaColour) ?? false
        pcaColourStd = try c.decodeIfPresent(Float.self, forKey: .pcaColourStd) ?? 0.1
    }

    func validate() throws {
        guard crop >= 1 else { throw ConfigError("data.crop: must be positive, got \(crop)") }
        guard scale > 0, scale.isFinite else { throw ConfigError("data.scale: must be positive, got \(scale)") }
        guard pcaColourStd >= 0, pcaColourStd.isFinite else { throw ConfigError("data.pca_colour_std: must not be negative, got \(pcaColourStd)") }
        if pcaColour && source == .idx { throw ConfigError("data.pca_colour: needs RGB images; the idx source is greyscale") }
    }

    public var augmentation: Augmentation {
        Augmentation(crop: crop, flip: flip, scale: scale, subtractMean: meanImage, randomCrop: randomCrop,
                     pcaColour: pcaColour, pcaStd: pcaColourStd)
    }
}

public struct TrainConfig: Codable, Equatable, Sendable {
    public var batch = 128
    public var epochs = 90
    public var seed: UInt64 = 1
    public var lr = 0.01
    public var momentum = 0.9
    public var weightDecay = 0.0005
    public var schedule = ScheduleConfig()

    enum CodingKeys: String, CodingKey, CaseIterable { case batch, epochs, seed, lr, momentum, weightDecay = "weight_decay", schedule }
    public init() {}
    public init(from decoder: Decoder) throws {
        let c = try strictContainer(decoder, CodingKeys.self)
        batch = try c.decodeIfPresent(Int.self, forKey: .batch) ?? 128
        epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? 90
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 1
        lr = try c.decodeIfPresent(Double.self, forKey: .lr) ?? 0.01
        momentum = try c.decodeIfPresent(Double.self, forKey: .momentum) ?? 0.9
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? 0.0005
        schedule = try c.decodeIfPresent(ScheduleConfig.self, forKey: .schedule) ?? ScheduleConfig()
    }

    func validate() throws {
        guard batch >= 1 else { throw ConfigError("train.batch: must be positive, got \(batch)") }
        guard epochs >= 1 else { throw ConfigError("train.epochs: must be positive, got \(epochs)") }
        guard lr > 0, lr.isFinite else { throw ConfigError("train.lr: must be positive, got \(lr)") }
        guard momentum >= 0, momentum < 1 else { throw ConfigError("train.momentum: must be in [0, 1), got \(momentum)") }
        guard weightDecay >= 0 else { throw ConfigError("train.weight_decay: must not be negative, got \(weightDecay)") }
        try schedule.validate()
    }
}

public struct ScheduleConfig: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable { case plateau, step, fixed }
    public var type: Kind = .plateau
    /// plateau: epochs without a better validation top-1 error before the rate drops.
    public var patience = 3
    /// step: drop every this many epochs.
    public var every = 30
    public var factor = 0.1
    /// The paper divided the rate by 10 three times.
    public var maxDrops = 3

    enum CodingKeys: String, CodingKey, CaseIterable { case type, patience, every, factor, maxDrops = "max_drops" }
    public init() {}
    public init(from decoder: Decoder) throws {
        let c = try strictContainer(decoder, CodingKeys.self)
        type = try c.decodeIfPresent(Kind.self, forKey: .type) ?? .plateau
        patience = try c.decodeIfPresent(Int.self, forKey: .patience) ?? 3
        every = try c.decodeIfPresent(Int.self, forKey: .every) ?? 30
        factor = try c.decodeIfPresent(Double.self, forKey: .factor) ?? 0.1
        maxDrops = try c.decodeIfPresent(Int.self, forKey: .maxDrops) ?? 3
    }

    func validate() throws {
        guard patience >= 1 else { throw ConfigError("train.schedule.patience: must be positive, got \(patience)") }
        guard every >= 1 else { throw ConfigError("train.schedule.every: must be positive, got \(every)") }
        guard factor > 0, factor < 1 else { throw ConfigError("train.schedule.factor: must be in (0, 1), got \(factor)") }
        guard maxDrops >= 0 else { throw ConfigError("train.schedule.max_drops: must not be negative") }
    }
}

public struct ConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

// MARK: - Strict decoding

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { self.stringValue = "\(intValue)"; self.intValue = intValue }
}

func keyPath(_ path: [CodingKey]) -> String {
    path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
}

/// A keyed container that refuses keys the type does not know.
func strictContainer<K: CodingKey & CaseIterable>(_ decoder: Decoder, _ keys: K.Type) throws -> KeyedDecodingContainer<K> {
    let any = try decoder.container(keyedBy: AnyKey.self)
    let known = K.allCases.map(\.stringValue)
    for k in any.allKeys where !known.contains(k.stringValue) {
        let at = keyPath(decoder.codingPath + [k])
        throw ConfigError("\(at): unknown key (expected one of: \(known.joined(separator: ", ")))")
    }
    return try decoder.container(keyedBy: K.self)
}

func describe(_ e: DecodingError) -> String {
    switch e {
    case .keyNotFound(let k, let ctx): return "\(keyPath(ctx.codingPath + [k])): missing key"
    case .typeMismatch(let t, let ctx): return "\(keyPath(ctx.codingPath)): expected \(t)"
    case .valueNotFound(let t, let ctx): return "\(keyPath(ctx.codingPath)): expected \(t), found nothing"
    case .dataCorrupted(let ctx):
        let path = keyPath(ctx.codingPath)
        if let range = ctx.debugDescription.range(of: "invalid String value ") {
            let value = ctx.debugDescription[range.upperBound...]
            let allowed: String
            switch ctx.codingPath.last?.stringValue ?? "" {
            case "type" where path.contains("schedule"): allowed = "plateau, step, fixed"
            case "type": allowed = "conv, fc"
            case "sees": allowed = "own, all"
            case "init": allowed = "paper, he"
            case "source": allowed = "idx, prepared, cifar10"
            default: allowed = ""
            }
            return "\(path): '\(value)' is not allowed" + (allowed.isEmpty ? "" : " (expected one of: \(allowed))")
        }
        return "\(path): \(ctx.debugDescription)"
    @unknown default: return "\(e)"
    }
}
