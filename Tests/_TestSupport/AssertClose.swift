import AlexNetCore
import XCTest

/// The first mismatch report of two arrays, or nil when every element satisfies
/// `|actual − expected| ≤ atol + rtol·|expected|` (NaN never does).
public func closeMismatch(_ actual: [Float], _ expected: [Double], _ name: String,
                          rtol: Double, atol: Double, show: Int = 8) -> String? {
    guard actual.count == expected.count else {
        return "\(name): \(actual.count) values, expected \(expected.count)"
    }
    var bad = 0, worst = -1, worstExcess = -Double.infinity, largest = 0.0
    for i in 0..<actual.count {
        let a = Double(actual[i]), e = expected[i]
        let diff = abs(a - e)
        let excess = diff.isNaN ? Double.infinity : diff - (atol + rtol * abs(e))
        if !diff.isNaN { largest = max(largest, diff) }
        if excess > 0 { bad += 1 }
        if excess > worstExcess { worstExcess = excess; worst = i }
    }
    guard bad > 0 else { return nil }
    func head<T>(_ v: [T]) -> String { v.prefix(show).map { "\($0)" }.joined(separator: ", ") + (v.count > show ? ", …" : "") }
    return """
        \(name): \(bad) of \(actual.count) values differ (rtol \(rtol), atol \(atol)); \
        largest difference \(largest); worst at [\(worst)]: actual \(actual[worst]), expected \(expected[worst])
          actual   [\(head(actual))]
          expected [\(head(expected.map { Float($0) }))]
        """
}

/// Fails with the tensor's name, its first values and the largest difference.
public func assertClose(_ actual: [Float], _ expected: [Double], _ name: String,
                        rtol: Double = 1e-5, atol: Double = 1e-5,
                        file: StaticString = #filePath, line: UInt = #line) {
    if let message = closeMismatch(actual, expected, name, rtol: rtol, atol: atol) {
        XCTFail(message, file: file, line: line)
    }
}

public func assertClose(_ actual: [Float], _ expected: [Float], _ name: String,
                        rtol: Double = 1e-5, atol: Double = 1e-5,
                        file: StaticString = #filePath, line: UInt = #line) {
    assertClose(actual, expected.map(Double.init), name, rtol: rtol, atol: atol, file: file, line: line)
}

public func assertClose(_ actual: Tensor, _ expected: [Double],
                        rtol: Double = 1e-5, atol: Double = 1e-5,
                        file: StaticString = #filePath, line: UInt = #line) {
    assertClose(actual.array, expected, actual.name, rtol: rtol, atol: atol, file: file, line: line)
}

public func assertClose(_ actual: Tensor, _ expected: [Float],
                        rtol: Double = 1e-5, atol: Double = 1e-5,
                        file: StaticString = #filePath, line: UInt = #line) {
    assertClose(actual.array, expected.map(Double.init), actual.name, rtol: rtol, atol: atol, file: file, line: line)
}
