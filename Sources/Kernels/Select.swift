import CKernels

extension Ops {
    /// The first index of the largest of `x[0..<n]`, NaNs ignored; 0 when no value exceeds -infinity
    /// (``OpsReference/argmax(_:)``, the same index to the last tie: two vector passes, see select.c).
    public static func argmax(_ x: UnsafePointer<Float>, count n: Int) -> Int {
        Int(sl_argmax(x, Int64(n)))
    }
}

extension OpsReference {
    /// The first index whose value is larger than every one before it and none after: the running
    /// maximum's last update from (-infinity, 0), as llama.cpp's greedy sampler picks.
    public static func argmax(_ x: [Float]) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for i in x.indices where x[i] > bestValue {
            best = i
            bestValue = x[i]
        }
        return best
    }
}
