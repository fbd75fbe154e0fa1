import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import AlexNetSimulator
import AlexNetTraining
import Foundation

/// A finished run's model on one in-process rank (every group on it), with the run's data:
/// what the report needs to look inside the net.
public final class TrainedModel {
    public let spec: ModelSpec
    public let network: Network
    public let batcher: Batcher
    /// The run's data, loaded as `train` and `eval` load it (any `data.source`).
    public let data: RunData

    /// Loads `<run>/model/group<g>.bin` for every group, and the data set the config names
    /// (`dataDir` overrides its directory) through `RunData`, the loader `train` and `eval` use.
    public init(run: String, config: RunConfig, dataDir: String?, cores: Int) throws {
        spec = config.model
        data = try RunData.load(config, dataDir: dataDir)
        batcher = data.batcher
        network = try Session(config: config, comm: LocalCommunicator(), cores: cores).network
        try ModelFile.readModel(network, from: (run as NSString).appendingPathComponent(RunDirectory.modelDirectory))
    }

    /// conv1's weights of group `g`, `[K/G][C·k·k]`.
    public func conv1Weights(group g: Int) -> [Float] {
        let w = network.parameters(group: g)[0].value
        return Array(w.buffer)
    }

    /// The layer whose activations the nearest-neighbour search uses: the last hidden one (fc7).
    public var featureLayer: Int { network.plans.count - 2 }

    /// What the net says about the images of a set.
    public struct Outputs {
        public var classes: Int
        /// `[count][classes]`, softmax of the logits.
        public var probabilities: [Float]
        public var labels: [Int]
        /// `[count][featureSize]`: the feature layer's outputs (every group's, in group order), when asked for.
        public var features: [Float]
        public var featureSize: Int
        public var count: Int { labels.count }
        public func top(_ n: Int, of image: Int) -> [(label: Int, probability: Float)] {
            let p = probabilities[(image * classes)..<((image + 1) * classes)]
            return p.enumerated().map { ($0.offset, $0.element) }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
                .prefix(n).map { (label: $0.0, probability: $0.1) }
        }
    }

    /// Runs every image of `set` (centre crops, as evaluation does) through the net.
    public func outputs(of set: ImageSet, features: Bool) throws -> Outputs {
        let N = network.batch, K = spec.classes, fl = featureLayer
        let perGroup = network.plans[fl].outChannels
        let F = features ? perGroup * spec.groups : 0
        var out = Outputs(classes: K, probabilities: [], labels: set.labels.map(Int.init), features: [], featureSize: F)
        out.probabilities.reserveCapacity(set.count * K)
        out.features.reserveCapacity(set.count * F)
        var start = 0
        while start < set.count {
            let valid = batcher.fillTest(start: start, batch: N, input: network.input.data, labels: network.labels, from: set)
            try network.forward(training: false, step: 0)
            let logits = network.logits.data
            for n in 0..<valid {
                var mx = -Float.infinity
                for k in 0..<K { mx = max(mx, logits[k * N + n]) }
                var e = [Float](repeating: 0, count: K), sum: Float = 0
                for k in 0..<K { e[k] = Foundation.exp(logits[k * N + n] - mx); sum += e[k] }
                out.probabilities += e.map { $0 / sum }
            }
            if features {
                let outs = (0..<spec.groups).map { network.output(layer: fl, group: $0).data }
                for n in 0..<valid {
                    for g in 0..<spec.groups { for f in 0..<perGroup { out.features.append(outs[g][f * N + n]) } }
                }
            }
            start += N
        }
        return out
    }
}

extension ImageSet {
    /// `count` images spread evenly over the set (every ⌊size/count⌋-th), and their indices;
    /// the sample shares the set's storage (nothing is copied).
    public func evenSample(_ count: Int) -> (set: ImageSet, indices: [Int]) {
        let n = min(count, self.count)
        let indices = (0..<n).map { $0 * self.count / max(n, 1) }
        return (subset(indices), indices)
    }

    /// Image `i` as stored (full size, not cropped), grey or RGB (`[C][H][W]` planes interleaved).
    public func bitmap(_ i: Int) -> Bitmap {
        var b = Bitmap(width: width, height: height, channels: channels == 3 ? 3 : 1)
        let px = image(i), plane = height * width
        if channels == 3 {
            for p in 0..<plane { for c in 0..<3 { b.pixels[3 * p + c] = px[c * plane + p] } }
        } else {
            for p in 0..<plane { b.pixels[p] = px[p] }   // the first channel of a non-RGB image
        }
        return b
    }
}
