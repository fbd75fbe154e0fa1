import AlexNetCore
import AlexNetLayers
import Foundation

/// One of the paper's claims that `ablate` re-runs: a pair of configs derived from the one given,
/// the paper's arm (with the choice) and the ablated arm (without it), and the delta the paper
/// reports for the choice (error with it minus error without it, in points; negative: it helps).
public enum AblationStudy: String, CaseIterable, Sendable {
    case groups, lrn, overlap, pca, dropout, views

    /// What the study compares, as the table prints it.
    public var title: String {
        switch self {
        case .groups: return "two groups against the one-group net (half the kernels in conv1–conv4)"
        case .lrn: return "local response normalisation against none"
        case .overlap: return "overlapping pooling 3/2 against 2/2"
        case .pca: return "PCA colour augmentation against none"
        case .dropout: return "dropout 0.5 in fc6 and fc7 against none"
        case .views: return "ten test views against the centre crop"
        }
    }

    /// The paper's delta in top-1 and top-5 error (points), where it gives one, and its words.
    public var paper: (top1: Double?, top5: Double?, words: String) {
        switch self {
        case .groups: return (-1.7, -1.2, "−1.7 / −1.2")
        case .lrn: return (-1.4, -1.2, "−1.4 / −1.2")
        case .overlap: return (-0.4, -0.3, "−0.4 / −0.3")
        case .pca: return (nil, nil, "over 1 point of top-1")
        case .dropout: return (nil, nil, "without it, substantial overfitting")
        case .views: return (nil, nil, "used, no figure given")
        }
    }

    /// The ablated arm's name (its run directories are `<arm>-seed<k>`); the paper's arm is `paper`.
    public var ablatedArm: String { self == .views ? "paper" : "no-\(rawValue)" }

    /// The paper's arm and the ablated arm, derived from `config` (the paper's arm is `config`
    /// itself, with the choice switched on where the config has it off). One-line errors name the
    /// study and what stands in its way.
    public func arms(of config: RunConfig) throws -> (paper: RunConfig, ablated: RunConfig) {
        var on = config, off = config
        func refuse(_ why: String) -> ConfigError { ConfigError("ablate --study \(rawValue): \(why)") }
        switch self {
        case .groups:
            guard config.model.groups > 1 else {
                throw refuse("the config has one group: give the paper's two-group net (the study derives the one-group net from it)")
            }
            off.model = try AblationStudy.oneGroupNet(config.model)
            off.name = config.name + "-onegroup"
        case .lrn:
            guard config.model.layers.contains(where: \.lrn) else { throw refuse("the config has no LRN layer to take away") }
            for i in off.model.layers.indices { off.model.layers[i].lrn = false }
        case .overlap:
            guard config.model.pool.size > config.model.pool.stride else {
                throw refuse("the config's pooling does not overlap (size \(config.model.pool.size), stride \(config.model.pool.stride))")
            }
            off.model.pool = PoolParameters(size: config.model.pool.stride, stride: config.model.pool.stride)
            do { _ = try off.model.plan() } catch {
                throw refuse("with \(config.model.pool.stride)×\(config.model.pool.stride) pooling the net no longer fits: \(error)")
            }
        case .pca:
            guard config.model.inputChannels == 3, config.data.source != .idx else {
                throw refuse("the data has no colour (\(config.model.inputChannels) channel\(config.model.inputChannels == 1 ? "" : "s"), source \(config.data.source.rawValue)): run it on colour images, e.g. configs/cifar10.yaml")
            }
            on.data.pcaColour = true
            off.data.pcaColour = false
        case .dropout:
            guard config.model.layers.contains(where: { $0.dropout > 0 }) else { throw refuse("the config has no dropout to take away") }
            for i in off.model.layers.indices { off.model.layers[i].dropout = 0 }
        case .views:
            break   // one training, tested two ways
        }
        if self != .views { off.name = off.name == config.name ? config.name + "-" + ablatedArm : off.name }
        // The ablated arm departs from the paper on purpose: it says so (`lint`, its config.yaml).
        let why = "ablate --study \(rawValue): the arm without the paper's choice"
        let ids: [Departure.ID]
        switch self {
        case .groups: ids = [.groups]
        case .lrn: ids = [.lrn]
        case .overlap: ids = [.pool, .untiled]
        case .pca: ids = [.pcaColour]
        case .dropout: ids = [.dropout]
        case .views: ids = []
        }
        for id in ids where off.departures[id.rawValue] == nil { off.departures[id.rawValue] = why }
        try on.validate(); try off.validate()
        return (on, off)
    }

    /// The paper's one-GPU comparison net: one group, half the kernels in conv1–conv4, conv5
    /// and the fully connected layers at full size (so that both nets have about the same number
    /// of parameters, which the paper notes favours the one-GPU net).
    public static func oneGroupNet(_ spec: ModelSpec) throws -> ModelSpec {
        var one = spec
        one.groups = 1
        let convs = one.layers.indices.filter { one.layers[$0].kind == .conv }
        for (k, i) in convs.enumerated() {
            // With one group `sees` changes nothing; it is left as a one-group config without the key has it.
            one.layers[i].sees = k == 0 ? .all : .own
            one.layers[i].given.remove("sees")
            if k < convs.count - 1 {
                guard one.layers[i].outputs % 2 == 0 else {
                    throw ConfigError("ablate --study groups: \(one.layers[i].name) has \(one.layers[i].outputs) kernels, which do not halve")
                }
                one.layers[i].outputs /= 2
            }
        }
        _ = try one.plan()
        return one
    }
}
