import _TestSupport
import AlexNetReport
import AlexNetTraining
import Foundation
import XCTest

/// `compare` shows the 1-view and 10-view test errors that `eval --views 10` recorded.
final class CompareViewsTests: XCTestCase {
    func makeRun(_ dir: String, views: [Evaluation]?, row: String = "1,100,0.5,0.2,0.01,0.2,0.01,0.01,500,60") throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: configPath("fashion-mnist"), toPath: dir + "/config.yaml")
        try (EpochMetrics.csvHeader + "\n" + row + "\n").write(toFile: dir + "/metrics.csv", atomically: true, encoding: .utf8)
        if let views {
            try (Evaluation.csvHeader + "\n" + views.map { $0.csvRow + "\n" }.joined()).write(toFile: dir + "/" + Evaluation.fileName, atomically: true, encoding: .utf8)
        }
    }

    func testCompareReportsBothViewCounts() throws {
        let dir = try makeScratchDirectory(self)
        try makeRun(dir + "/a", views: [Evaluation(views: 1, top1: 0.2079, top5: 0.0043, loss: 0.5381),
                                        Evaluation(views: 10, top1: 0.2038, top5: 0.0046, loss: 0.5243)])
        try makeRun(dir + "/b", views: [Evaluation(views: 1, top1: 0.2179, top5: 0.0053, loss: 0.5),
                                        Evaluation(views: 10, top1: 0.2138, top5: 0.0056, loss: 0.5)])
        let table = compareTable([try RunRecord.load(dir + "/a"), try RunRecord.load(dir + "/b")])
        // Means over the two runs: (20.79 + 21.79) / 2 = 21.29, (20.38 + 21.38) / 2 = 20.88.
        XCTAssertTrue(table.contains("test views (eval --views 10 of 2 runs): 1 view top-1 21.29% top-5 0.48%; 10 views top-1 20.88% top-5 0.51%"), table)
    }

    func testRunsWithoutTheRecordShowNoViewsLine() throws {
        let dir = try makeScratchDirectory(self)
        try makeRun(dir + "/a", views: nil)
        XCTAssertNil(Evaluation.load(run: dir + "/a"))
        XCTAssertFalse(compareTable([try RunRecord.load(dir + "/a")]).contains("test views"))
    }

    /// A run without a validation split has nan validation columns in metrics.csv (as `train`
    /// writes them: NoValidationTests); compare says "no val", never "nan".
    func testARunWithoutValidationSaysNoVal() throws {
        let dir = try makeScratchDirectory(self)
        try makeRun(dir + "/a", views: nil, row: "1,100,0.5,0.2,0.01,nan,nan,0.01,500,60")
        let table = compareTable([try RunRecord.load(dir + "/a")])
        XCTAssertTrue(table.contains("no val"), table)
        XCTAssertFalse(table.contains("nan"), table)
    }

    /// A run's placement as `compare` and the report name it: groups, replicas, ranks, and a
    /// whole replica on each rank when run.yaml says so.
    func testCompareNamesReplicasAndPlacement() throws {
        let dir = try makeScratchDirectory(self)
        var config = try RunConfig.load(configPath("fashion-mnist"))
        config.model.replicas = 2
        let row = "1,100,0.5,0.2,0.01,0.2,0.01,0.01,500,60\n"
        for (name, ranks, perReplica) in [("four", 4, 2), ("whole", 2, 1), ("split", 2, 2)] {
            let run = try RunDirectory.create(dir + "/" + name, config: config,
                                              info: RunInfo(ranks: ranks, groups: 2, ranksPerReplica: perReplica, coresPerRank: 1,
                                                            blasCore: "Zen", elementwiseKernels: "AVX2", command: "test"))
            try (EpochMetrics.csvHeader + "\n" + row).write(toFile: run.file(RunDirectory.metricsFile), atomically: true, encoding: .utf8)
        }
        XCTAssertEqual(try RunRecord.load(dir + "/four").placementText, "2g×2rep/4r")
        XCTAssertEqual(try RunRecord.load(dir + "/whole").placementText, "2g×2rep/2r, a replica a rank")
        XCTAssertEqual(try RunRecord.load(dir + "/split").placementText, "2g×2rep/2r")
        let table = compareTable(try ["four", "whole"].map { try RunRecord.load(dir + "/" + $0) })
        XCTAssertTrue(table.contains("fashion-mnist (2g×2rep/4r)") && table.contains("fashion-mnist (2g×2rep/2r, a replica a rank)"), table)
    }
}
