import AlexNetCore

/// Preprocessing as the paper does it, for images stored small:
/// pixels scaled (`scale`, e.g. 1/255), the per-pixel mean image of the training set
/// subtracted, then a random `crop×crop` patch and a random horizontal flip for training, the
/// centre patch for testing. Every draw is keyed by (epoch, image index), never by who draws,
/// so every rank builds the same minibatch without exchanging images.
public struct Augmentation: Equatable, Sendable {
    public var crop: Int
    public var flip: Bool
    public var scale: Float
    public var subtractMean: Bool
    public init(crop: Int, flip: Bool, scale: Float, subtractMean: Bool) {
        self.crop = crop; self.flip = flip; self.scale = scale; self.subtractMean = subtractMean
    }
}

public final class Batcher {
    public let train: ImageSet, test: ImageSet
    public let augmentation: Augmentation
    public let seed: UInt64
    /// Per-pixel mean of the scaled training images, `[C][H][W]` at the stored size.
    public let mean: [Float]
    private var order: (epoch: Int, permutation: [Int])?

    public init(train: ImageSet, test: ImageSet, augmentation: Augmentation, seed: UInt64) throws {
        guard augmentation.crop >= 1, augmentation.crop <= train.height, augmentation.crop <= train.width else {
            throw DataError("data.crop: a \(augmentation.crop)×\(augmentation.crop) crop does not fit \(train.height)×\(train.width) images")
        }
        self.train = train; self.test = test; self.augmentation = augmentation; self.seed = seed
        var sum = [Double](repeating: 0, count: train.imageSize)
        if augmentation.subtractMean {
            train.pixels.withUnsafeBufferPointer { px in
                for i in 0..<train.count {
                    let base = i * train.imageSize
                    for j in 0..<train.imageSize { sum[j] += Double(px[base + j]) }
                }
            }
        }
        let s = Double(augmentation.scale) / Double(max(train.count, 1))
        mean = sum.map { Float($0 * s) }
    }

    public func stepsPerEpoch(batch: Int) -> Int { train.count / batch }

    /// The order of the training images in `epoch` (a keyed shuffle).
    public func permutation(epoch: Int) -> [Int] {
        if let o = order, o.epoch == epoch { return o.permutation }
        var stream = RandomStream(seed: seed, .shuffle, epoch)
        let p = stream.permutation(train.count)
        order = (epoch, p)
        return p
    }

    /// Fills `input` (`[C][N][crop][crop]`) and `labels` with minibatch `step` of `epoch`.
    public func fillTraining(epoch: Int, step: Int, batch N: Int, input: UnsafeMutablePointer<Float>,
                             labels: UnsafeMutablePointer<Int32>) {
        let perm = permutation(epoch: epoch)
        for n in 0..<N {
            let index = perm[step * N + n]
            let room = train.height - augmentation.crop, roomX = train.width - augmentation.crop
            var crop = RandomStream(seed: seed, .crop, epoch, index)
            let oy = crop.below(room + 1), ox = crop.below(roomX + 1)
            var flipStream = RandomStream(seed: seed, .flip, epoch, index)
            let flip = augmentation.flip && flipStream.uniform() < 0.5
            write(train, index: index, slot: n, batch: N, oy: oy, ox: ox, flip: flip, input: input)
            labels[n] = train.labels[index]
        }
    }

    /// Fills test images `start ..< start+N` (centre crop); returns how many are real — the rest
    /// of the batch repeats the last image and must not be counted.
    @discardableResult
    public func fillTest(start: Int, batch N: Int, input: UnsafeMutablePointer<Float>,
                         labels: UnsafeMutablePointer<Int32>, from set: ImageSet? = nil) -> Int {
        let set = set ?? test
        let valid = max(0, min(N, set.count - start))
        let oy = (set.height - augmentation.crop) / 2, ox = (set.width - augmentation.crop) / 2
        for n in 0..<N {
            let index = min(start + n, set.count - 1)
            write(set, index: index, slot: n, batch: N, oy: oy, ox: ox, flip: false, input: input)
            labels[n] = set.labels[index]
        }
        return valid
    }

    private func write(_ set: ImageSet, index: Int, slot n: Int, batch N: Int, oy: Int, ox: Int, flip: Bool,
                       input: UnsafeMutablePointer<Float>) {
        let S = augmentation.crop, H = set.height, W = set.width, scale = augmentation.scale
        set.pixels.withUnsafeBufferPointer { px in
            mean.withUnsafeBufferPointer { mu in
                for c in 0..<set.channels {
                    let src = px.baseAddress! + index * set.imageSize + c * H * W
                    let m = mu.baseAddress! + c * H * W
                    let dst = input + (c * N + n) * S * S
                    for y in 0..<S {
                        let row = (oy + y) * W + ox
                        for x in 0..<S {
                            let sx = flip ? S - 1 - x : x
                            dst[y * S + x] = Float(src[row + sx]) * scale - (augmentation.subtractMean ? m[row + sx] : 0)
                        }
                    }
                }
            }
        }
    }
}
