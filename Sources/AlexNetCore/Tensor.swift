import Foundation

// Dimension letters, used in every doc comment of this package:
//   N  images in the minibatch          G  groups (the paper's GPUs)
//   C  input channels (feature maps)    K  output channels (kernels) of one group
//   H, W  height and width of a map     F  features of a fully connected layer
//
// Activation layout: batch *inside* channels, `[C][N][H][W]` for maps and `[F][N]` for
// features. One group's channels are then one contiguous block, so the exchanges at conv3
// and the FC layers send and receive whole blocks in group order, and a convolution over the
// whole minibatch is a single GEMM with the images side by side in its columns.

/// A contiguous, 64-byte aligned block of `Float`s with a name and a shape, allocated once
/// when the model is built and reused by every step.
public final class Tensor {
    public let name: String
    public let shape: [Int]
    public let count: Int
    public let data: UnsafeMutablePointer<Float>
    private let owns: Bool

    /// A view of `shape` floats at `base`, owned by another tensor that must outlive it.
    public init(_ name: String, _ shape: [Int], viewing base: UnsafeMutablePointer<Float>) {
        self.name = name
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.data = base
        self.owns = false
    }

    public init(_ name: String, _ shape: [Int]) {
        self.owns = true
        precondition(shape.allSatisfy { $0 >= 0 }, "tensor \(name): negative dimension in \(shape)")
        self.name = name
        self.shape = shape
        self.count = shape.reduce(1, *)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        self.data = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.data.initialize(repeating: 0, count: max(count, 1))
        Tensor.liveBytes += max(count, 1) * 4
    }

    deinit {
        guard owns else { return }
        Tensor.liveBytes -= max(count, 1) * 4
        UnsafeMutableRawPointer(data).deallocate()
    }

    /// Bytes held by all live tensors of this process (for `summary` and `bench`).
    nonisolated(unsafe) public static var liveBytes = 0

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }
    public func zero() { data.update(repeating: 0, count: count) }
    public subscript(i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }
    public func copy(from values: [Float]) {
        precondition(values.count == count, "tensor \(name): \(values.count) values for \(count) elements")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }
    public var array: [Float] { Array(buffer) }
}

/// Row-major shape arithmetic shared by layers and tests.
@inlinable public func outputSize(_ input: Int, kernel: Int, stride: Int, pad: Int) -> Int {
    (input + 2 * pad - kernel) / stride + 1
}
