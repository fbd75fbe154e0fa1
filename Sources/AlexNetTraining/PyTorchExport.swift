import AlexNetCore
import AlexNetLayers
import AlexNetParallel
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

    /// The per-group parameter behind merged tensor `name` (`conv1.weight` → `conv1.g<g>.weight`).
    static func parameter(_ network: Network, merged name: String, group g: Int) throws -> Parameter {
        let parts = name.split(separator: ".")
        let groupName = "\(parts[0]).g\(g).\(parts[1])"
        guard let p = network.parameters(group: g).first(where: { $0.name == groupName }) else {
            throw TrainingError("the network has no parameter \(groupName)")
        }
        return p
    }

    /// Every tensor merged over the groups; the network must hold every group (1 rank).
    public static func tensors(_ network: Network) throws -> [SafeTensors.Output] {
        let G = network.spec.groups
        precondition(network.placement.localGroups.count == G, "export needs every group in this process")
        return try layout(network.spec).map { t in
            var data: [Float] = []
            data.reserveCapacity(t.shape.reduce(1, *))
            for g in 0..<G {
                let v = try parameter(network, merged: t.name, group: g).value
                data.append(contentsOf: UnsafeBufferPointer(start: v.data, count: v.count))
            }
            return SafeTensors.Output(name: t.name, shape: t.shape, data: data)
        }
    }

    /// Loads this rank's groups from a merged file, checking every tensor's shape.
    public static func load(_ file: SafeTensors, into network: Network) throws {
        for t in try layout(network.spec) {
            guard let e = file.entry(t.name) else { throw ModelFileError(file.file, "has no tensor \(t.name)") }
            guard e.shape == t.shape else {
                throw ModelFileError(file.file, "tensor \(t.name) has shape \(e.shape), this model needs \(t.shape)")
            }
            var merged = [Float](repeating: 0, count: t.shape.reduce(1, *))
            try merged.withUnsafeMutableBufferPointer { try file.copy(t.name, shape: t.shape, into: $0.baseAddress!) }
            for g in network.placement.localGroups {
                let v = try parameter(network, merged: t.name, group: g).value
                merged.withUnsafeBufferPointer { m in v.data.update(from: m.baseAddress! + g * v.count, count: v.count) }
            }
        }
    }

    /// What a PyTorch user needs to rebuild the module: JSON in the `alexnet_mp.torch` metadata.
    public static func torchDescription(_ config: RunConfig) throws -> String {
        let spec = try config.model.spec()
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
            "pool": ["size": spec.poolSize, "stride": spec.poolStride],
            "preprocess": ["scale": Double(config.data.scale), "mean_image": config.data.meanImage, "crop": config.data.crop],
            "layers": layers,
        ]
        return String(decoding: try JSONSerialization.data(withJSONObject: d, options: [.sortedKeys]), as: UTF8.self)
    }

    public static let configKey = "alexnet_mp.config", torchKey = "alexnet_mp.torch"

    /// Writes the network (all groups) and, when given, the mean image as `mean_image`.
    public static func write(_ network: Network, config: RunConfig, mean: (values: [Float], shape: [Int])?, to path: String) throws {
        var out = try tensors(network)
        if let mean { out.append(SafeTensors.Output(name: "mean_image", shape: mean.shape, data: mean.values)) }
        try SafeTensors.write(out, metadata: ["format": "pt", configKey: try config.yaml(), torchKey: try torchDescription(config)], to: path)
    }

    /// The run config stored in an exported file.
    public static func config(of file: SafeTensors) throws -> RunConfig {
        guard let text = file.metadata[configKey] else {
            throw ModelFileError(file.file, "has no \(configKey) metadata: not written by `alexnet-mp export`")
        }
        return try RunConfig.parse(text, file: file.file + " (\(configKey))")
    }
}
