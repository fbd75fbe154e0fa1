import _TestSupport
import AlexNetCore
import AlexNetLayers
import XCTest

final class ModelSpecTests: XCTestCase {
    // The paper's AlexNet is written out by hand in _TestSupport (`paperAlexNet`).

    func testPaperAlexNetCounts() throws {
        let spec = paperAlexNet()
        XCTAssertEqual(try spec.parameterCount(), 60_965_224)
        XCTAssertEqual(try spec.multiplyAddsPerImage(), 724_406_816)
    }

    /// One group: conv2, conv4, conv5 see all the previous layer's maps (the 62.4M-parameter single tower).
    func testOneGroupAlexNetCounts() throws {
        let spec = paperAlexNet(groups: 1)
        XCTAssertEqual(try spec.parameterCount(), 62_378_344)
        XCTAssertEqual(try spec.multiplyAddsPerImage(), 1_135_256_096)
        XCTAssertTrue(try spec.plan().allSatisfy { !$0.exchange }, "one group has nothing to exchange")
    }

    func testPaperAlexNetPlan() throws {
        let plan = try paperAlexNet().plan()
        XCTAssertEqual(plan.map(\.spec.name), ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"])
        XCTAssertEqual(plan.map(\.inChannels), [3, 48, 256, 192, 192, 256, 4096, 4096])
        XCTAssertEqual(plan.map(\.outChannels), [48, 128, 192, 192, 128, 2048, 2048, 500])
        XCTAssertEqual(plan.map(\.inHeight), [227, 27, 13, 13, 13, 6, 1, 1])
        XCTAssertEqual(plan.map(\.outHeight), [55, 27, 13, 13, 13, 1, 1, 1])
        XCTAssertEqual(plan.map(\.pooledHeight), [27, 13, 13, 13, 6, 1, 1, 1])
        XCTAssertEqual(plan.map(\.exchange), [false, false, true, false, false, true, true, true])
        XCTAssertEqual(plan.map(\.fanIn), [363, 1200, 2304, 1728, 1728, 9216, 4096, 4096])
        XCTAssertEqual(plan[4].outputPerImage, 128 * 6 * 6)
        XCTAssertEqual(plan[0].multiplyAddsPerGroup, 48 * 363 * 55 * 55)
    }

    /// `plan()` throws a `ModelSpecError` whose message names the layer (and, when given, the key).
    func assertPlanThrows(_ spec: ModelSpec, naming name: String, key: String? = nil, _ what: String,
                          file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try spec.plan(), what, file: file, line: line) { error in
            guard let e = error as? ModelSpecError else {
                return XCTFail("\(what): threw \(type(of: error)), not ModelSpecError", file: file, line: line)
            }
            XCTAssertTrue(e.description.contains("(\(name))"), "\(what): message does not name \(name): \(e.description)",
                          file: file, line: line)
            if let key {
                XCTAssertTrue(e.description.contains("(\(name)).\(key)"), "\(what): message does not name \(name).\(key): \(e.description)",
                              file: file, line: line)
            }
        }
    }

    func testKernelsNotDivisibleByGroups() {
        var spec = paperAlexNet()
        spec.layers[1].outputs = 255
        assertPlanThrows(spec, naming: "conv2", key: "kernels", "255 kernels in 2 groups")
        spec = paperAlexNet()
        spec.layers[6].outputs = 4095
        assertPlanThrows(spec, naming: "fc7", "4095 neurons in 2 groups")
    }

    func testKernelThatDoesNotFit() {
        var spec = paperAlexNet()
        spec.layers[4].size = 17  // 13 + 2·1 < 17
        assertPlanThrows(spec, naming: "conv5", key: "size", "a 17×17 kernel on a 13×13 map")
        // One pixel short on a layer without pooling: (13 − 14)/2 truncates to 0, so the output
        // size alone would say 1×1 and the error would surface later, at conv5's pool.
        spec = paperAlexNet()
        spec.layers[2].size = 14; spec.layers[2].stride = 2; spec.layers[2].pad = 0
        assertPlanThrows(spec, naming: "conv3", key: "size", "a 14×14 kernel on a 13×13 map")
        spec = paperAlexNet()
        spec.inputHeight = 10; spec.inputWidth = 10
        assertPlanThrows(spec, naming: "conv1", key: "size", "an 11×11 kernel on a 10×10 image")
    }

    func testOtherInvalidSpecs() {
        var spec = paperAlexNet()
        spec.inputHeight = 13; spec.inputWidth = 13  // conv1 gives 1×1, too small for the 3×3 pool
        assertPlanThrows(spec, naming: "conv1", key: "pool", "a pool that does not fit")
        spec = paperAlexNet()
        spec.layers[7].outputs = 998
        assertPlanThrows(spec, naming: "fc8", key: "outputs", "998 logits for 1000 classes")
        spec = paperAlexNet()
        spec.layers.swapAt(4, 5)
        assertPlanThrows(spec, naming: "conv5", "a convolution after a fully connected layer")
        spec = paperAlexNet()
        spec.layers[7].relu = true
        XCTAssertThrowsError(try spec.plan(), "ReLU on the logits")
        spec = paperAlexNet()
        spec.layers[5].dropout = 1
        assertPlanThrows(spec, naming: "fc6", key: "dropout", "dropout 1")
        spec = paperAlexNet()
        spec.groups = 0
        XCTAssertThrowsError(try spec.plan(), "zero groups")
    }
}
