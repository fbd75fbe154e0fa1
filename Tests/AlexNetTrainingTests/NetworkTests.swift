import AlexNetCore
import AlexNetLayers
import AlexNetParallel
import AlexNetTraining
import XCTest
import _TestSupport

/// The whole network in one process (a `LocalCommunicator`), on the two-group model of
/// `tinySpec`: what it holds, its gradients against central differences, and that training lowers the loss.
final class NetworkTests: XCTestCase {
    /// A tiny network with a fixed minibatch: inputs uniform in [−1, 1], labels 0, 1, 2, 3.
    func tinyNetwork(seed: UInt64 = 1, spec: ModelSpec = tinySpec()) throws -> Network {
        let net = try oneRankNetwork(spec, batch: 4, seed: seed)
        fillRandom(net.input, seed: 42)
        for n in 0..<4 { net.labels[n] = Int32(n) }
        return net
    }

    func testTwoGroupModelOnOneRankHoldsBothGroups() throws {
        let net = try tinyNetwork()
        XCTAssertEqual(net.placement.localGroups, [0, 1])
        XCTAssertEqual(net.parameters.count, 20, "5 layers × 2 groups × (weight, bias)")
        XCTAssertEqual(net.localParameterCount, tinyParameterCount)
        XCTAssertEqual(try net.spec.parameterCount(), tinyParameterCount)
        for g in 0..<2 {
            let ps = net.parameters(group: g)
            XCTAssertEqual(ps.count, 10)
            XCTAssertTrue(ps.allSatisfy { $0.name.contains(".g\(g).") }, "\(ps.map(\.name))")
            // Per group: conv1 2×(1·9), conv2 4×(2·9) (own group), conv3 4×(8·9) (all groups),
            // fc4 8×72, fc5 2×16.
            XCTAssertEqual(ps.filter(\.decays).map(\.value.shape), [[2, 9], [4, 18], [4, 72], [8, 72], [2, 16]])
            XCTAssertEqual(ps.filter { !$0.decays }.map(\.value.shape), [[2], [4], [4], [8], [2]])
            XCTAssertEqual(ps.reduce(0) { $0 + $1.count }, tinyParameterCount / 2)
        }
        XCTAssertNotEqual(net.parameters(group: 0)[0].value.array, net.parameters(group: 1)[0].value.array,
                          "both groups drew the same conv1 weights")
        XCTAssertEqual(net.logits.shape, [4, 4])
    }

    /// The entries of every parameter to check: the two largest gradients and one other.
    func entriesToCheck(_ p: Parameter, _ grad: [Float], salt: Int) -> [Int] {
        let byMagnitude = grad.indices.sorted { abs(grad[$0]) > abs(grad[$1]) }
        var picked = Array(byMagnitude.prefix(2))
        let other = (salt * 7919 + 13) % grad.count
        if !picked.contains(other) { picked.append(other) }
        return picked
    }

    /// Central differences of the whole network's loss against `backward`, for a handful of
    /// entries of every weight and bias of both groups. The step, 3e-3, is small enough that
    /// no ReLU or pooling kink falls inside it for these entries (1e-2 crosses a few) and large
    /// enough that Float rounding of the loss stays below 1e-4 of the gradient.
    func checkWholeNetworkGradients(training: Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        let net = try tinyNetwork()
        let step = 3  // fixes the dropout mask when training
        try net.forward(training: training, step: step)
        let base = net.loss(gradient: true)
        try net.backward()
        XCTAssertTrue(base.loss.isFinite && base.loss > 0, "loss \(base.loss)", file: file, line: line)
        let grads = net.parameters.map { $0.grad.array }

        let check = GradientCheck(step: 3e-3, relativeTolerance: 2e-2, absoluteTolerance: 1e-4)
        var checked = 0, zero: [String] = []
        for (i, p) in net.parameters.enumerated() {
            let g = grads[i]
            guard g.contains(where: { abs($0) > 1e-6 }) else { zero.append(p.name); continue }
            let indices = entriesToCheck(p, g, salt: i)
            check.check(p.name, values: p.value.data, analytic: g, indices: indices, loss: {
                try! net.forward(training: training, step: step)
                return net.loss(gradient: false).loss
            }, file: file, line: line)
            checked += indices.count
        }
        XCTAssertEqual(zero, [], "the backward pass (training: \(training)) left all-zero gradients in \(zero.count) of "
                       + "\(net.parameters.count) parameters, though the loss depends on them", file: file, line: line)
        if zero.isEmpty { XCTAssertGreaterThanOrEqual(checked, 40, file: file, line: line) }
    }

    /// Evaluation mode (no dropout): the gradients of `forward(training: false)` + `loss` + `backward`.
    func testWholeNetworkGradientsMatchCentralDifferencesWithoutDropout() throws {
        try checkWholeNetworkGradients(training: false)
    }

    /// Training mode at a fixed step, so every evaluation draws the same dropout mask.
    func testWholeNetworkGradientsMatchCentralDifferencesWithDropoutAtAFixedStep() throws {
        try checkWholeNetworkGradients(training: true)
    }

