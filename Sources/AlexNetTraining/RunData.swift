import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import AlexNetSimulator
import Foundation

/// The data a run's config names (`data.source` in `data.dir`, or `dataDir` instead of the
/// directory), loaded the one way that `train`, `eval`, `export`, `profile` and `report` share:
/// the training and test sets, the mean image and colour PCA where the source stores them, the
/// batcher over them, and the class names where the data set has them.
public struct RunData {
    public let batcher: Batcher
    /// The directory read.
    public let dir: String
    /// The names the data set gives its classes (a prepared directory's `classes.txt`,
    /// CIFAR-10's `batches.meta.txt` when present), one per class; nil when it gives none.
    public let classNames: [String]?

    /// False for a prepared directory without a validation split: `batcher.test` is then empty.
    public var hasValidation: Bool { batcher.test.count > 0 }

    public static func load(_ config: RunConfig, dataDir: String? = nil) throws -> RunData {
        let dir = dataDir ?? config.data.dir
        let classes = config.model.classes
        let train: ImageSet, test: ImageSet
        var mean: [Float]?, pca: ColourPCA?, names: [String]?
        switch config.data.source {
        case .idx:
            (train, test) = try IDX.loadDirectory(dir, classes: classes)
        case .cifar10:
            (train, test) = try CIFAR10.loadDirectory(dir, classes: classes)
            if config.data.pcaColour { pca = CIFAR10.colourPCA(train) }
            names = CIFAR10.classNames(in: dir, classes: classes)
        case .prepared:
            let p = try PreparedData.open(dir, classes: classes)
            train = p.train
            test = p.val ?? .empty(channels: p.train.channels, height: p.train.height, width: p.train.width)
            (mean, pca) = (p.mean, p.pca)
            // A prepared directory may hold fewer classes than the model has outputs.
            names = p.classes + (p.classes.count..<max(classes, p.classes.count)).map { "class \($0)" }
        }
        guard train.channels == config.model.inputChannels else {
            throw DataError(dir, "images have \(train.channels) channels, model.input.channels is \(config.model.inputChannels)")
        }
        let batcher = try Batcher(train: train, test: test, augmentation: config.data.augmentation, seed: config.train.seed,
                                  mean: mean, pca: pca)
        return RunData(batcher: batcher, dir: dir, classNames: names)
    }
}
