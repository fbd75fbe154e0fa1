import AlexNetCore

/// Preprocessing as the paper does it (section 4.1), each piece switchable for ablations:
/// pixels scaled (`scale`, e.g. 1/255); the per-pixel mean image of the training set
/// subtracted (`subtractMean`); a random `crop×crop` patch (`randomCrop`, else the centre) and a
/// random horizontal flip (`flip`) for training; the PCA colour augmentation (`pcaColour`): to
/// every pixel of an image add `Σᵢ αᵢ λᵢ pᵢ`, with `(λᵢ, pᵢ)` the eigenpairs of the RGB
/// covariance of the training pixels and `αᵢ ~ N(0, pcaStd)` drawn once per image per epoch.
/// Testing takes the centre patch, or one of the paper's ten views. Every draw is keyed by
/// (epoch, image index), never by who draws, so every rank builds the same minibatch without
/// exchanging images, and a prefetching thread builds the very same one.
public struct Augmentation: Equatable, Sendable {
    public var crop: Int
    public var flip: Bool
    public var scale: Float
    public var subtractMean: Bool
    public var randomCrop: Bool
    public var pcaColour: Bool
    public var pcaStd: Float
    public init(crop: Int, flip: Bool, scale: Float, subtractMean: Bool, randomCrop: Bool = true,
                pcaColour: Bool = false, pcaStd: Float = 0.1) {
        self.crop = crop; self.flip = flip; self.scale = scale; self.subtractMean = subtractMean
        self.randomCrop = randomCrop; self.pcaColour = pcaColour; self.pcaStd = pcaStd
    }
}

/// The eigenpairs of the 3×3 covariance of the training set's RGB values, the values taken in
/// [0, 1] (pixel / 255), as fb.resnet.torch and most re-implementations do; the paper does not
/// say. `vectors[i]` is the unit eigenvector of `values[i]`, largest first.
public struct ColourPCA: Codable, Equatable, Sendable {
    public var values: [Double]
    public var vectors: [[Double]]
    public init(values: [Double], vectors: [[Double]]) { self.values = values; self.vectors = vectors }

    /// From the sums over N pixels of x (3) and of x xᵀ (3×3, row-major), x in [0, 255].
    public init(sum: [Double], sumOfProducts: [Double], pixels N: Double) {
        var cov = [Double](repeating: 0, count: 9)
        for a in 0..<3 { for b in 0..<3 {
            cov[a * 3 + b] = (sumOfProducts[a * 3 + b] / N - sum[a] / N * sum[b] / N) / (255 * 255)
        } }
        let e = symmetricEigen3(cov)
        self.init(values: e.values, vectors: e.vectors)
    }
}

/// The ten test views of the paper: the centre patch and the four corner patches, and their
/// mirror images. View 0 is the centre, 1–4 the top-left, top-right, bottom-left and
/// bottom-right corners; views 5–9 mirror views 0–4.
public enum TestView {
    public static func origin(_ view: Int, height H: Int, width W: Int, crop S: Int) -> (y: Int, x: Int, flip: Bool) {
        let flip = view >= 5
        switch view % 5 {
        case 1: return (0, 0, flip)
        case 2: return (0, W - S, flip)
        case 3: return (H - S, 0, flip)
        case 4: return (H - S, W - S, flip)
        default: return ((H - S) / 2, (W - S) / 2, flip)
        }
    }
}

public final class Batcher: @unchecked Sendable {
    public let train: ImageSet, test: ImageSet
    public let augmentation: Augmentation
    public let seed: UInt64
    /// Per-pixel mean of the scaled training images, `[C][H][W]` at the stored size.
    public let mean: [Float]
    /// The colour PCA (needed when `augmentation.pcaColour`).
    public let pca: ColourPCA?
    private var order: (epoch: Int, permutation: [Int])?

