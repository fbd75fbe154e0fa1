import AlexNetTraining
import Foundation

/// `eval --views 10`: one line for the centre crop and one for the averaged views.
func printViews(_ r: (centre: ViewsResult, averaged: ViewsResult), model: String, images: Int, console: Console) {
    for v in [r.centre, r.averaged] {
        console.print(String(format: "%@: %d test images, %2d view%@: top-1 error %.2f%%, top-5 error %.2f%%, loss %.4f",
                             model, images, v.views, v.views == 1 ? " " : "s", 100 * v.top1, 100 * v.top5, v.loss))
    }
}
