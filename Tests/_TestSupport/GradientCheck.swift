import AlexNetCore
import XCTest

/// Finite-difference gradient checking, after Caffe's `test_gradient_check_util.hpp`.
///
/// For each checked entry `x[i]` of a Float32 tensor the loss is evaluated at `x[i] ± step`
/// (accumulated in Double by the caller's closure) and the central difference
/// `(L(x₊) − L(x₋)) / (x₊ − x₋)` — divided by the step actually stored in Float — is compared
/// with the analytic gradient:
///
///     |numeric − analytic| ≤ relativeTolerance · max(|numeric|, |analytic|) + absoluteTolerance
///
/// The entry is restored bit for bit afterwards. Callers keep inputs away from kinks (ReLU at
/// 0, ties in max pooling) by more than `step`.
public struct GradientCheck {
    public var step: Float
    public var relativeTolerance: Double
    public var absoluteTolerance: Double

    public init(step: Float = 1e-2, relativeTolerance: Double = 2e-2, absoluteTolerance: Double = 1e-3) {
        self.step = step; self.relativeTolerance = relativeTolerance; self.absoluteTolerance = absoluteTolerance
    }

    public struct Report {
        public var name: String
        public var checked = 0
        public var failures = 0
        public var worstIndex = -1
        public var worstAnalytic = 0.0, worstNumeric = 0.0, worstDifference = 0.0
        public var numeric: [Double] = []
        public var analytic: [Float] = []
        public var passed: Bool { failures == 0 && checked > 0 }

        public var description: String {
            let show = 8
            return """
                gradient \(name): \(failures) of \(checked) entries off; worst at [\(worstIndex)]: \
                analytic \(worstAnalytic), numeric \(worstNumeric), difference \(worstDifference)
                  analytic [\(analytic.prefix(show).map { "\($0)" }.joined(separator: ", "))\(analytic.count > show ? ", …" : "")]
                  numeric  [\(numeric.prefix(show).map { "\(Float($0))" }.joined(separator: ", "))\(numeric.count > show ? ", …" : "")]
                """
        }
    }

    /// Compares `analytic` (one value per entry of `values`) with central differences of `loss`
    /// at `indices` (every entry by default).
    public func compare(_ name: String, values: UnsafeMutablePointer<Float>, analytic: [Float],
                        indices: [Int]? = nil, loss: () -> Double) -> Report {
        var report = Report(name: name)
        report.analytic = analytic
        report.numeric = Array(repeating: .nan, count: analytic.count)
        var worstExcess = -Double.infinity
        for i in indices ?? Array(0..<analytic.count) {
            let saved = values[i]
            let plus = saved + step, minus = saved - step
            values[i] = plus
            let lossPlus = loss()
            values[i] = minus
            let lossMinus = loss()
            values[i] = saved
            let numeric = (lossPlus - lossMinus) / (Double(plus) - Double(minus))
            let a = Double(analytic[i])
            let difference = abs(numeric - a)
            let allowed = relativeTolerance * max(abs(numeric), abs(a)) + absoluteTolerance
            let excess = difference.isNaN ? .infinity : difference - allowed
            report.numeric[i] = numeric
            report.checked += 1
            if excess > 0 { report.failures += 1 }
            if excess > worstExcess {
                worstExcess = excess
                report.worstIndex = i; report.worstAnalytic = a; report.worstNumeric = numeric
                report.worstDifference = difference
            }
        }
        return report
    }

    /// `compare`, failing the test with the tensor's name, first values and worst entry.
    public func check(_ name: String, values: UnsafeMutablePointer<Float>, analytic: [Float],
                      indices: [Int]? = nil, loss: () -> Double,
                      file: StaticString = #filePath, line: UInt = #line) {
        let report = compare(name, values: values, analytic: analytic, indices: indices, loss: loss)
        XCTAssertTrue(report.passed, report.description, file: file, line: line)
    }

    /// `check` for a tensor whose gradient is another tensor (e.g. a `Parameter`'s value and grad).
    public func check(_ values: Tensor, gradient: Tensor, indices: [Int]? = nil, loss: () -> Double,
                      file: StaticString = #filePath, line: UInt = #line) {
        precondition(values.count == gradient.count, "\(values.name) and \(gradient.name) differ in size")
        check(values.name, values: values.data, analytic: gradient.array, indices: indices, loss: loss,
              file: file, line: line)
    }
}
