import AlexNetCore
import AlexNetLayers
import Foundation

/// The model in PyTorch's names and layouts, every group merged, for `export` and for `eval` of
/// a `.safetensors` file.
///
/// | tensor          | shape                             | PyTorch module                                   |
/// |-----------------|-----------------------------------|--------------------------------------------------|
/// | `convL.weight`  | [kernels, in/groups, size, size]  | `Conv2d(in, kernels, size, stride, pad, groups)` |
/// | `convL.bias`    | [kernels]                         |                                                  |
/// | `fcL.weight`    | [outputs, inputs]                 | `Linear(inputs, outputs)` after `flatten(1)` of NCHW |
/// | `fcL.bias`      | [outputs]                         |                                                  |
/// | `mean_image`    | [channels, height, width]         | subtracted from `pixels × scale` before the crop |
///
/// Group g's kernels are rows `g·K/G ..< (g+1)·K/G` of the merged tensor, and a layer that reads
/// every group's maps sees group 0's channels first — exactly `Conv2d(groups=G)`'s and
/// `torch.cat`'s order. `groups` is G for a convolution that reads only its own group's maps
/// (the paper's conv2, conv4, conv5) and 1 otherwise. Two things a PyTorch model must do as
/// the paper does, which the `alexnet_mp.torch` metadata spells out:
/// - LRN normalises within a group only: split the channels into G chunks and normalise each;
/// - PyTorch's `LocalResponseNorm` divides α by n: pass `alpha = n·α` (the metadata's value).
/// `bench/pytorch_alexnet.py` builds that module from the metadata.
public enum PyTorchExport {
    /// `groups=` of the PyTorch convolution equivalent to `plan`.
    public static func torchGroups(_ plan: LayerPlan, groups: Int) -> Int {
        plan.isConv && plan.index > 0 && !plan.exchange ? groups : 1
    }

    /// Merged name and shape of every tensor, in layer order (weight, then bias).
    public static func layout(_ spec: ModelSpec) throws -> [(name: String, shape: [Int])] {
        try spec.plan().flatMap { p -> [(name: String, shape: [Int])] in
            let K = p.outChannels * spec.groups
            let w = p.isConv ? [K, p.inChannels, p.spec.size, p.spec.size] : [K, p.fanIn]
            return [(p.spec.name + ".weight", w), (p.spec.name + ".bias", [K])]
        }
    }

    /// The per-group parameter behind merged tensor `name` (`conv1.weight` → `conv1.g<g>.weight`),
    /// among `parameters`, that group's.
    static func parameter(_ parameters: [Parameter], merged name: String, group g: Int) throws -> Parameter {
        let parts = name.split(separator: ".")
        let groupName = "\(parts[0]).g\(g).\(parts[1])"
        guard let p = parameters.first(where: { $0.name == groupName }) else {
            throw ModelFileError(groupName, "the model has no such parameter")
        }
        return p
    }

    /// Every tensor merged over the groups: `parameters(g)` gives group g's parameters, for every group.
    public static func tensors(_ spec: ModelSpec, parameters: (Int) -> [Parameter]) throws -> [SafeTensors.Output] {
        let G = spec.groups
        return try layout(spec).map { t in
            var data: [Float] = []
            data.reserveCapacity(t.shape.reduce(1, *))
            for g in 0..<G {
                let v = try parameter(parameters(g), merged: t.name, group: g).value
                data.append(contentsOf: UnsafeBufferPointer(start: v.data, count: v.count))
            }
            return SafeTensors.Output(name: t.name, shape: t.shape, data: data)
        }
    }

