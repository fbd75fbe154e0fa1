import AlexNetCore
import AlexNetParallel
import AlexNetTraining
import Foundation
import XCTest

/// A finished run made by hand, small enough to report on in a second: a two-group model
/// of 1×8×8 images and 4 classes (crops of 10×10 IDX images), its shards as initialised, two
/// epochs of metrics with a learning-rate drop between them, logged steps and a profile.
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

    /// Writes the data set and the run under `root`; returns the run directory.
    static func make(in root: String) throws -> String {
        let data = root + "/data", run = root + "/run"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: run + "/model", withIntermediateDirectories: true)
        var rng = RandomStream(seed: 5, .test, 2)
        for (stem, count) in [("train", 40), ("t10k", 12)] {
            let labels = (0..<count).map { UInt8($0 % 4) }
            // Each class a bright square in its own corner, plus noise: the pictures differ by class.
            var px = [UInt8]()
            for i in 0..<count {
                let c = i % 4
                for y in 0..<10 { for x in 0..<10 {
                    let inside = (y < 5) == (c < 2) && (x < 5) == (c % 2 == 0)
                    px.append(UInt8(min(255, (inside ? 200 : 20) + rng.below(40))))
                } }
            }
            try Data(idx([count, 10, 10], px)).write(to: URL(fileURLWithPath: "\(data)/\(stem)-images-idx3-ubyte"))
            try Data(idx([count], labels)).write(to: URL(fileURLWithPath: "\(data)/\(stem)-labels-idx1-ubyte"))
        }
        try config.replacingOccurrences(of: "DATA", with: data).write(toFile: run + "/config.yaml", atomically: true, encoding: .utf8)
        try "ranks: 1\ngroups: 2\n".write(toFile: run + "/run.yaml", atomically: true, encoding: .utf8)
        try """
            \(EpochMetrics.csvHeader)
            1,5,1.300000,0.600000,0.000000,0.500000,0.000000,0.01,100.0,1.00
            2,5,1.100000,0.400000,0.000000,0.250000,0.000000,0.001,100.0,1.00

            """.write(toFile: run + "/metrics.csv", atomically: true, encoding: .utf8)
        try "step,epoch,loss,top1_error,top5_error,learning_rate\n2,1,1.4,0.5,0,0.01\n5,1,1.2,0.5,0,0.01\n8,2,1.1,0.4,0,0.001\n10,2,1.0,0.3,0,0.001\n"
            .write(toFile: run + "/steps.csv", atomically: true, encoding: .utf8)

        let cfg = try RunConfig.load(run + "/config.yaml")
        let spec = try cfg.model.spec()
        let network = try Network(spec: spec, batch: 8, placement: Placement(groups: 2, ranks: 1, rank: 0),
                                  comm: LocalCommunicator(), seed: 1)
        for g in 0..<2 {
            try ModelFile.write(network.parameters(group: g), spec: spec, group: g, to: ModelFile.path(directory: run + "/model", group: g))
        }
        for s in 0..<2 { try trainingStep(network, sgd: SGD(momentum: 0.9, weightDecay: 0), learningRate: 0, globalStep: s) {} }
        let report = try ProfileReport.gather(network.profile, comm: LocalCommunicator(), config: "tiny", batch: 8, groups: 2, alone: [])!
        try report.json().write(toFile: run + "/profile.json", atomically: true, encoding: .utf8)
        return run
    }
}
