import AlexNetCore
import AlexNetData
import AlexNetLayers
import Foundation

/// One way a config departs from the paper (Krizhevsky, Sutskever, Hinton 2012): what the paper
/// does, what the config does, and whether it is refused (an error) or a choice (a warning). A
/// config declares the departures it means under `departures:`, each with a one-line reason;
/// a declared departure is reported as such and never refused.
///
///     departures:
///       init: "He init: the paper's N(0, 0.01) stays at chance on this small net"
///       crop: "24x24 crops of 28x28 images"
public struct Departure: Equatable, Sendable {
    /// The kinds of departure, and the keys of `departures:`.
    public enum ID: String, CaseIterable, Sendable {
        /// A conv or pool window that does not tile its map: rows and columns are never read.
        case untiled
        /// Not the paper's 5 conv + 3 fc layers (the layer-by-layer checks are then skipped).
        case shape
        /// Not two groups, nor the one-group comparison net.
        case groups
        /// A one-group comparison net that is not its two-group net with half the kernels in conv1–conv4.
        case onegroup
        case sees, relu, lrn, pool, dropout, bias
        case initScheme = "init"
        case crop, flip, scale
        case meanImage = "mean_image", pcaColour = "pca_colour"
        case batch, lr, momentum
        case weightDecay = "weight_decay"
        case schedule
    }

    public var id: ID
    /// The config key it is about (`model.init`, `model.layers[5] (fc6).dropout`).
    public var key: String
    /// What this config does.
    public var config: String
    /// What the paper does.
    public var paper: String
    /// Refused unless declared; otherwise a choice, which only warns.
    public var refused: Bool
    /// The config's reason, when its `departures:` declares this id.
    public var declared: String?

    public init(_ id: ID, _ key: String, _ config: String, paper: String, refused: Bool = false, declared: String? = nil) {
        self.id = id; self.key = key; self.config = config; self.paper = paper; self.refused = refused; self.declared = declared
    }

    public var isError: Bool { refused && declared == nil }
    public var isUndeclaredChoice: Bool { !refused && declared == nil }

    /// One line: the key, what this config does, what the paper does, and what becomes of it.
    public var message: String {
        let what: String
        if let declared { what = "declared: \(declared)" }
        else { what = (refused ? "refused unless declared" : "not declared") + " (departures: {\(id.rawValue): \"why\"})" }
        return "\(key): \(config); the paper: \(paper) — \(what)"
    }

    /// `lint`'s line: `error`, `choice` or `declared`, the id, then `message`.
    public var line: String { "\(isError ? "error" : declared == nil ? "choice" : "declared") [\(id.rawValue)] \(message)" }
}

/// The paper's net checked against a config: every departure, one per way and place. Layer by
/// layer (sees, ReLU, LRN, pooling, dropout, biases, the one-group rule) only for the paper's
/// shape of 5 conv + 3 fc layers, compared by position; other nets get a `shape` departure.
public enum Fidelity {
    /// The paper's layers by position (its figure 2): what each reads (nil: the image, or an FC
    /// layer, which reads every group), LRN, max pooling, dropout and the initial bias.
    static let paperLayers: [(name: String, sees: LayerSpec.Sees?, lrn: Bool, pool: Bool, dropout: Double, bias: Float)] = [
        ("conv1", nil, true, true, 0, 0), ("conv2", .own, true, true, 0, 1), ("conv3", .all, false, false, 0, 0),
        ("conv4", .own, false, false, 0, 1), ("conv5", .own, false, true, 0, 1),
        ("fc6", nil, false, false, 0.5, 1), ("fc7", nil, false, false, 0.5, 1), ("fc8", nil, false, false, 0, 0),
    ]

    /// The suffix that names a config as the paper's one-GPU comparison net (`alexnet-onegroup`).
    public static let comparisonSuffix = "-onegroup"