    /// `mean`: the training set's per-pixel mean in raw pixel units, when known already (a
    /// prepared directory stores it); otherwise it is computed here from `train`.
    public init(train: ImageSet, test: ImageSet, augmentation: Augmentation, seed: UInt64,
                mean rawMean: [Float]? = nil, pca: ColourPCA? = nil) throws {
        guard augmentation.crop >= 1, augmentation.crop <= train.height, augmentation.crop <= train.width else {
            throw DataError("data.crop: a \(augmentation.crop)×\(augmentation.crop) crop does not fit \(train.height)×\(train.width) images")
        }
        if augmentation.pcaColour {
            guard train.channels == 3 else { throw DataError("data.pca_colour: needs RGB images; these have \(train.channels) channel(s)") }
            guard pca != nil else { throw DataError("data.pca_colour: no colour PCA for this data source") }
        }
        self.train = train; self.test = test; self.augmentation = augmentation; self.seed = seed; self.pca = pca
        if let rawMean {
            precondition(rawMean.count == train.imageSize)
            mean = augmentation.subtractMean ? rawMean.map { $0 * augmentation.scale } : [Float](repeating: 0, count: train.imageSize)
            return
        }
        var sum = [Double](repeating: 0, count: train.imageSize)
        if augmentation.subtractMean {
            for i in 0..<train.count {
                let px = train.image(i)
                for j in 0..<train.imageSize { sum[j] += Double(px[j]) }
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

    /// The colour offset the PCA augmentation adds to every pixel of training image `index` in
    /// `epoch`, per channel, in scaled pixel units (zeros when switched off).
    public func colourOffset(epoch: Int, index: Int) -> [Float] {
        guard augmentation.pcaColour, let pca else { return [Float](repeating: 0, count: train.channels) }
        var stream = RandomStream(seed: seed, .colour, epoch, index)
        let alpha = (0..<3).map { _ in stream.normal() * Double(augmentation.pcaStd) }
        return (0..<3).map { c in
            Float((0..<3).reduce(0.0) { $0 + pca.vectors[$1][c] * alpha[$1] * pca.values[$1] } * 255 * Double(augmentation.scale))
        }
    }

    /// Fills `input` (`[C][n][crop][crop]`) and `labels` with minibatch `step` of `epoch` (`N`
    /// images), or with slice `part.index` of its `part.of` equal slices (n = N / part.of images:
    /// the minibatch's images part.index·n ..< (part.index + 1)·n).
    public func fillTraining(epoch: Int, step: Int, batch N: Int, part: (index: Int, of: Int) = (0, 1),
                             input: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>) {
        let perm = permutation(epoch: epoch)
        let n = N / part.of, first = step * N + part.index * n
        for k in 0..<n {
            let index = perm[first + k]
            let room = train.height - augmentation.crop, roomX = train.width - augmentation.crop
            var crop = RandomStream(seed: seed, .crop, epoch, index)
            var oy = crop.below(room + 1), ox = crop.below(roomX + 1)
            if !augmentation.randomCrop { oy = room / 2; ox = roomX / 2 }
            var flipStream = RandomStream(seed: seed, .flip, epoch, index)
            let flip = augmentation.flip && flipStream.uniform() < 0.5
            write(train, index: index, slot: k, batch: n, oy: oy, ox: ox, flip: flip,
                  offset: colourOffset(epoch: epoch, index: index), input: input)
            labels[k] = train.labels[index]
        }
    }

    /// Fills test images `start ..< start+N` (the centre crop, or `view` of `TestView`); returns
    /// how many are real — the rest of the batch repeats the last image and must not be counted.
    @discardableResult
    public func fillTest(start: Int, batch N: Int, input: UnsafeMutablePointer<Float>,
                         labels: UnsafeMutablePointer<Int32>, from set: ImageSet? = nil, view: Int = 0) -> Int {
        let set = set ?? test
        let valid = max(0, min(N, set.count - start))
        let o = TestView.origin(view, height: set.height, width: set.width, crop: augmentation.crop)
        let zero = [Float](repeating: 0, count: set.channels)
        for n in 0..<N {
            let index = min(start + n, set.count - 1)
            write(set, index: index, slot: n, batch: N, oy: o.y, ox: o.x, flip: o.flip, offset: zero, input: input)
            labels[n] = set.labels[index]
        }
        return valid
    }

    private func write(_ set: ImageSet, index: Int, slot n: Int, batch N: Int, oy: Int, ox: Int, flip: Bool,
                       offset: [Float], input: UnsafeMutablePointer<Float>) {
        let S = augmentation.crop, H = set.height, W = set.width, scale = augmentation.scale
        let px = set.image(index)
        mean.withUnsafeBufferPointer { mu in
            for c in 0..<set.channels {
                let src = px + c * H * W
                let m = mu.baseAddress! + c * H * W
                let dst = input + (c * N + n) * S * S
                let add = offset[c]
                for y in 0..<S {
                    let row = (oy + y) * W + ox
                    for x in 0..<S {
                        let sx = flip ? S - 1 - x : x
                        dst[y * S + x] = Float(src[row + sx]) * scale - m[row + sx] + add
                    }
                }
            }
        }
    }
}

/// Eigenvalues (descending) and unit eigenvectors of a symmetric 3×3 matrix (row-major), by
/// cyclic Jacobi rotations.
public func symmetricEigen3(_ m: [Double]) -> (values: [Double], vectors: [[Double]]) {
    var a = m, v: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
    for _ in 0..<64 {
        let off = a[1] * a[1] + a[2] * a[2] + a[5] * a[5]
        if off < 1e-30 * max(1e-300, a[0] * a[0] + a[4] * a[4] + a[8] * a[8]) { break }
        for (p, q) in [(0, 1), (0, 2), (1, 2)] where a[p * 3 + q] != 0 {
            let theta = (a[q * 3 + q] - a[p * 3 + p]) / (2 * a[p * 3 + q])
            let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
            let c = 1 / (t * t + 1).squareRoot(), s = t * c
            // a ← Jᵀ a J, v ← v J, with J the rotation in the (p, q) plane.
            for k in 0..<3 {
                let akp = a[k * 3 + p], akq = a[k * 3 + q]
                a[k * 3 + p] = c * akp - s * akq; a[k * 3 + q] = s * akp + c * akq
            }
            for k in 0..<3 {
                let apk = a[p * 3 + k], aqk = a[q * 3 + k]
                a[p * 3 + k] = c * apk - s * aqk; a[q * 3 + k] = s * apk + c * aqk
            }
            for k in 0..<3 {
                let vkp = v[k * 3 + p], vkq = v[k * 3 + q]
                v[k * 3 + p] = c * vkp - s * vkq; v[k * 3 + q] = s * vkp + c * vkq
            }
        }
    }
    let order = [0, 1, 2].sorted { a[$0 * 4] > a[$1 * 4] }
    return (order.map { a[$0 * 4] }, order.map { i in (0..<3).map { v[$0 * 3 + i] } })
}
