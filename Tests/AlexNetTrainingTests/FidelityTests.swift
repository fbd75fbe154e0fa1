import _TestSupport
import AlexNetCore
import AlexNetLayers
import AlexNetTraining
import Foundation
import XCTest

/// The ways a config could build a net other than the paper's without notice: each is refused in
/// one line naming the key, or reported as a departure (`Fidelity`), quiet only when declared.
final class FidelityTests: XCTestCase {
    /// A shipped config's text with each `(old, new)` replaced (failing if `old` is not in it).
    func edited(_ name: String, _ edits: (String, String)..., file: StaticString = #filePath, line: UInt = #line) throws -> String {
        var text = try String(contentsOfFile: configPath(name), encoding: .utf8)
        for (old, new) in edits {
            XCTAssertTrue(text.contains(old), "configs/\(name).yaml no longer contains \"\(old)\"", file: file, line: line)
            text = text.replacingOccurrences(of: old, with: new)
        }
        return text
    }

    /// Fails unless parsing `text` is refused with exactly `message` (after "config f.yaml: ").
    func assertRefused(_ text: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try RunConfig.parse(text, file: "f.yaml"), file: file, line: line) { error in
            XCTAssertTrue(error is ConfigError, "\(type(of: error)): \(error)", file: file, line: line)
            XCTAssertEqual("\(error)", "config f.yaml: " + message, file: file, line: line)
        }
    }

    // MARK: Refused whatever is declared

    /// conv3 of a two-group net without `sees` silently read only its own group's maps.
    func testAConvWithoutSeesInATwoGroupNetIsRefused() throws {
        assertRefused(try edited("alexnet", ("pad: 1, sees: all}", "pad: 1}")),
                      "model.layers[2] (conv3).sees: required after the first layer in a model of 2 groups: own (its group's maps only, as the paper's conv2, conv4, conv5) or all (every group's, as conv3)")
        assertRefused(try edited("fashion-mnist", ("pad: 2, sees: own, lrn", "pad: 2, lrn")),
                      "model.layers[1] (conv2).sees: required after the first layer in a model of 2 groups: own (its group's maps only, as the paper's conv2, conv4, conv5) or all (every group's, as conv3)")
        // One group reads every map either way, and the first layer reads the image: no `sees` needed.
        XCTAssertNoThrow(try RunConfig.parse(try edited("alexnet-onegroup"), file: "f.yaml"))
    }

    /// `he` turned any non-zero bias into 0.1: a 0.5 (or a -1) meant nothing and said nothing.
    func testHeWithABiasOtherThanZeroOrOneIsRefused() throws {
        let message = "model.layers[3] (conv4).bias: init: he reads a bias of 1 as 0.1 and of 0 as 0, so 0.5 has no meaning there: give 0 or 1, or use init: paper, which takes the value as given"
        assertRefused(try edited("fashion-mnist", ("pad: 1, sees: own, bias: 1}\n    - {name: conv5", "pad: 1, sees: own, bias: 0.5}\n    - {name: conv5")), message)
        // Under `paper` the value is the layer's bias, as given.
        let paper = try RunConfig.parse(try edited("fashion-mnist", ("init: he ", "init: paper "),
                                                   ("pad: 1, sees: own, bias: 1}\n    - {name: conv5", "pad: 1, sees: own, bias: 0.5}\n    - {name: conv5")),
                                        file: "f.yaml")
        XCTAssertEqual(paper.model.layers[3].paperBias, 0.5)
    }

    /// Already refused by `ModelSpec.plan()`; kept here with the other refusals.
    func testAFullyConnectedLayerFirstIsRefused() throws {
        assertRefused(try edited("fashion-mnist", ("    - {name: conv1, type: conv, kernels: 64,  size: 5, stride: 1, pad: 2, lrn: true, pool: true}\n", "    - {name: fc0, type: fc, outputs: 64}\n")),
                      "model.layers[0] (fc0): the first layer must be a convolution (a fully connected layer reads another layer's maps)")
    }

    /// `bias: 1` is now written on fc6 and fc7 of every shipped config: the value they took from
    /// the implicit default, so the models are unchanged.
    func testTheExplicitFCBiasesAreTheImplicitDefault() throws {
        for name in ["alexnet", "alexnet-onegroup", "fashion-mnist", "fashion-mnist-onegroup", "cifar10"] {
            let text = try String(contentsOfFile: configPath(name), encoding: .utf8)
            XCTAssertEqual(text.components(separatedBy: "dropout: 0.5, bias: 1}").count - 1, 2, name)
            let implicit = try RunConfig.parse(text.replacingOccurrences(of: "dropout: 0.5, bias: 1}", with: "dropout: 0.5}"), file: name)
            XCTAssertEqual(implicit.model, try RunConfig.load(configPath(name)).model, name)
        }
        XCTAssertEqual(try RunConfig.load(configPath("alexnet")).model.parameterCount(), 60_965_224)
    }
}