    /// Loads `groups` (those this rank holds; `parameters(g)` gives group g's) from a merged
    /// file, checking every tensor's shape.
    public static func load(_ file: SafeTensors, spec: ModelSpec, groups: [Int], parameters: (Int) -> [Parameter]) throws {
        for t in try layout(spec) {
            guard let e = file.entry(t.name) else { throw ModelFileError(file.file, "has no tensor \(t.name)") }
            guard e.shape == t.shape else {
                throw ModelFileError(file.file, "tensor \(t.name) has shape \(e.shape), this model needs \(t.shape)")
            }
            var merged = [Float](repeating: 0, count: t.shape.reduce(1, *))
            try merged.withUnsafeMutableBufferPointer { try file.copy(t.name, shape: t.shape, into: $0.baseAddress!) }
            for g in groups {
                let v = try parameter(parameters(g), merged: t.name, group: g).value
                merged.withUnsafeBufferPointer { m in v.data.update(from: m.baseAddress! + g * v.count, count: v.count) }
            }
        }
    }

    /// How the images are prepared before the first layer, for the module description.
    public struct Preprocess: Sendable {
        public var scale: Float, meanImage: Bool, crop: Int
        public init(scale: Float, meanImage: Bool, crop: Int) { self.scale = scale; self.meanImage = meanImage; self.crop = crop }
    }

    /// What a PyTorch user needs to rebuild the module: JSON in the `alexnet_mp.torch` metadata.
    public static func torchDescription(_ spec: ModelSpec, preprocess: Preprocess) throws -> String {
        let G = spec.groups
        let layers: [[String: Any]] = try spec.plan().map { p in
            [
                "name": p.spec.name, "type": p.isConv ? "conv" : "fc",
                "in": p.isConv ? p.inChannels * torchGroups(p, groups: G) : p.fanIn,
                "out": p.outChannels * G, "size": p.spec.size, "stride": p.spec.stride, "pad": p.spec.pad,
                "groups": torchGroups(p, groups: G), "relu": p.spec.relu, "lrn": p.spec.lrn, "pool": p.spec.pool,
                "dropout": p.spec.dropout,
            ]
        }
        let d: [String: Any] = [
            "input": [spec.inputChannels, spec.inputHeight, spec.inputWidth],
            "classes": spec.classes,
            "lrn": ["size": spec.lrn.n, "alpha": Double(spec.lrn.alpha) * Double(spec.lrn.n),
                    "beta": Double(spec.lrn.beta), "k": Double(spec.lrn.k), "chunks": G],
            "pool": ["size": spec.pool.size, "stride": spec.pool.stride],
            "preprocess": ["scale": Double(preprocess.scale), "mean_image": preprocess.meanImage, "crop": preprocess.crop],
            "layers": layers,
        ]
        return String(decoding: try JSONSerialization.data(withJSONObject: d, options: [.sortedKeys]), as: UTF8.self)
    }

    public static let configKey = "alexnet_mp.config", torchKey = "alexnet_mp.torch"
    /// Which maps LRN's window of n runs over: `group`, the maps of the layer's own group (this
    /// project's reading of the paper's N; Caffe's reference model normalises conv1 over all 96).
    public static let lrnAcrossKey = "alexnet_mp.lrn_across", lrnAcross = "group"

    /// Writes every group's parameters merged and, when given, the mean image as `mean_image`,
    /// with the run's config (`configYAML`), the module description and which maps LRN runs over
    /// (`alexnet_mp.lrn_across: group`) in the metadata.
    public static func write(_ spec: ModelSpec, parameters: (Int) -> [Parameter], mean: (values: [Float], shape: [Int])?,
                             configYAML: String, preprocess: Preprocess, to path: String) throws {
        var out = try tensors(spec, parameters: parameters)
        if let mean { out.append(SafeTensors.Output(name: "mean_image", shape: mean.shape, data: mean.values)) }
        try SafeTensors.write(out, metadata: ["format": "pt", configKey: configYAML, torchKey: try torchDescription(spec, preprocess: preprocess),
                                              lrnAcrossKey: lrnAcross],
                              to: path)
    }

    /// The run config stored in an exported file, as YAML text.
    public static func configText(of file: SafeTensors) throws -> String {
        guard let text = file.metadata[configKey] else {
            throw ModelFileError(file.file, "has no \(configKey) metadata: not written by `alexnet-mp export`")
        }
        return text
    }
}