    /// The same check on a model without dropout layers, where both modes compute the same function.
    func testWholeNetworkGradientsMatchCentralDifferencesForAModelWithoutDropout() throws {
        let net = try tinyNetwork(spec: tinySpec(dropout: 0))
        try net.forward(training: false, step: 0)
        net.loss(gradient: true)
        try net.backward()
        let check = GradientCheck(step: 3e-3, relativeTolerance: 2e-2, absoluteTolerance: 1e-4)
        for (i, p) in net.parameters.enumerated() {
            let g = p.grad.array
            check.check(p.name, values: p.value.data, analytic: g, indices: entriesToCheck(p, g, salt: i), loss: {
                try! net.forward(training: false, step: 0)
                return net.loss(gradient: false).loss
            })
        }
    }

    /// A Trainer-like loop (forward with dropout, loss, backward, SGD) on one fixed minibatch
    /// lowers the evaluation loss well below its start.
    func testTrainingStepsLowerTheLossOnAFixedBatch() throws {
        let net = try tinyNetwork()
        func evaluationLoss() throws -> Double {
            try net.forward(training: false, step: 0)
            return net.loss(gradient: false).loss
        }
        let before = try evaluationLoss()
        let sgd = SGD(momentum: 0.9, weightDecay: 0.0005)
        var trainingLosses: [Double] = []
        for step in 0..<40 {
            try net.forward(training: true, step: step)
            trainingLosses.append(net.loss(gradient: true).loss)
            try net.backward()
            sgd.update(net.parameters, learningRate: 0.02)
        }
        let after = try evaluationLoss()
        XCTAssertTrue(after.isFinite, "loss \(after)")
        XCTAssertLessThan(after, 0.5 * before, "evaluation loss \(before) → \(after); training losses \(trainingLosses.map { Float($0) })")
        let firstFive = trainingLosses.prefix(5).reduce(0, +) / 5, lastFive = trainingLosses.suffix(5).reduce(0, +) / 5
        XCTAssertLessThan(lastFive, firstFive, "training losses \(trainingLosses.map { Float($0) })")
    }

    /// Each image's logits depend on that image alone: changing one image of the minibatch leaves
    /// the others' logits bit for bit, for one group and for two. (A one-group model once fed
    /// fc4 its maps unflattened, `[C][N][P]` read as `[C·P][N]`, mixing the images: gradients
    /// still matched finite differences, since they differentiate the same wrong function.)
    func testEachImagesLogitsDependOnItsImageAlone() throws {
        for groups in [1, 2] {
            let spec = tinySpec(groups: groups)
            let net = try tinyNetwork(spec: spec)
            let N = 4, K = spec.classes, P = spec.inputHeight * spec.inputWidth
            try net.forward(training: false, step: 0)
            let before = net.logits.array
            for c in 0..<spec.inputChannels { for p in 0..<P { net.input[(c * N + 2) * P + p] += 0.5 } }
            try net.forward(training: false, step: 0)
            let after = net.logits.array
            for n in [0, 1, 3] {
                XCTAssertEqual((0..<K).map { after[$0 * N + n] }, (0..<K).map { before[$0 * N + n] },
                               "\(groups) group(s): image \(n)'s logits changed when only image 2 did")
            }
            XCTAssertNotEqual((0..<K).map { after[$0 * N + 2] }, (0..<K).map { before[$0 * N + 2] }, "\(groups) group(s)")
        }
    }
}

/// Replicas: a minibatch cut into slices whose gradients are summed is the same SGD step as the
/// whole minibatch at once (up to float rounding: the sums are in another order), dropout
/// included: each image draws its mask at its place in the whole minibatch.
final class ReplicaStepTests: XCTestCase {
    func testTwoSlicesSumToTheWholeMinibatchsGradient() throws {
        var spec = tinySpec(dropout: 0.5)
        XCTAssertTrue(spec.layers.contains { $0.dropout > 0 && $0.kind == .fc })
        let whole = try oneRankNetwork(spec, batch: 8, seed: 3)
        spec.replicas = 2
        let sliced = try Network(spec: spec, batch: 4, placement: Placement(groups: 2, replicas: 2, ranks: 1, rank: 0),
                                 comm: LocalCommunicator(), seed: 3)
        var rng = RandomStream(seed: 11, .test, 0)
        let image = 64   // 1×8×8
        let pixels = (0..<(8 * image)).map { _ in rng.uniform() - 0.5 }, labels = (0..<8).map { Int32($0 % 4) }
        let sgd = SGD(momentum: 0.9, weightDecay: 0.0005)
        let a = try trainingStep(whole, sgd: sgd, learningRate: 0.05, globalStep: 0) { _ in
            for i in 0..<(8 * image) { whole.input[i] = pixels[i] }
            for n in 0..<8 { whole.labels[n] = labels[n] }
        }
        let b = try trainingStep(sliced, sgd: sgd, learningRate: 0.05, globalStep: 0) { r in
            for i in 0..<(4 * image) { sliced.input[i] = pixels[r * 4 * image + i] }
            for n in 0..<4 { sliced.labels[n] = labels[r * 4 + n] }
        }
        XCTAssertEqual(a.loss, b.loss, accuracy: 1e-6 * abs(a.loss))
        XCTAssertEqual(a.errorsTop1, b.errorsTop1); XCTAssertEqual(a.images, 8); XCTAssertEqual(b.images, 8)
        for (p, q) in zip(whole.parameters, sliced.parameters) {
            XCTAssertEqual(p.name, q.name)
            assertClose(q.sum.array, p.grad.array, "\(p.name) summed gradient", rtol: 1e-4, atol: 1e-6)
            assertClose(q.value.array, p.value.array, "\(p.name) after the update", rtol: 1e-5, atol: 1e-7)
        }
    }
}
