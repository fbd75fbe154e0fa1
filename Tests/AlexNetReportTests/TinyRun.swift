import AlexNetFormats
import AlexNetCore
import AlexNetParallel
import AlexNetTraining
import Foundation
import XCTest

/// A finished run made by hand, small enough to report on in a second: a two-group model
/// of 1×8×8 images and 4 classes (crops of 10×10 IDX images), or of 3×24×24 images (crops of
/// CIFAR-10's 32×32 binary records), its shards as initialised, two epochs of metrics with a
/// learning-rate drop between them, logged steps and a profile.
enum TinyRun {
    static let config = """
        name: tiny
        model:
          input: {channels: 1, height: 8, width: 8}
          classes: 4
          groups: 2
          init: he
          lrn: {k: 2, n: 5, alpha: 1.0e-4, beta: 0.75}
          pool: {size: 3, stride: 2}
          layers:
            - {name: conv1, type: conv, kernels: 8, size: 3, stride: 1, pad: 1, lrn: true, pool: true}
            - {name: conv2, type: conv, kernels: 8, size: 3, stride: 1, pad: 1, sees: own}
            - {name: conv3, type: conv, kernels: 8, size: 3, stride: 1, pad: 1, sees: all}
            - {name: fc4, type: fc, outputs: 16, dropout: 0.5}
            - {name: fc5, type: fc, outputs: 4}
        data:
          source: idx
          dir: DATA
          crop: 8
          flip: true
          scale: 0.00392156862745098
          mean_image: true
        train:
          batch: 8
          epochs: 2
          seed: 1
          lr: 0.01
          momentum: 0.9
          weight_decay: 0.0005
          schedule: {type: plateau, patience: 3, factor: 0.1, max_drops: 3}

        """

    static func idx(_ shape: [Int], _ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0, 0, 0x08, UInt8(shape.count)]
        for d in shape { out += [UInt8((d >> 24) & 0xFF), UInt8((d >> 16) & 0xFF), UInt8((d >> 8) & 0xFF), UInt8(d & 0xFF)] }
        return out + data
    }

    /// The same net on colour input: CIFAR-10's binary format (32×32 RGB), 24×24 crops.
    static var colourConfig: String {
        config.replacingOccurrences(of: "name: tiny", with: "name: tiny-cifar")
            .replacingOccurrences(of: "{channels: 1, height: 8, width: 8}", with: "{channels: 3, height: 24, width: 24}")
            .replacingOccurrences(of: "source: idx", with: "source: cifar10")
            .replacingOccurrences(of: "crop: 8", with: "crop: 24")
    }

    /// The class names of the colour run's batches.meta.txt.
    static let colourNames = ["red thing", "green thing", "blue thing", "grey thing"]

    /// Each class a bright square in its own corner, plus noise: the pictures differ by class.
    /// Colour: class c is also tinted (red, green, blue, none) so the channels differ.
    static func pixels(count: Int, side: Int, colour: Bool, rng: inout RandomStream) -> [UInt8] {
        var px = [UInt8]()
        for i in 0..<count {
            let c = i % 4, half = side / 2
            for channel in 0..<(colour ? 3 : 1) {
                for y in 0..<side { for x in 0..<side {
                    let inside = (y < half) == (c < 2) && (x < half) == (c % 2 == 0)
                    let tint = colour && c < 3 && channel == c ? 50 : 0
                    px.append(UInt8(min(255, (inside ? (colour ? 170 : 200) : 20) + tint + rng.below(40))))
                } }
            }
        }
        return px
    }

    /// Writes the data set and the run under `root`; returns the run directory. `colour`: the
    /// CIFAR-10 version (`colourConfig`, binary batches and batches.meta.txt).
    static func make(in root: String, colour: Bool = false) throws -> String {
        let data = root + "/data", run = root + "/run"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: run + "/model", withIntermediateDirectories: true)
        var rng = RandomStream(seed: 5, .test, 2)
        if colour {
            // CIFAR-10 records: 1 label byte, then the red, green and blue 32×32 planes.
            func records(_ count: Int, first: Int) -> Data {
                let px = pixels(count: count, side: 32, colour: true, rng: &rng)
                var d = Data()
                for i in 0..<count { d.append(UInt8((first + i) % 4)); d.append(contentsOf: px[(i * 3072)..<((i + 1) * 3072)]) }
                return d
            }
            for b in 1...5 { try records(8, first: 8 * (b - 1)).write(to: URL(fileURLWithPath: "\(data)/data_batch_\(b).bin")) }
            try records(12, first: 0).write(to: URL(fileURLWithPath: "\(data)/test_batch.bin"))
            try (colourNames.joined(separator: "\n") + "\n\n").write(toFile: data + "/batches.meta.txt", atomically: true, encoding: .utf8)
        } else {
            for (stem, count) in [("train", 40), ("t10k", 12)] {
                let labels = (0..<count).map { UInt8($0 % 4) }
                let px = pixels(count: count, side: 10, colour: false, rng: &rng)
                try Data(idx([count, 10, 10], px)).write(to: URL(fileURLWithPath: "\(data)/\(stem)-images-idx3-ubyte"))
                try Data(idx([count], labels)).write(to: URL(fileURLWithPath: "\(data)/\(stem)-labels-idx1-ubyte"))
            }
        }
        try (colour ? colourConfig : config).replacingOccurrences(of: "DATA", with: data)
            .write(toFile: run + "/config.yaml", atomically: true, encoding: .utf8)
        try "ranks: 1\ngroups: 2\n".write(toFile: run + "/run.yaml", atomically: true, encoding: .utf8)
        try """
            \(EpochMetrics.csvHeader)
            1,5,1.300000,0.600000,0.000000,0.500000,0.000000,0.01,100.0,1.00
            2,5,1.100000,0.400000,0.000000,0.250000,0.000000,0.001,100.0,1.00

            """.write(toFile: run + "/metrics.csv", atomically: true, encoding: .utf8)
        try "step,epoch,loss,top1_error,top5_error,learning_rate\n2,1,1.4,0.5,0,0.01\n5,1,1.2,0.5,0,0.01\n8,2,1.1,0.4,0,0.001\n10,2,1.0,0.3,0,0.001\n"
            .write(toFile: run + "/steps.csv", atomically: true, encoding: .utf8)

        let cfg = try RunConfig.load(run + "/config.yaml")
        let spec = cfg.model
        let network = try Network(spec: spec, batch: 8, placement: Placement(groups: 2, ranks: 1, rank: 0),
                                  comm: LocalCommunicator(), seed: 1)
        if colour {
            // Group 0's conv1 kernels the same in every channel (colour-agnostic), group 1's random
            // per channel (colour-specific): the two ends of the paper's Figure 3.
            let w = network.parameters(group: 0)[0].value   // [4][3·3·3]
            for k in 0..<4 { for c in 1..<3 { for j in 0..<9 { w.data[k * 27 + c * 9 + j] = w.data[k * 27 + j] } } }
        }
        for g in 0..<2 {
            try ModelFile.write(network.parameters(group: g), spec: spec, group: g, binding: .init(run: 1, step: 0), to: ModelFile.path(directory: run + "/model", group: g))
        }
        for s in 0..<2 { try trainingStep(network, sgd: SGD(momentum: 0.9, weightDecay: 0), learningRate: 0, globalStep: s) { _ in } }
        let report = try ProfileReport.gather(network.profile, comm: LocalCommunicator(), config: "tiny", batch: 8, groups: 2, alone: [])!
        try report.json().write(toFile: run + "/profile.json", atomically: true, encoding: .utf8)
        return run
    }
}
