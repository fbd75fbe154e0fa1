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
}