    /// A one-group config named `<twin>-onegroup` is the paper's comparison net: the two-group net
    /// `<twin>` with half the kernels in conv1–conv4, conv5 and the FC layers full.
    public static func isComparisonNet(_ config: RunConfig) -> Bool {
        config.model.groups == 1 && config.name.hasSuffix(comparisonSuffix) && config.name.count > comparisonSuffix.count
    }

    /// Where a comparison net's two-group config is: `<twin>.yaml` beside the config at `path`.
    public static func twinPath(of config: RunConfig, at path: String) -> String? {
        guard isComparisonNet(config) else { return nil }
        let dir = parentDirectory(of: path)
        return (dir == "/" ? "" : dir) + "/" + config.name.dropLast(comparisonSuffix.count) + ".yaml"
    }

    /// Every departure of `config` from the paper, declared ones with their reason. `twin`: the
    /// two-group net a comparison net is checked against (the one-group rule is skipped without it).
    public static func departures(of config: RunConfig, twin: RunConfig? = nil) throws -> [Departure] {
        var found: [Departure] = []
        func add(_ id: Departure.ID, _ key: String, _ what: String, paper: String, refused: Bool = false) {
            found.append(Departure(id, key, what, paper: paper, refused: refused))
        }
        let m = config.model, plans = try m.plan()
        func layerKey(_ i: Int) -> String { "model.layers[\(i)] (\(m.layers[i].name))" }

        // Windows that tile their maps.
        let tiles = "every window tiles its map exactly, 227 → 55 → 27 → 13 → 6 (the paper's 224 only as 227: (227 − 11)/4 + 1 = 55, Caffe's convention)"
        for p in plans where p.isConv {
            let l = p.spec
            let rows = (p.inHeight + 2 * l.pad - l.size) % l.stride, columns = (p.inWidth + 2 * l.pad - l.size) % l.stride
            if rows + columns > 0 {
                add(.untiled, layerKey(p.index) + ".size",
                    "\(article(l.size)) \(l.size)×\(l.size) kernel at stride \(l.stride)\(l.pad > 0 ? " with pad \(l.pad)" : "") leaves \(unread(rows, columns)) of its \(p.inHeight)×\(p.inWidth) input unread (\(p.outHeight)×\(p.outWidth) out)",
                    paper: tiles, refused: true)
            }
            let poolRows = (p.outHeight - m.pool.size) % m.pool.stride, poolColumns = (p.outWidth - m.pool.size) % m.pool.stride
            if l.pool && poolRows + poolColumns > 0 {
                add(.untiled, layerKey(p.index) + ".pool",
                    "\(article(m.pool.size)) \(m.pool.size)×\(m.pool.size) pool at stride \(m.pool.stride) leaves \(unread(poolRows, poolColumns)) of its \(p.outHeight)×\(p.outWidth) map unread (\(p.pooledHeight)×\(p.pooledWidth) out)",
                    paper: tiles, refused: true)
            }
        }

        // The paper's two GPUs, or its one-GPU comparison net.
        if m.groups != 2 && !isComparisonNet(config) {
            add(.groups, "model.groups", "\(m.groups) group\(m.groups == 1 ? "" : "s")",
                paper: "two groups (GPUs), or the one-GPU comparison net (a one-group config named <two-group name>\(comparisonSuffix))")
        }

        // Layer by layer, by position, for the paper's shape only.
        let convs = plans.filter(\.isConv).count
        if plans.count != 8 || convs != 5 {
            add(.shape, "model.layers", "\(convs) conv + \(plans.count - convs) fc layers (the layer-by-layer checks are skipped)",
                paper: "5 conv + 3 fc layers")
        } else {
            for (i, (l, want)) in zip(m.layers, paperLayers).enumerated() {
                let key = layerKey(i)
                if m.groups > 1, let sees = want.sees, l.sees != sees {
                    add(.sees, key + ".sees", "\(l.sees.rawValue)", paper: "\(sees.rawValue): the paper's \(want.name) reads \(sees == .all ? "every GPU's maps" : "only its own GPU's maps")")
                }
                if i < 7 && !l.relu { add(.relu, key + ".relu", "false", paper: "ReLU after every layer but fc8") }
                if l.lrn != want.lrn { add(.lrn, key + ".lrn", "\(l.lrn)", paper: "LRN after conv1 and conv2 only") }
                if l.pool != want.pool { add(.pool, key + ".pool", "\(l.pool)", paper: "max pooling after conv1, conv2 and conv5 only") }
                if l.dropout != want.dropout {
                    add(.dropout, key + ".dropout", l.dropout == 0 ? "none" : "\(l.dropout)", paper: "dropout 0.5 in fc6 and fc7, none elsewhere")
                }
                if l.paperBias != want.bias {
                    add(.bias, key + ".bias", "\(number(l.paperBias))", paper: "bias \(number(want.bias)) in \(want.name) (1 in conv2, conv4, conv5, fc6 and fc7, 0 elsewhere)")
                }
            }
            if isComparisonNet(config), let twin { found += comparisonDepartures(config, twin: twin) }
        }

        // LRN and pooling parameters, where a layer uses them.
        if m.layers.contains(where: \.lrn) && m.lrn != .paper {
            let p = LRNParameters.paper, a = Double(m.lrn.alpha)
            let dividedConvention = close(a, Double(p.alpha) / Double(m.lrn.n)) ? " (α looks divided by n, Caffe's and PyTorch's convention: here α is not divided by n)"
                : close(a, Double(p.alpha) * Double(p.n)) ? " (α looks like Caffe's and PyTorch's value for the paper's layer, which they divide by n: here give 1e-4)" : ""
            add(.lrn, "model.lrn", "k \(number(m.lrn.k)), n \(m.lrn.n), α \(number(m.lrn.alpha)), β \(number(m.lrn.beta))\(dividedConvention)",
                paper: "k 2, n 5, α 1e-4 (not divided by n), β 0.75")
        }
        if m.layers.contains(where: \.pool) && m.pool != .paper {
            add(.pool, "model.pool", "size \(m.pool.size), stride \(m.pool.stride)", paper: "overlapping max pooling, size 3, stride 2")
        }

        if m.initScheme == .he {
            add(.initScheme, "model.init", "he: He-normal weights N(0, 2/fan-in), biases of 1 set to 0.1",
                paper: "weights N(0, 0.01), biases 1 in conv2, conv4, conv5, fc6 and fc7, 0 elsewhere")
        }

        // Data and augmentation.
        let d = config.data
        if ![224, 227].contains(d.crop) {
            add(.crop, "data.crop", "\(d.crop)×\(d.crop) crops", paper: "random 224×224 crops of the 256×256 images (227×227 in practice, Caffe's convention)")
        }
        if !d.randomCrop { add(.crop, "data.random_crop", "false: the centre crop in training", paper: "random crops in training") }
        if !d.flip { add(.flip, "data.flip", "false", paper: "random horizontal reflections in training") }
        if !d.meanImage { add(.meanImage, "data.mean_image", "false", paper: "the training set's mean image subtracted from every pixel") }
        if d.scale != 1 { add(.scale, "data.scale", "pixels × \(number(d.scale))", paper: "raw pixel values, 0 to 255, minus the mean image") }
        if m.inputChannels == 3 {
            if !d.pcaColour {
                add(.pcaColour, "data.pca_colour", "false", paper: "PCA colour augmentation, αᵢ ~ N(0, 0.1) per image")
            } else if d.pcaColourStd != 0.1 {
                add(.pcaColour, "data.pca_colour_std", "\(number(d.pcaColourStd))", paper: "αᵢ ~ N(0, 0.1)")
            }
        }

        // The update rule.
        let t = config.train, s = t.schedule
        if t.batch != 128 { add(.batch, "train.batch", "\(t.batch)", paper: "128") }
        if t.lr != 0.01 { add(.lr, "train.lr", "\(number(t.lr))", paper: "0.01 for every layer") }
        if t.momentum != 0.9 { add(.momentum, "train.momentum", "\(number(t.momentum))", paper: "0.9") }
        if t.weightDecay != 0.0005 { add(.weightDecay, "train.weight_decay", "\(number(t.weightDecay))", paper: "0.0005") }
        if s.type != .plateau || s.factor != 0.1 || s.maxDrops != 3 {
            let what = s.type == .fixed ? "fixed" : "\(s.type.rawValue)\(s.type == .step ? " every \(s.every) epochs" : ""), factor \(number(s.factor)), at most \(s.maxDrops) drops"
            add(.schedule, "train.schedule", what, paper: "the rate divided by 10 when the validation error stopped improving, three times (plateau, factor 0.1, max_drops 3)")
        }

        for i in found.indices { found[i].declared = config.departures[found[i].id.rawValue] }
        return found
    }

