import AlexNetCore
import _TestSupport
import AlexNetData
import AlexNetLayers
import AlexNetTraining
import Foundation
import XCTest

/// The shipped configs load with the paper's counts; every bad config is refused with a
/// one-line message naming the file and the offending key.
final class ConfigTests: XCTestCase {
    func testShippedConfigsLoad() throws {
        for name in ["fashion-mnist", "fashion-mnist-onegroup", "alexnet", "alexnet-onegroup", "cifar10"] {
            let path = configPath(name)
            XCTAssertNoThrow(try RunConfig.load(path), path)
            let config = try RunConfig.load(path)
            XCTAssertEqual(config.name, name)
            XCTAssertEqual(config.data.crop, config.model.inputHeight, name)
        }
        let fm = try RunConfig.load(configPath("fashion-mnist"))
        XCTAssertEqual(fm.model.groups, 2)
        XCTAssertEqual(fm.model.classes, 10)
        XCTAssertEqual(fm.model.layers.map(\.name), ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"])
        XCTAssertEqual(fm.train.momentum, 0.9)
        XCTAssertEqual(fm.train.weightDecay, 0.0005)
        XCTAssertEqual(fm.train.schedule.type, .plateau)
        XCTAssertEqual(fm.train.schedule.maxDrops, 3)
        XCTAssertEqual(fm.data.augmentation, Augmentation(crop: 24, flip: true, scale: Float(0.00392156862745098), subtractMean: true))
    }

    func testDataSourcesAndAugmentationSwitches() throws {
        let alex = try RunConfig.load(configPath("alexnet"))
        XCTAssertEqual(alex.data.source, .prepared)
        XCTAssertEqual(alex.data.augmentation, Augmentation(crop: 227, flip: true, scale: 1, subtractMean: true, randomCrop: true,
                                                            pcaColour: true, pcaStd: 0.1))
        let cifar = try RunConfig.load(configPath("cifar10"))
        XCTAssertEqual(cifar.data.source, .cifar10)
        XCTAssertEqual(cifar.model.inputChannels, 3)
        XCTAssertEqual(cifar.data.crop, 24)
        // Switches off, for ablations; the defaults of absent keys.
        let off = try RunConfig.parse(try modified("  mean_image: true", "  mean_image: false\n  random_crop: false"), file: "off.yaml")
        XCTAssertEqual(off.data.augmentation, Augmentation(crop: 24, flip: true, scale: Float(0.00392156862745098), subtractMean: false,
                                                           randomCrop: false, pcaColour: false, pcaStd: 0.1))
        // Written and read back (a run directory's config.yaml).
        XCTAssertEqual(try RunConfig.parse(try alex.yaml(), file: "again.yaml"), alex)
    }

    func testBadDataKeysAreRefused() throws {
        assertRefused(try modified("source: idx", "source: jpeg"), mentions: ["data.source", "jpeg", "idx, prepared, cifar10"])
        assertRefused(try modified("  mean_image: true", "  mean_image: true\n  pca_colour: true"), mentions: ["data.pca_colour", "RGB"])
        assertRefused(try modified("  mean_image: true", "  mean_image: true\n  pca_colour_std: -1"), mentions: ["data.pca_colour_std"])
        assertRefused(try modified("  mean_image: true", "  mean_image: true\n  pca: true"), mentions: ["data.pca", "unknown key", "pca_colour"])
    }

    /// The paper's net: 60,965,224 parameters and 724,406,816 multiply-adds per image
    /// (worked out layer by layer in the comments below).
    func testAlexNetCountsMatchThePaper() throws {
        let spec = try RunConfig.load(configPath("alexnet")).model
        // conv1 96·363+96 = 34,944; conv2 256·1200+256 = 307,456; conv3 384·2304+384 = 885,120;
        // conv4 384·1728+384 = 663,936; conv5 256·1728+256 = 442,624; fc6 4096·9216+4096 = 37,752,832;
        // fc7 4096·4096+4096 = 16,781,312; fc8 1000·4096+1000 = 4,097,000.
        XCTAssertEqual(try spec.parameterCount(), 60_965_224)
        // conv1 34,848·55² + conv2 256·1200·27² + conv3 884,736·13² + conv4 663,552·13²
        // + conv5 442,368·13² + fc 37,748,736 + 16,777,216 + 4,096,000.
        XCTAssertEqual(try spec.multiplyAddsPerImage(), 724_406_816)
        let plans = try spec.plan()
        XCTAssertEqual(plans.map { "\($0.pooledHeight)" }, ["27", "13", "13", "13", "6", "1", "1", "1"])
        XCTAssertEqual(plans.map(\.exchange), [false, false, true, false, false, true, true, true])
    }

    func testOneGroupAlexNetHasAboutTheSameParameters() throws {
        let two = try RunConfig.load(configPath("alexnet")).model.parameterCount()
        let one = try RunConfig.load(configPath("alexnet-onegroup")).model.parameterCount()
        XCTAssertEqual(Double(one), Double(two), accuracy: 0.1 * Double(two), "one-group \(one) vs two-group \(two)")
        // conv1 48·363+48 = 17,472; conv2 128·1200+128 = 153,728; conv3 192·1152+192 = 221,376;
        // conv4 192·1728+192 = 331,968; conv5 256·1728+256 = 442,624; FC as in the two-group net.
        XCTAssertEqual(one, 59_798_312)
    }

    // MARK: Refusals

    /// The small config's text, with `old` replaced by `new` (failing if `old` is not in it).
    func modified(_ old: String, _ new: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let text = try String(contentsOfFile: configPath("fashion-mnist"), encoding: .utf8)
        XCTAssertTrue(text.contains(old), "configs/fashion-mnist.yaml no longer contains \"\(old)\"", file: file, line: line)
        return text.replacingOccurrences(of: old, with: new)
    }

    /// Fails unless parsing `text` throws a `ConfigError` whose one-line message names the file
    /// and contains each of `mentions`.
    func assertRefused(_ text: String, mentions: [String], file: StaticString = #filePath, line: UInt = #line) {
        let name = "edited.yaml"
        do {
            let config = try RunConfig.parse(text, file: name)
            XCTFail("accepted: \(config)", file: file, line: line)
        } catch let error as ConfigError {
            let message = error.description
            XCTAssertFalse(message.contains("\n"), "not one line: \(message)", file: file, line: line)
            XCTAssertTrue(message.contains(name), "does not name the file: \(message)", file: file, line: line)
            for m in mentions {
                XCTAssertTrue(message.contains(m), "does not mention \"\(m)\": \(message)", file: file, line: line)
            }
        } catch {
            XCTFail("expected a ConfigError, got \(type(of: error)): \(error)", file: file, line: line)
        }
    }

    func testUnmodifiedTextParses() throws {
        XCTAssertNoThrow(try RunConfig.parse(try modified("name:", "name:"), file: "same.yaml"))
    }

    func testUnknownTopLevelKeyIsRefused() throws {
        assertRefused(try modified("name: fashion-mnist\n", "name: fashion-mnist\ncolour: red\n"), mentions: ["colour", "unknown key"])
    }

    func testUnknownKeyInsideALayerIsRefused() throws {
        assertRefused(try modified("{name: conv1, type: conv,", "{name: conv1, type: conv, kernel_size: 5,"),
                      mentions: ["kernel_size", "layers"])
    }

    func testConvLayerWithOutputsInsteadOfKernelsIsRefused() throws {
        assertRefused(try modified("{name: conv1, type: conv, kernels: 64,", "{name: conv1, type: conv, kernels: 64, outputs: 64,"),
                      mentions: ["conv1", "outputs"])
    }

    func testStringWhereAnIntIsExpectedIsRefused() throws {
        assertRefused(try modified("kernels: 64,", "kernels: lots,"), mentions: ["kernels"])
        assertRefused(try modified("batch: 128", "batch: many"), mentions: ["batch"])
    }

    func testKernelsNotDivisibleByGroupsAreRefused() throws {
        assertRefused(try modified("kernels: 64,", "kernels: 63,"), mentions: ["kernels", "conv1", "63"])
    }

    func testNegativeLearningRateIsRefused() throws {
        assertRefused(try modified("lr: 0.01", "lr: -0.01"), mentions: ["train.lr"])
    }

    func testKernelThatDoesNotFitIsRefused() throws {
        // A 30×30 kernel without padding on a 24×24 image.
        assertRefused(try modified("kernels: 64,  size: 5, stride: 1, pad: 2", "kernels: 64,  size: 30, stride: 1, pad: 0"),
                      mentions: ["conv1", "size", "30"])
    }

    func testCropDifferentFromTheModelInputIsRefused() throws {
        assertRefused(try modified("crop: 24", "crop: 20"), mentions: ["data.crop", "20"])
    }

    func testMomentumOfOneOrMoreIsRefused() throws {
        assertRefused(try modified("momentum: 0.9", "momentum: 1.0"), mentions: ["train.momentum"])
        assertRefused(try modified("momentum: 0.9", "momentum: 1.5"), mentions: ["train.momentum"])
    }

    func testMissingFileIsRefused() {
        let path = (packageRoot as NSString).appendingPathComponent("configs/no-such-config.yaml")
        XCTAssertThrowsError(try RunConfig.load(path)) { error in
            XCTAssertTrue(error is ConfigError, "\(type(of: error))")
            XCTAssertTrue("\(error)".contains(path), "\(error)")
            XCTAssertTrue("\(error)".contains("no such file"), "\(error)")
        }
    }

    func testDeviceKeysAreChecked() throws {
        var text = try String(contentsOfFile: configPath("alexnet"), encoding: .utf8)
        text += "device:\n  conv_efficiency: 1.5\n"
        XCTAssertThrowsError(try RunConfig.parse(text, file: "x.yaml")) { XCTAssertTrue("\($0)".contains("device.conv_efficiency"), "\($0)") }
        text = text.replacingOccurrences(of: "conv_efficiency: 1.5", with: "tflops: 2")
        XCTAssertThrowsError(try RunConfig.parse(text, file: "x.yaml")) { XCTAssertTrue("\($0)".contains("device.tflops: unknown key"), "\($0)") }
    }

    /// The hand-written fixtures the lower modules' tests use are the shipped configs' models.
    func testTheFixturesAreTheShippedConfigs() throws {
        XCTAssertEqual(try RunConfig.load(configPath("alexnet")).model, paperAlexNet())
        XCTAssertEqual(try RunConfig.load(configPath("fashion-mnist")).model, fashionMNISTNet())
    }
}
