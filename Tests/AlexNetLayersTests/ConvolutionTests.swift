import AlexNetCore
import AlexNetLayers
import Foundation
import XCTest
import _TestSupport

final class ConvolutionTests: XCTestCase {
    /// A grouped convolution over the whole `[C][N][H][W]` tensor, by the definition, in Double:
    ///
    ///     y[g·Kg + k][n][oy][ox] = b_g[k] + Σ_{c,i,j} w_g[k][(c·ks + i)·ks + j] · x[cIn][n][oy·s − p + i][ox·s − p + j]
    ///
    /// with `cIn = g·Cg + c` when each group sees its own `Cg = C/G` channels, `cIn = c` when it sees all `C`.
    func naiveGroupedConvolution(x: [Float], channels C: Int, batch N: Int, height H: Int, width W: Int,
                                 weights: [[Float]], biases: [[Float]], kernel ks: Int, stride s: Int, pad p: Int,
                                 seesAll: Bool) -> [Double] {
        let G = weights.count, Kg = biases[0].count, Cg = seesAll ? C : C / G
        let Ho = (H + 2 * p - ks) / s + 1, Wo = (W + 2 * p - ks) / s + 1
        var y = [Double](repeating: 0, count: G * Kg * N * Ho * Wo)
        for g in 0..<G {
            for k in 0..<Kg {
                for n in 0..<N {
                    for oy in 0..<Ho {
                        for ox in 0..<Wo {
                            var sum = Double(biases[g][k])
                            for c in 0..<Cg {
                                let cIn = seesAll ? c : g * Cg + c
                                for i in 0..<ks {
                                    for j in 0..<ks {
                                        let iy = oy * s - p + i, ix = ox * s - p + j
                                        guard iy >= 0, iy < H, ix >= 0, ix < W else { continue }
                                        sum += Double(weights[g][k * Cg * ks * ks + (c * ks + i) * ks + j])
                                            * Double(x[((cIn * N + n) * H + iy) * W + ix])
                                    }
                                }
                            }
                            y[(((g * Kg + k) * N + n) * Ho + oy) * Wo + ox] = sum
                        }
                    }
                }
            }
        }
        return y
    }

    func makeConvolution(_ name: String, _ g: ConvGeometry, outChannels: Int, seed: UInt64,
                         chunkRows: Int? = nil, algorithm: ConvolutionAlgorithm = .im2col,
                         oneDNNBudget: Int = OneDNNConvolution.budgetFloats) -> Convolution {
        let conv = Convolution(name: name, geometry: g, outChannels: outChannels, chunkRows: chunkRows, algorithm: algorithm,
                               oneDNNBudget: oneDNNBudget)
        fillRandom(conv.weight.value, seed: seed, in: -0.5...0.5)
        fillRandom(conv.bias.value, seed: seed + 1)
        return conv
    }

    // MARK: Shapes

    func testShapes() {
        let g = ConvGeometry(channels: 48, height: 27, width: 27, batch: 4, kernel: 5, stride: 1, pad: 2)
        let conv = Convolution(name: "conv2", geometry: g, outChannels: 128, algorithm: .im2col)
        XCTAssertEqual(conv.weight.value.shape, [128, 48 * 5 * 5])
        XCTAssertEqual(conv.weight.grad.shape, [128, 1200])
        XCTAssertEqual(conv.weight.momentum.shape, [128, 1200])
        XCTAssertEqual(conv.bias.value.shape, [128])
        XCTAssertEqual(conv.weight.name, "conv2.weight")
        XCTAssertEqual(conv.bias.name, "conv2.bias")
        XCTAssertTrue(conv.weight.decays)
        XCTAssertFalse(conv.bias.decays)
        XCTAssertEqual(g.outHeight, 27); XCTAssertEqual(g.outWidth, 27)
        // A chunk is the output rows whose columns fit the budget (256 Ki floats: 1200·27 floats
        // a row, so 8 rows), but at least 512 columns (19 rows of 27), at most the minibatch's.
        XCTAssertEqual(conv.chunk, 19)
        XCTAssertEqual(conv.workspaceNeeded, 1200 * 27 * 19)
        XCTAssertEqual(Convolution.workspaceFloats(for: g), conv.workspaceNeeded)
        XCTAssertEqual(Convolution.workspaceFloats(for: g, outChannels: 128, inputGradient: true, algorithm: .im2col),
                       conv.workspaceNeeded)
        XCTAssertEqual(Convolution(name: "c", geometry: g, outChannels: 1, chunkRows: 500).chunk, 4 * 27, "at most the minibatch")
        XCTAssertEqual(Convolution(name: "c", geometry: g, outChannels: 1, chunkRows: 0).chunk, 1, "at least one row")

        // Strided conv1 of the paper: 227 → 55; 363·55 floats a row, so 13 rows fit 256 Ki floats.
        let g1 = ConvGeometry(channels: 3, height: 227, width: 227, batch: 128, kernel: 11, stride: 4, pad: 0)
        let conv1 = Convolution(name: "conv1", geometry: g1, outChannels: 48)
        XCTAssertEqual(conv1.weight.value.shape, [48, 363])
        XCTAssertEqual(g1.outPlane, 55 * 55)
        XCTAssertEqual(conv1.chunk, 13)
        // A small map: Fashion-MNIST's conv5 (192·9 floats a row of 5) needs 103 rows for 512 columns.
        let g5 = ConvGeometry(channels: 192, height: 5, width: 5, batch: 128, kernel: 3, stride: 1, pad: 1)
        XCTAssertEqual(Convolution.chunkRows(for: g5), 103)
    }

