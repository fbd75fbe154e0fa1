/// Rectified linear unit, `f(x) = max(0, x)`, in place on `count` floats.
public enum ReLU {
    public static func forward(_ y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] = max(y[i], 0) }
    }

    /// `dy *= (y > 0)` in place, `y` being the ReLU's output.
    public static func backward(y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { dy[i] = y[i] > 0 ? dy[i] : 0 }
    }
}
