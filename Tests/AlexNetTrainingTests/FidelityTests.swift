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

    // MARK: Departures

    func departures(_ text: String, twin: RunConfig? = nil) throws -> [Departure] {
        try Fidelity.departures(of: RunConfig.parse(text, file: "f.yaml"), twin: twin)
    }

    /// Each shipped config departs from the paper only where its `departures:` says, and says
    /// nothing it does not need: the paper's nets not at all.
    func testShippedConfigsDepartOnlyWhereTheyDeclare() throws {
        let small = ["untiled", "init", "crop", "scale"]
        let expected: [String: [String]] = ["alexnet": [], "alexnet-onegroup": [], "fashion-mnist": small,
                                            "fashion-mnist-onegroup": small, "cifar10": small + ["pca_colour"]]
        for (name, ids) in expected {
            let path = configPath(name)
            let config = try RunConfig.load(path)
            let twin = try Fidelity.twinPath(of: config, at: path).map { try RunConfig.load($0) }
            XCTAssertEqual(twin?.name, name.hasSuffix("-onegroup") ? String(name.dropLast(9)) : nil, name)
            let found = try Fidelity.departures(of: config, twin: twin)
            XCTAssertEqual(found.map(\.id.rawValue), ids, name)
            for d in found { XCTAssertTrue(d.declared != nil && !d.isError && !d.isUndeclaredChoice, d.line) }
            XCTAssertEqual(config.departures.keys.sorted(), ids.sorted(), "\(name) declares what it does not do")
        }
    }

    /// `input: 224` made conv1 54×54 and dropped a row and a column at four windows; refused
    /// unless declared, pointing at the 227 convention.
    func testInput224DoesNotTileAndIsRefusedUnlessDeclared() throws {
        let text = try edited("alexnet", ("height: 227, width: 227", "height: 224, width: 224"), ("crop: 227 ", "crop: 224 "))
        let found = try departures(text)
        XCTAssertEqual(found.map(\.id), [.untiled, .untiled, .untiled, .untiled])
        XCTAssertEqual(found.map(\.key), ["model.layers[0] (conv1).size", "model.layers[0] (conv1).pool", "model.layers[1] (conv2).pool",
                                          "model.layers[4] (conv5).pool"])
        XCTAssertTrue(found.allSatisfy(\.isError))
        XCTAssertEqual(found[0].message, "model.layers[0] (conv1).size: an 11×11 kernel at stride 4 leaves the last row and column of its 224×224 input unread (54×54 out); the paper: every window tiles its map exactly, 227 → 55 → 27 → 13 → 6 (the paper's 224 only as 227: (227 − 11)/4 + 1 = 55, Caffe's convention) — refused unless declared (departures: {untiled: \"why\"})")
        XCTAssertEqual(found[3].config, "a 3×3 pool at stride 2 leaves the last row and column of its 12×12 map unread (5×5 out)")
        let declared = try departures(text + "departures:\n  untiled: \"224 as the paper writes it\"\n")
        XCTAssertEqual(declared.map(\.declared), Array(repeating: "224 as the paper writes it", count: 4))
        XCTAssertFalse(declared.contains(where: \.isError))
        XCTAssertTrue(declared[0].line.hasPrefix("declared [untiled] model.layers[0] (conv1).size: "), declared[0].line)
        XCTAssertTrue(declared[0].line.hasSuffix(" — declared: 224 as the paper writes it"), declared[0].line)
    }

    /// Compared by position: conv3 reads every group, conv2, conv4 and conv5 their own.
    func testSeesOtherThanThePapersIsADeparture() throws {
        let own = try departures(try edited("alexnet", ("pad: 1, sees: all}", "pad: 1, sees: own}")))
        XCTAssertEqual(own.map(\.message), ["model.layers[2] (conv3).sees: own; the paper: all: the paper's conv3 reads every GPU's maps — not declared (departures: {sees: \"why\"})"])
        XCTAssertFalse(own[0].isError)
        let all = try departures(try edited("alexnet", ("pad: 2, sees: own,", "pad: 2, sees: all,")))
        XCTAssertEqual(all.map(\.key), ["model.layers[1] (conv2).sees"])
        XCTAssertEqual(all.first?.paper, "own: the paper's conv2 reads only its own GPU's maps")
    }

    func testDropoutRemovedOrChangedIsADeparture() throws {
        let found = try departures(try edited("alexnet", ("{name: fc6, type: fc, outputs: 4096, dropout: 0.5, bias: 1}", "{name: fc6, type: fc, outputs: 4096, bias: 1}"),
                                              ("{name: fc7, type: fc, outputs: 4096, dropout: 0.5,", "{name: fc7, type: fc, outputs: 4096, dropout: 0.3,")))
        XCTAssertEqual(found.map(\.id), [.dropout, .dropout])
        XCTAssertEqual(found.map(\.key), ["model.layers[5] (fc6).dropout", "model.layers[6] (fc7).dropout"])
        XCTAssertEqual(found.map(\.config), ["none", "0.3"])
        XCTAssertEqual(found[0].paper, "dropout 0.5 in fc6 and fc7, none elsewhere")
    }

    func testABiasMissingOrChangedIsADeparture() throws {
        let found = try departures(try edited("alexnet", ("sees: own, bias: 1}\n    - {name: conv5", "sees: own}\n    - {name: conv5"),
                                              ("{name: fc6, type: fc, outputs: 4096, dropout: 0.5, bias: 1}", "{name: fc6, type: fc, outputs: 4096, dropout: 0.5, bias: 0.1}"),
                                              ("pad: 1, sees: all}", "pad: 1, sees: all, bias: 1}")))
        XCTAssertEqual(found.map(\.key), ["model.layers[2] (conv3).bias", "model.layers[3] (conv4).bias", "model.layers[5] (fc6).bias"])
        XCTAssertEqual(found.map(\.config), ["1", "0", "0.1"])
        XCTAssertEqual(found[1].paper, "bias 1 in conv4 (1 in conv2, conv4, conv5, fc6 and fc7, 0 elsewhere)")
    }

    func testLRNMissingOrChangedIsADeparture() throws {
        let found = try departures(try edited("alexnet", ("sees: own, lrn: true,", "sees: own, lrn: false,")))
        XCTAssertEqual(found.map(\.key), ["model.layers[1] (conv2).lrn"])
        XCTAssertEqual(found.first?.paper, "LRN after conv1 and conv2 only")
        let k = try departures(try edited("alexnet", ("lrn: {k: 2,", "lrn: {k: 1,")))
        XCTAssertEqual(k.map(\.config), ["k 1, n 5, α 0.0001, β 0.75"])
    }

    /// Caffe and PyTorch divide α by n: 2e-5 is the paper's 1e-4 written in their convention
    /// (and 5e-4 their value for the paper's layer), which this project would apply undivided.
    func testAnAlphaInTheDividedConventionIsNamed() throws {
        let divided = try departures(try edited("alexnet", ("alpha: 1.0e-4", "alpha: 2.0e-5")))
        XCTAssertEqual(divided.map(\.message), ["model.lrn: k 2, n 5, α 2e-05, β 0.75 (α looks divided by n, Caffe's and PyTorch's convention: here α is not divided by n); the paper: k 2, n 5, α 1e-4 (not divided by n), β 0.75 — not declared (departures: {lrn: \"why\"})"])
        let theirs = try departures(try edited("alexnet", ("alpha: 1.0e-4", "alpha: 5.0e-4")))
        XCTAssertEqual(theirs.map(\.config), ["k 2, n 5, α 0.0005, β 0.75 (α looks like Caffe's and PyTorch's value for the paper's layer, which they divide by n: here give 1e-4)"])
    }

    /// Pooling 2/2 is not overlapping, and on the paper's maps it does not tile either.
    func testPoolTwoByTwoIsADeparture() throws {
        let found = try departures(try edited("alexnet", ("pool: {size: 3, stride: 2}", "pool: {size: 2, stride: 2}")))
        XCTAssertEqual(found.map(\.id), [.untiled, .untiled, .untiled, .pool])
        XCTAssertEqual(found.last?.message, "model.pool: size 2, stride 2; the paper: overlapping max pooling, size 3, stride 2 — not declared (departures: {pool: \"why\"})")
        let moved = try departures(try edited("alexnet", ("sees: own, pool: true, bias: 1}", "sees: own, bias: 1}")))
        XCTAssertEqual(moved.map(\.key), ["model.layers[4] (conv5).pool"])
    }

    func testPCAColourOffOnThreeChannelsIsADeparture() throws {
        let off = try departures(try edited("alexnet", ("pca_colour: true ", "pca_colour: false ")))
        XCTAssertEqual(off.map(\.message), ["data.pca_colour: false; the paper: PCA colour augmentation, αᵢ ~ N(0, 0.1) per image — not declared (departures: {pca_colour: \"why\"})"])
        let std = try departures(try edited("alexnet", ("pca_colour_std: 0.1", "pca_colour_std: 0.2")))
        XCTAssertEqual(std.map(\.key), ["data.pca_colour_std"])
        // Greyscale input has no colour to augment.
        XCTAssertFalse(try departures(try edited("fashion-mnist")).contains { $0.id == .pcaColour })
    }

    func testHeInitUndeclaredIsAChoiceNotAnError() throws {
        let found = try departures(try edited("alexnet", ("init: paper", "init: he")))
        XCTAssertEqual(found.map(\.message), ["model.init: he: He-normal weights N(0, 2/fan-in), biases of 1 set to 0.1; the paper: weights N(0, 0.01), biases 1 in conv2, conv4, conv5, fc6 and fc7, 0 elsewhere — not declared (departures: {init: \"why\"})"])
        XCTAssertTrue(found[0].isUndeclaredChoice)
        XCTAssertEqual(found[0].line, "choice [init] " + found[0].message)
    }

    func testCropScaleAndTheUpdateRuleAgainstThePaper() throws {
        let data = try departures(try edited("alexnet", ("random_crop: true", "random_crop: false"), ("flip: true", "flip: false"),
                                             ("scale: 1 ", "scale: 0.5 "), ("mean_image: true", "mean_image: false")))
        XCTAssertEqual(data.map(\.key), ["data.random_crop", "data.flip", "data.mean_image", "data.scale"])
        XCTAssertEqual(data.map(\.id), [.crop, .flip, .meanImage, .scale])
        let train = try departures(try edited("alexnet", ("batch: 128", "batch: 256"), ("lr: 0.01", "lr: 0.02"), ("momentum: 0.9", "momentum: 0.95"),
                                              ("weight_decay: 0.0005", "weight_decay: 0.001"), ("type: plateau", "type: fixed")))
        XCTAssertEqual(train.map(\.id), [.batch, .lr, .momentum, .weightDecay, .schedule])
        XCTAssertEqual(train.map(\.config), ["256", "0.02", "0.95", "0.001", "fixed"])
    }

    /// A one-group net is the paper's only as its comparison net: named `<twin>-onegroup`, half
    /// the kernels of `<twin>` in conv1–conv4, conv5 and the FC layers full.
    func testTheOneGroupRule() throws {
        let twin = try RunConfig.load(configPath("alexnet"))
        let halved = try edited("alexnet-onegroup", ("kernels: 256, size: 3", "kernels: 128, size: 3"), ("kernels: 48,", "kernels: 96,"))
        let found = try departures(halved, twin: twin)
        XCTAssertEqual(found.map(\.key), ["model.layers[0] (conv1).kernels", "model.layers[4] (conv5).kernels"])
        XCTAssertEqual(found.map(\.config), ["96", "128"])
        XCTAssertEqual(found[1].paper, "256 (alexnet has 256): the one-GPU net is the two-GPU net (here alexnet) with half the kernels in conv1–conv4, conv5 and the FC layers full, trained alike")
        XCTAssertEqual(try departures(halved), [], "without its two-group net the rule is not checked")
        let trainedOtherwise = try departures(try edited("alexnet-onegroup", ("lr: 0.01", "lr: 0.02")), twin: twin)
        XCTAssertEqual(trainedOtherwise.map(\.key), ["train", "train.lr"])
        XCTAssertEqual(trainedOtherwise.first?.config, "other than alexnet's")
        // Named otherwise, one group is not the paper's.
        let single = try departures(try edited("alexnet-onegroup", ("name: alexnet-onegroup", "name: single")), twin: twin)
        XCTAssertEqual(single.map(\.message), ["model.groups: 1 group; the paper: two groups (GPUs), or the one-GPU comparison net (a one-group config named <two-group name>-onegroup) — not declared (departures: {groups: \"why\"})"])
    }

    /// The two-group config is looked for beside the comparison net's file, named after its
    /// `name`; a one-character path is a file in ".", not a trap in Foundation's path code.
    func testTheTwinIsTheConfigBesideItNamedWithoutTheSuffix() throws {
        let one = try RunConfig.load(configPath("fashion-mnist-onegroup"))
        XCTAssertEqual(Fidelity.twinPath(of: one, at: "c"), "./fashion-mnist.yaml")
        XCTAssertEqual(Fidelity.twinPath(of: one, at: "mine/copy.yaml"), "mine/fashion-mnist.yaml")
        XCTAssertEqual(Fidelity.twinPath(of: one, at: "/c.yaml"), "/fashion-mnist.yaml")
        XCTAssertNil(Fidelity.twinPath(of: try RunConfig.load(configPath("fashion-mnist")), at: "c"))
    }

    /// Another shape than 5 conv + 3 fc: said, and the layer-by-layer checks skipped.
    func testAnotherShapeSkipsTheLayerChecksAndSaysSo() throws {
        let found = try departures(try edited("fashion-mnist", ("    - {name: conv4, type: conv, kernels: 192, size: 3, stride: 1, pad: 1, sees: own, bias: 1}\n", "")))
        XCTAssertEqual(found.map(\.id), [.untiled, .shape, .initScheme, .crop, .scale])
        XCTAssertEqual(found[1].message, "model.layers: 4 conv + 3 fc layers (the layer-by-layer checks are skipped); the paper: 5 conv + 3 fc layers — not declared (departures: {shape: \"why\"})")
    }

    // MARK: The departures: section

    func testAnUnknownDepartureIsRefused() throws {
        assertRefused(try edited("fashion-mnist") + "  colour: \"why not\"\n",
                      "departures.colour: unknown departure (expected one of: untiled, shape, groups, onegroup, sees, relu, lrn, pool, dropout, bias, init, crop, flip, scale, mean_image, pca_colour, batch, lr, momentum, weight_decay, schedule)")
        assertRefused(try edited("fashion-mnist", ("  crop: \"24x24 crops of the 28x28 Fashion-MNIST images\"", "  crop: \" \"")),
                      "departures.crop: give the reason for this departure on one line of text")
        assertRefused(try edited("fashion-mnist", ("  crop: \"24x24 crops of the 28x28 Fashion-MNIST images\"", "  crop: \"two\\nlines\"")),
                      "departures.crop: give the reason for this departure on one line of text")
        let text = try edited("fashion-mnist") + "  init: \"again\"\n"
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let first = lines.firstIndex { $0.hasPrefix("  init: \"He init") }! + 1
        assertRefused(text, "departures.init: given twice (lines \(first) and \(lines.count - 1)); give each key once")
    }

    /// The run directory's config.yaml keeps the declarations (sorted by id), so a resumed run
    /// is checked against what its config meant.
    func testDeclarationsSurviveTheRunDirectory() throws {
        let config = try RunConfig.load(configPath("fashion-mnist"))
        let yaml = try config.yaml()
        XCTAssertTrue(yaml.contains("departures:\n  crop: 24x24 crops of the 28x28 Fashion-MNIST images\n  init: "), yaml)
        XCTAssertEqual(try RunConfig.parse(yaml, file: "config.yaml"), config)
        XCTAssertFalse(try RunConfig.load(configPath("alexnet")).yaml().contains("departures"))
    }
}
