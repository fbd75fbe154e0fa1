import AlexNetCore
import AlexNetTraining
import Foundation

/// `eval --views 10`: one line for the centre crop and one for the averaged views; with
/// `record` (a run directory, evaluated on its own data), also `<run>/eval-views.csv`, which
/// `compare` reads.
func reportViews(_ r: (centre: ViewsResult, averaged: ViewsResult), model: String, images: Int, console: Console,
                 record: String?) throws {
    for v in [r.centre, r.averaged] {
        console.print(String(format: "%@: %d test images, %2d view%@: top-1 error %.2f%%, top-5 error %.2f%%, loss %.4f",
                             model, images, v.views, v.views == 1 ? " " : "s", 100 * v.top1, 100 * v.top5, v.loss))
    }
    if let record {
        try writeAtomically(ViewsResult.csvHeader + "\n" + [r.centre, r.averaged].map { $0.csvRow + "\n" }.joined(),
                            to: (record as NSString).appendingPathComponent(ViewsResult.fileName))
    }
}