    /// A comparison net against its two-group net: half the kernels in conv1–conv4, the same
    /// conv5 and FC layers, and otherwise the same model, data and training.
    static func comparisonDepartures(_ one: RunConfig, twin: RunConfig) -> [Departure] {
        let rule = "the one-GPU net is the two-GPU net (here \(twin.name)) with half the kernels in conv1–conv4, conv5 and the FC layers full, trained alike"
        guard twin.model.groups > 1, twin.model.layers.count == one.model.layers.count else {
            return [Departure(.onegroup, "name", "\(one.name): its two-group net \(twin.name) has \(twin.model.groups) group(s) and \(twin.model.layers.count) layers", paper: rule)]
        }
        var found: [Departure] = []
        for (i, (a, b)) in zip(one.model.layers, twin.model.layers).enumerated() {
            let key = "model.layers[\(i)] (\(a.name))"
            let want = i < 4 ? b.outputs / 2 : b.outputs
            if a.outputs != want {
                found.append(Departure(.onegroup, key + (a.kind == .conv ? ".kernels" : ".outputs"), "\(a.outputs)",
                                       paper: "\(want) (\(twin.name) has \(b.outputs)): " + rule))
            }
            var x = a, y = b
            x.outputs = 0; y.outputs = 0; x.sees = .all; y.sees = .all; x.name = y.name
            if x != y { found.append(Departure(.onegroup, key, "not \(twin.name)'s \(b.name) but for its kernels", paper: rule)) }
        }
        var x = one.model, y = twin.model
        x.groups = 0; y.groups = 0; x.layers = []; y.layers = []
        if x != y { found.append(Departure(.onegroup, "model", "input, classes, replicas, init, LRN or pooling other than \(twin.name)'s", paper: rule)) }
        if one.data != twin.data { found.append(Departure(.onegroup, "data", "other than \(twin.name)'s", paper: rule)) }
        if one.train != twin.train { found.append(Departure(.onegroup, "train", "other than \(twin.name)'s", paper: rule)) }
        return found
    }

    /// "the last row and column", "the last 3 rows", "the last row and the last 2 columns".
    static func unread(_ rows: Int, _ columns: Int) -> String {
        func last(_ n: Int, _ what: String) -> String { n == 1 ? "the last \(what)" : "the last \(n) \(what)s" }
        if rows == columns { return rows == 1 ? "the last row and column" : "the last \(rows) rows and columns" }
        return [rows > 0 ? last(rows, "row") : nil, columns > 0 ? last(columns, "column") : nil].compactMap { $0 }.joined(separator: " and ")
    }

    /// "an" before a number said with a vowel first (8, 11, 18, 80…), else "a".
    static func article(_ n: Int) -> String { String(n).hasPrefix("8") || n == 11 || n == 18 ? "an" : "a" }

    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-6 * abs(b) }

    /// A number as a config writes it: 1, 0.5, 1e-04 → "1", "0.5", "0.0001".
    static func number<T: BinaryFloatingPoint>(_ v: T) -> String {
        let d = Double(v)
        return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : "\(Float(d))"
    }
}
