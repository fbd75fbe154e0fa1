import AlexNetCore
import Foundation

/// The `data:` section: where the images are and how they are augmented.
public struct DataConfig: Codable, Equatable, Sendable {
    /// `idx`: MNIST-style IDX files; `prepared`: a directory written by `alexnet-mp prepare`;
    /// `cifar10`: CIFAR-10's binary batches.
    public enum Source: String, Codable, Sendable { case idx, prepared, cifar10 }
    public var source = Source.idx
    /// Required in a config (the defaults here are not values a config may take).
    public var dir = "", crop = 0
    /// Training crops at a random place (false: the centre, for ablations).
    public var randomCrop = true
    public var flip = true
    /// Multiply pixels by this first.
    public var scale: Float = 1
    public var meanImage = true
    /// The paper's PCA colour augmentation (RGB sources only), αᵢ ~ N(0, pcaColourStd).
    public var pcaColour = false
    public var pcaColourStd: Float = 0.1

    /// The keys a config must give.
    public static let requiredKeys: Set<String> = ["dir", "crop"]

    public init() {}

    enum CodingKeys: String, CodingKey {
        case source, dir, crop, randomCrop = "random_crop", flip, scale, meanImage = "mean_image"
        case pcaColour = "pca_colour", pcaColourStd = "pca_colour_std"
    }

    public func validate() throws {
        try checkRange("data.crop", crop, 1...4096)
        try checkRange("data.scale", scale, above: 0, atMost: 1000)
        try checkRange("data.pca_colour_std", pcaColourStd, from: 0, atMost: 10)
        guard !dir.isEmpty else { throw ConfigError("data.dir: must not be empty") }
        if pcaColour && source == .idx { throw ConfigError("data.pca_colour: needs RGB images; the idx source is greyscale") }
    }

    public var augmentation: Augmentation {
        Augmentation(crop: crop, flip: flip, scale: scale, subtractMean: meanImage, randomCrop: randomCrop,
                     pcaColour: pcaColour, pcaStd: pcaColourStd)
    }
}