    /// The forward pass writes exactly `[K][N][Ho][Wo]` and nothing past it.
    func testForwardWritesOnlyItsOutput() {
        let g = ConvGeometry(channels: 2, height: 5, width: 5, batch: 3, kernel: 3, stride: 2, pad: 1)
        let conv = makeConvolution("conv", g, outChannels: 2, seed: 1, chunkRows: 2)
        let x = randomTensor("x", [2, 3, 5, 5], seed: 2)
        let count = 2 * 3 * 3 * 3
        let y = Tensor("y+guard", [count + 16])
        for i in count..<(count + 16) { y[i] = 12345 }
        let ws = Tensor("workspace", [conv.workspaceNeeded])
        conv.forward(x: x.data, y: y.data, workspace: ws.data)
        for i in count..<(count + 16) { XCTAssertEqual(y[i], 12345, "forward wrote past its output at \(i)") }
    }

    // MARK: Forward against the definition

    /// Hand-checkable: a 3×3 map 1…9, one 2×2 kernel of ones, bias 0.5.
    func testForwardByHand() {
        let g = ConvGeometry(channels: 1, height: 3, width: 3, batch: 1, kernel: 2, stride: 1, pad: 0)
        let conv = Convolution(name: "conv", geometry: g, outChannels: 1)
        conv.weight.value.copy(from: [1, 1, 1, 1]); conv.bias.value[0] = 0.5
        let x = Tensor("x", [1, 1, 3, 3]); x.copy(from: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let y = Tensor("y", [1, 1, 2, 2]), ws = Tensor("workspace", [conv.workspaceNeeded])
        conv.forward(x: x.data, y: y.data, workspace: ws.data)
        XCTAssertEqual(y.array, [12.5, 16.5, 24.5, 28.5])
    }

    /// Two groups, each `Convolution` seeing only its own half of the channels (conv2, conv4,
    /// conv5 of the paper), against a grouped convolution over the whole tensor, lowered in
    /// chunks of 4 output rows where an image has 6: chunks start and end inside images.
    func testForwardTwoGroupsOwnChannels() {
        let C = 4, N = 3, H = 6, W = 5, Kg = 3, G = 2, Cg = C / G
        let g = ConvGeometry(channels: Cg, height: H, width: W, batch: N, kernel: 3, stride: 1, pad: 1)
        let groups = (0..<G).map { makeConvolution("conv.g\($0)", g, outChannels: Kg, seed: 10 + 10 * UInt64($0),
                                                   chunkRows: 4) }
        XCTAssertEqual(groups[0].chunk, 4)
        let x = randomTensor("x", [C, N, H, W], seed: 3)
        let y = Tensor("conv.y", [G * Kg, N, g.outHeight, g.outWidth])
        let ws = Tensor("workspace", [groups[0].workspaceNeeded])
        let inBlock = Cg * N * H * W, outBlock = Kg * N * g.outPlane
        for (i, conv) in groups.enumerated() {
            conv.forward(x: x.data + i * inBlock, y: y.data + i * outBlock, workspace: ws.data)
        }
        let expected = naiveGroupedConvolution(x: x.array, channels: C, batch: N, height: H, width: W,
                                               weights: groups.map { $0.weight.value.array },
                                               biases: groups.map { $0.bias.value.array },
                                               kernel: 3, stride: 1, pad: 1, seesAll: false)
        assertClose(y, expected, rtol: 1e-5, atol: 1e-5)
    }

    /// Two groups that both read every channel (conv3 of the paper), stride 2 with padding.
    func testForwardTwoGroupsSeeAllChannels() {
        let C = 4, N = 2, H = 7, W = 8, Kg = 2, G = 2
        let g = ConvGeometry(channels: C, height: H, width: W, batch: N, kernel: 3, stride: 2, pad: 1)
        let groups = (0..<G).map { makeConvolution("conv3.g\($0)", g, outChannels: Kg, seed: 40 + 10 * UInt64($0)) }
        let x = randomTensor("x", [C, N, H, W], seed: 4)
        let y = Tensor("conv3.y", [G * Kg, N, g.outHeight, g.outWidth])
        let ws = Tensor("workspace", [groups[0].workspaceNeeded])
        for (i, conv) in groups.enumerated() {
            conv.forward(x: x.data, y: y.data + i * Kg * N * g.outPlane, workspace: ws.data)
        }
        let expected = naiveGroupedConvolution(x: x.array, channels: C, batch: N, height: H, width: W,
                                               weights: groups.map { $0.weight.value.array },
                                               biases: groups.map { $0.bias.value.array },
                                               kernel: 3, stride: 2, pad: 1, seesAll: true)
        assertClose(y, expected, rtol: 1e-5, atol: 1e-5)
    }

    /// conv1's shape, scaled down: 11×11 kernels at stride 4, no padding, chunks of 2 output
    /// rows of an image's 3.
    func testForwardStride4Kernel11() {
        let g = ConvGeometry(channels: 3, height: 19, width: 23, batch: 2, kernel: 11, stride: 4, pad: 0)
        let conv = makeConvolution("conv1", g, outChannels: 3, seed: 60, chunkRows: 2)
        XCTAssertEqual(g.outHeight, 3)
        let x = randomTensor("x", [3, 2, 19, 23], seed: 5)
        let y = Tensor("conv1.y", [3, 2, g.outHeight, g.outWidth])
        let ws = Tensor("workspace", [conv.workspaceNeeded])
        conv.forward(x: x.data, y: y.data, workspace: ws.data)
        let expected = naiveGroupedConvolution(x: x.array, channels: 3, batch: 2, height: 19, width: 23,
                                               weights: [conv.weight.value.array], biases: [conv.bias.value.array],
                                               kernel: 11, stride: 4, pad: 0, seesAll: true)
        assertClose(y, expected, rtol: 1e-5, atol: 1e-5)
    }

    // MARK: Gradients

    /// Central differences of `loss = Σ r·y` for the weights, bias and input. The gradient
    /// buffers are filled with garbage first: backward must overwrite, not accumulate.
    func checkGradients(_ name: String, _ g: ConvGeometry, outChannels K: Int, chunkRows: Int? = nil,
                        seed: UInt64, algorithm: ConvolutionAlgorithm = .im2col,
                        oneDNNBudget: Int = OneDNNConvolution.budgetFloats,
                        file: StaticString = #filePath, line: UInt = #line) {
        let conv = makeConvolution(name, g, outChannels: K, seed: seed, chunkRows: chunkRows, algorithm: algorithm,
                                   oneDNNBudget: oneDNNBudget)
        let x = randomTensor(name + ".x", [g.channels, g.batch, g.height, g.width], seed: seed + 2)
        let y = Tensor(name + ".y", [K, g.batch, g.outHeight, g.outWidth])
        let r = randomTensor(name + ".r", y.shape, seed: seed + 3)
        let ws = Tensor("workspace", [conv.workspaceNeeded])
        let loss = { () -> Double in
            conv.forward(x: x.data, y: y.data, workspace: ws.data)
            return weightedSum(y, r)
        }
        _ = loss()
        fillRandom(conv.weight.grad, seed: 90, in: 50...60)
        fillRandom(conv.bias.grad, seed: 91, in: 50...60)
        let dx = randomTensor(name + ".dx", x.shape, seed: 92, in: 50...60)
        conv.backward(x: x.data, dy: r.data, dx: dx.data, workspace: ws.data)
        let check = GradientCheck(step: 1e-2, relativeTolerance: 2e-2, absoluteTolerance: 1e-3)
        check.check(conv.weight.value, gradient: conv.weight.grad, loss: loss, file: file, line: line)
        check.check(conv.bias.value, gradient: conv.bias.grad, loss: loss, file: file, line: line)
        check.check(x.name, values: x.data, analytic: dx.array, loss: loss, file: file, line: line)

        // Without `dx` the parameter gradients are the same.
        let weightGrad = conv.weight.grad.array, biasGrad = conv.bias.grad.array
        fillRandom(conv.weight.grad, seed: 93, in: 50...60)
        conv.backward(x: x.data, dy: r.data, dx: nil, workspace: ws.data)
        assertClose(conv.weight.grad, weightGrad, rtol: 1e-6, atol: 1e-6, file: file, line: line)
        assertClose(conv.bias.grad, biasGrad, rtol: 1e-6, atol: 1e-6, file: file, line: line)
    }

    func testGradientsStride1NoPad() {
        checkGradients("conv.s1p0", ConvGeometry(channels: 3, height: 6, width: 5, batch: 2, kernel: 3, stride: 1, pad: 0),
                       outChannels: 4, seed: 100)
    }

    func testGradientsStride1Pad1() {
        checkGradients("conv.s1p1", ConvGeometry(channels: 2, height: 5, width: 6, batch: 2, kernel: 3, stride: 1, pad: 1),
                       outChannels: 3, seed: 110)
    }

    func testGradientsStride2Pad1() {
        checkGradients("conv.s2p1", ConvGeometry(channels: 2, height: 7, width: 6, batch: 2, kernel: 3, stride: 2, pad: 1),
                       outChannels: 3, seed: 120)
    }

    /// Three images lowered one chunk of two and one of one: the weight gradient sums over chunks.
    func testGradientsChunked() {
        let g = ConvGeometry(channels: 2, height: 5, width: 5, batch: 3, kernel: 3, stride: 1, pad: 1)
        checkGradients("conv.chunked", g, outChannels: 2, chunkRows: 2 * g.outHeight, seed: 130)
    }

    /// Chunks of 2 output rows of 5 per image: chunks start and end inside images.
    func testGradientsChunksInsideImages() {
        let g = ConvGeometry(channels: 2, height: 5, width: 4, batch: 3, kernel: 3, stride: 1, pad: 1)
        checkGradients("conv.rows", g, outChannels: 2, chunkRows: 2, seed: 140)
        let g2 = ConvGeometry(channels: 2, height: 9, width: 7, batch: 2, kernel: 3, stride: 2, pad: 1)
        checkGradients("conv.rows.s2", g2, outChannels: 3, chunkRows: 3, seed: 150)
    }

    // MARK: oneDNN's forward pass and input gradient

    /// The paper's layer shapes (one group, a few images) all get oneDNN's generated kernels on
    /// this CPU, and the workspace the plan gives a layer covers its blocked copies.
    func testOneDNNRunsThePapersShapes() throws {
        let shapes: [(ConvGeometry, Int)] = [
            (ConvGeometry(channels: 3, height: 227, width: 227, batch: 2, kernel: 11, stride: 4, pad: 0), 48),
            (ConvGeometry(channels: 48, height: 27, width: 27, batch: 2, kernel: 5, stride: 1, pad: 2), 128),
            (ConvGeometry(channels: 256, height: 13, width: 13, batch: 2, kernel: 3, stride: 1, pad: 1), 192),
            (ConvGeometry(channels: 32, height: 11, width: 11, batch: 2, kernel: 5, stride: 1, pad: 2), 64),
        ]
        for (i, (g, K)) in shapes.enumerated() {
            let conv = Convolution(name: "c", geometry: g, outChannels: K, algorithm: .auto, inputGradient: i > 0)
            let direct = try XCTUnwrap(conv.direct, "no oneDNN kernel for \(g)")
            XCTAssertTrue(direct.implementation.hasPrefix("jit") || direct.implementation.hasPrefix("brg"), direct.implementation)
            XCTAssertEqual(direct.inputGradient, i > 0)
            XCTAssertGreaterThanOrEqual(conv.workspaceNeeded, direct.workspaceFloats)
            XCTAssertEqual(Convolution.workspaceFloats(for: g, outChannels: K, inputGradient: i > 0, algorithm: .auto),
                           conv.workspaceNeeded)
        }
    }

    /// oneDNN's forward pass against the definition: two groups on their own channels (conv2's
    /// kind), two reading all channels at stride 2 (conv3's, strided), conv1's 11×11 at stride 4,
    /// each with a batch that its chunks do not divide (chunks of 2 images of 5: a remainder).
    func testOneDNNForwardAgainstTheDefinition() throws {
        let cases: [(C: Int, H: Int, W: Int, K: Int, k: Int, s: Int, p: Int, G: Int, all: Bool)] = [
            (16, 9, 8, 12, 5, 1, 2, 2, false), (8, 7, 7, 10, 3, 2, 1, 2, true), (3, 23, 27, 9, 11, 4, 0, 1, true)]
        for (n, c) in cases.enumerated() {
            let N = 5, Cg = c.all ? c.C : c.C / c.G
            let g = ConvGeometry(channels: Cg, height: c.H, width: c.W, batch: N, kernel: c.k, stride: c.s, pad: c.p)
            let x = randomTensor("x", [c.C, N, c.H, c.W], seed: 200 + UInt64(n))
            let y = Tensor("y", [c.G * c.K, N, g.outHeight, g.outWidth])
            var weights: [[Float]] = [], biases: [[Float]] = []
            for i in 0..<c.G {
                let conv = makeConvolution("c\(i)", g, outChannels: c.K, seed: 210 + 10 * UInt64(i), algorithm: .im2col)
                let direct = try XCTUnwrap(OneDNNConvolution(g, outChannels: c.K, inputGradient: false, budgetFloats: 1))
                XCTAssertEqual(direct.chunk, 1)
                let chunked = try XCTUnwrap(OneDNNConvolution(g, outChannels: c.K, inputGradient: false,
                                                              budgetFloats: 2 * direct.perImageFloats))
                XCTAssertEqual(chunked.chunk, 2)
                let used = max(direct.workspaceFloats, chunked.workspaceFloats)
                let ws = Tensor("ws", [used + 64])
                for j in used..<(used + 64) { ws[j] = 12345 }
                defer { for j in used..<(used + 64) { XCTAssertEqual(ws[j], 12345, "case \(n): oneDNN wrote past its workspace") } }
                let out = y.data + i * c.K * N * g.outPlane, xi = x.data + (c.all ? 0 : i * Cg * N * c.H * c.W)
                chunked.forward(x: xi, weight: conv.weight.value.data, bias: conv.bias.value.data, y: out, workspace: ws.data)
                // Chunks of 1 image give the same bits as chunks of 2 (and a remainder of 1).
                let first = Array(UnsafeBufferPointer(start: out, count: c.K * N * g.outPlane))
                direct.forward(x: xi, weight: conv.weight.value.data, bias: conv.bias.value.data, y: out, workspace: ws.data)
                XCTAssertEqual(Array(UnsafeBufferPointer(start: out, count: c.K * N * g.outPlane)), first, "case \(n): chunking changed bits")
                weights.append(conv.weight.value.array); biases.append(conv.bias.value.array)
            }
            let expected = naiveGroupedConvolution(x: x.array, channels: c.C, batch: N, height: c.H, width: c.W, weights: weights,
                                                   biases: biases, kernel: c.k, stride: c.s, pad: c.p, seesAll: c.all)
            assertClose(y, expected, rtol: 1e-4, atol: 1e-4)
        }
    }

    /// Finite differences through oneDNN's three passes, at sizes where oneDNN has its kernels
    /// and computes the weight gradient (72 and 200 columns), whole and in chunks of 2 images of 5
    /// (the weight gradient summed over the chunks); and at one where im2col computes it (27).
    func testOneDNNGradients() throws {
        let g = ConvGeometry(channels: 8, height: 6, width: 5, batch: 5, kernel: 3, stride: 1, pad: 1)
        let probe = try XCTUnwrap(Convolution(name: "probe", geometry: g, outChannels: 8, algorithm: .auto).direct)
        XCTAssertTrue(probe.inputGradient && probe.weightsGradient)
        checkGradients("conv.dnnl", g, outChannels: 8, seed: 160, algorithm: .auto)
        let chunked = try XCTUnwrap(Convolution(name: "probe", geometry: g, outChannels: 8, algorithm: .auto,
                                                oneDNNBudget: 2 * probe.perImageFloats).direct)
        XCTAssertEqual(chunked.chunk, 2)
        checkGradients("conv.dnnl.chunks", g, outChannels: 8, seed: 165, algorithm: .auto, oneDNNBudget: 2 * probe.perImageFloats)
        let g2 = ConvGeometry(channels: 8, height: 7, width: 7, batch: 2, kernel: 5, stride: 1, pad: 2)
        checkGradients("conv.dnnl.5x5", g2, outChannels: 8, seed: 170, algorithm: .auto)
        let g3 = ConvGeometry(channels: 3, height: 7, width: 7, batch: 2, kernel: 3, stride: 1, pad: 1)
        XCTAssertEqual(Convolution(name: "probe", geometry: g3, outChannels: 8, algorithm: .auto).direct?.weightsGradient, false)
        checkGradients("conv.dnnl.27", g3, outChannels: 8, seed: 175, algorithm: .auto)
    }

    /// A convolution made on one thread and run on another (a group worker) gives the same bits,
    /// and writes nothing past its workspace, in all three passes.
    func testOneDNNOnAnotherThreadGivesTheSameBits() throws {
        let g = ConvGeometry(channels: 48, height: 13, width: 13, batch: 6, kernel: 5, stride: 1, pad: 2)
        let conv = makeConvolution("conv", g, outChannels: 32, seed: 185, algorithm: .auto)
        let direct = try XCTUnwrap(conv.direct)
        XCTAssertTrue(direct.weightsGradient)
        let x = randomTensor("x", [48, 6, 13, 13], seed: 186), dy = randomTensor("dy", [32, 6, 13, 13], seed: 187)
        let ws = Tensor("ws", [conv.workspaceNeeded + 64])
        for j in conv.workspaceNeeded..<(conv.workspaceNeeded + 64) { ws[j] = 12345 }
        func run() -> [Float] {
            let y = Tensor("y", dy.shape), dx = Tensor("dx", x.shape)
            conv.forward(x: x.data, y: y.data, workspace: ws.data)
            conv.backward(x: x.data, dy: dy.data, dx: dx.data, workspace: ws.data)
            return y.array + dx.array + conv.weight.grad.array
        }
        let here = run()
        let there = OtherThread(run)
        let done = DispatchSemaphore(value: 0)
        let t = Thread { there.result = there.body(); done.signal() }
        t.stackSize = 8 << 20
        t.start()
        done.wait()
        XCTAssertEqual(here, there.result)
        for j in conv.workspaceNeeded..<(conv.workspaceNeeded + 64) { XCTAssertEqual(ws[j], 12345, "wrote past the workspace") }
    }

    /// A group with two threads gets the same bits from oneDNN as with one, in all three passes, at
    /// this shape (oneDNN splits no sum between threads here; it may at others, where a group's
    /// thread count would then change its bits, as every placement gives a group the same
    /// count: ThreadPlan).
    func testOneDNNBitsDoNotDependOnThreads() throws {
        let g = ConvGeometry(channels: 32, height: 11, width: 11, batch: 8, kernel: 5, stride: 1, pad: 2)
        let before = BLAS.threads
        defer { BLAS.setThreads(before) }
        var results: [[Float]] = []
        for threads in [1, 2] {
            BLAS.setThreads(threads)
            let conv = makeConvolution("conv", g, outChannels: 64, seed: 180, algorithm: .auto)
            XCTAssertNotNil(conv.direct)
            let x = randomTensor("x", [32, 8, 11, 11], seed: 181), dy = randomTensor("dy", [64, 8, 11, 11], seed: 182)
            let y = Tensor("y", dy.shape), dx = Tensor("dx", x.shape), ws = Tensor("ws", [conv.workspaceNeeded])
            XCTAssertEqual(conv.direct?.weightsGradient, true)
            conv.forward(x: x.data, y: y.data, workspace: ws.data)
            conv.backward(x: x.data, dy: dy.data, dx: dx.data, workspace: ws.data)
            results.append(y.array + dx.array + conv.weight.grad.array + conv.bias.grad.array)
        }
        XCTAssertEqual(results[0], results[1])
    }
}

/// A body to run on another thread, and what it returned (the test waits for it).
private final class OtherThread: @unchecked Sendable {
    let body: () -> [Float]
    var result: [Float] = []
    init(_ body: @escaping () -> [Float]) { self.body = body }
}
