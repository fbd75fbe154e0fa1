import _TestSupport
import AlexNetLayers
import AlexNetTraining
import XCTest

/// The arms `ablate` derives from a config, against configs written by hand.
final class AblationTests: XCTestCase {
    /// The paper's one-group rule, applied to the two-group nets, gives the shipped one-group
    /// configs: half the kernels in conv1–conv4, conv5 and the FC layers full.
    func testTheGroupsStudyDerivesTheOneGroupNets() throws {
        for family in ["fashion-mnist", "alexnet"] {
            let two = try RunConfig.load(configPath(family)), one = try RunConfig.load(configPath(family + "-onegroup"))
            let arms = try AblationStudy.groups.arms(of: two)
            XCTAssertEqual(arms.paper, two)
            XCTAssertEqual(arms.ablated.model, one.model, family)
            XCTAssertEqual(arms.ablated.name, family + "-onegroup")
        }
        XCTAssertThrowsError(try AblationStudy.groups.arms(of: try RunConfig.load(configPath("fashion-mnist-onegroup")))) {
            XCTAssertTrue("\($0)".hasPrefix("ablate --study groups: the config has one group"), "\($0)")
        }
    }

    func testEachStudyChangesOnlyItsChoice() throws {
        let base = try RunConfig.load(configPath("fashion-mnist"))
        let lrn = try AblationStudy.lrn.arms(of: base).ablated
        XCTAssertEqual(lrn.model.layers.filter(\.lrn).count, 0)
        XCTAssertEqual(lrn.model.layers.map(\.outputs), base.model.layers.map(\.outputs))
        XCTAssertEqual(lrn.data, base.data); XCTAssertEqual(lrn.train, base.train)
        let overlap = try AblationStudy.overlap.arms(of: base).ablated
        XCTAssertEqual(overlap.model.pool, PoolParameters(size: 2, stride: 2))
        // The maps after pooling are recomputed: 24 → 12 → 6 → 3, so fc6 reads 128×3×3.
        XCTAssertEqual(try overlap.model.plan()[5].fanIn, 128 * 3 * 3)
        let dropout = try AblationStudy.dropout.arms(of: base).ablated
        XCTAssertEqual(dropout.model.layers.map(\.dropout), [0, 0, 0, 0, 0, 0, 0, 0])
        let views = try AblationStudy.views.arms(of: base)
        XCTAssertEqual(views.paper, views.ablated)
    }

    func testThePCAStudyNeedsColour() throws {
        XCTAssertThrowsError(try AblationStudy.pca.arms(of: try RunConfig.load(configPath("fashion-mnist")))) {
            XCTAssertEqual("\($0)", "ablate --study pca: the data has no colour (1 channel, source idx): run it on colour images, e.g. configs/cifar10.yaml")
        }
        let cifar = try RunConfig.load(configPath("cifar10"))
        let arms = try AblationStudy.pca.arms(of: cifar)
        XCTAssertTrue(arms.paper.data.pcaColour); XCTAssertFalse(arms.ablated.data.pcaColour)
    }
}
