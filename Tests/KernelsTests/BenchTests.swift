import Foundation
import GGUF
import Kernels
import TestSupport
import Testing

/// Throughput check to run by hand, never a timed assertion:
///   SWIFTLM_KERNEL_BENCH=1 swift test -c release --filter KernelsTests.BenchTests
/// Prints weight GB/s for mat-vec and the time of every matmul of qwen2.5-coder:0.5b at batch 1 and 512.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["SWIFTLM_KERNEL_BENCH"] == "1"), .serialized)
struct BenchTests {
    static let pool = ThreadPool(threads: ThreadPool.defaultThreadCount)

    /// Seconds `body` takes: wall clock, or with `threadCPU` this thread's CPU time (for single-threaded
    /// kernels on a shared machine: time spent descheduled does not count).
    static func seconds(threadCPU: Bool = false, _ body: () -> Void) -> Double {
        func now() -> Double {
            guard threadCPU else { return Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
            var t = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
        }
        let start = now()
        body()
        return now() - start
    }

    /// Best-of-3 time per call, each measurement repeating `body` until it covers ~0.1 s
    /// (best-of, because the development machine is shared); `threadCPU` as in ``seconds(threadCPU:_:)``.
    static func timePerCall(threadCPU: Bool = false, _ body: () -> Void) -> Double {
        let first = seconds(threadCPU: threadCPU, body)
        let reps = max(1, Int(0.1 / max(first, 1e-7)))
        var best = first
        for _ in 0 ..< 3 { best = min(best, seconds(threadCPU: threadCPU) { for _ in 0 ..< reps { body() } } / Double(reps)) }
        return best
    }

    /// Unbuffered (stderr), so figures show up while a long run is still going.
    func report(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    @Test func matVecBandwidth() throws {
        report("threads: \(Self.pool.threadCount), path: \(KernelPath.best)")
        // qwen2.5-0.5B shapes: legacy quants on 896-wide rows (ffn_up/gate, output), k-quants on
        // ffn_down's 4864-wide rows (896 is not a multiple of 256), plus one large matrix of each.
        let legacy: [GGMLType] = [.q5_0, .q8_0, .q4_1, .f32]
        let kquants: [GGMLType] = [.q4_K, .q6_K]
        let cases = legacy.map { ($0, 4864, 896) } + kquants.map { ($0, 896, 4864) }
            + [GGMLType.q5_0, .q8_0, .q4_1].map { ($0, 151_936, 896) } + kquants.map { ($0, 28_000, 4864) }
        for (type, rows, cols) in cases {
            do {
                var rng = TestRandom(seed: 1)
                let oneRow = quantized(type, rng.floats(cols))
                let bytes = UnsafeMutableRawPointer.allocate(byteCount: oneRow.count * rows, alignment: 64)
                defer { bytes.deallocate() }
                oneRow.withUnsafeBytes { src in
                    for r in 0 ..< rows { (bytes + r * oneRow.count).copyMemory(from: src.baseAddress!, byteCount: oneRow.count) }
                }
                let w = try WeightMatrix(name: "bench", type: type, data: bytes, rows: rows, cols: cols)
                let x = rng.floats(cols)
                var y = [Float](repeating: 0, count: rows)
                let t = x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        Self.timePerCall { Linear.matmul(w, xp.baseAddress!, batch: 1, yp.baseAddress!, pool: Self.pool) }
                    }
                }
                let gbs = Double(rows * oneRow.count) / t / 1e9
                report("matvec \(type.name) \(rows) x \(cols): " + String(format: "%8.1f us  %6.1f GB/s", t * 1e6, gbs))
            }
        }
    }

    /// Prompt-path throughput per weight type at batch 512, in int8 multiply-adds per second.
    /// Attention's K/V row kernels on an f16 cache, head size 64 (smollm2, qwen) and 256 (gemma3), 4096 keys:
    /// one query (decode), and blocks of 3 to 28 queries (prefill: rows x a KV head's 3 or 7 query heads; 24 is
    /// smollm2's prompt block: 8 rows x 3 heads), in thread CPU time. Scores and weighted sums run on bf16 pairs
    /// where ``KVRows/bf16Arithmetic`` is on (the report says which); SWIFTLM_ISA=avx512vnni measures the f32
    /// AVX-512 bodies on the same CPU.
    @Test func attentionKernels() throws {
        var rng = TestRandom(seed: 5)
        for n in [64, 256] {
            let keys = 4096, stride = n * 2
            let rows: [UInt8] = (0 ..< keys).flatMap { _ in
                rng.floats(n).flatMap { f -> [UInt8] in let b = Float16(f).bitPattern; return [UInt8(b & 0xFF), UInt8(b >> 8)] }
            }
            // 3: decode's query heads per KV head (smollm2); 24: its prompt blocks (8 rows x 3 heads).
            for m in [1, 3, 12, 24, 28] {
                let queries = (0 ..< m).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: n) }
                let scores = (0 ..< m).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: keys) }
                let outputs = (0 ..< m).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: n) }
                defer { for p in queries + scores + outputs { p.deallocate() } }
                for q in queries { for i in 0 ..< n { q[i] = rng.floats(1)[0] } }
                for s in scores { for j in 0 ..< keys { s[j] = 1 / Float(keys) } }
                let qp = queries.map { UnsafePointer<Float>?(UnsafePointer($0)) }
                let sp = scores.map { UnsafeMutablePointer<Float>?($0) }, wp = scores.map { UnsafePointer<Float>?(UnsafePointer($0)) }
                let op = outputs.map { UnsafeMutablePointer<Float>?($0) }
                let flops = Double(2 * m * keys * n)
                let dots = rows.withUnsafeBytes { raw in
                    Self.timePerCall(threadCPU: true) {
                        KVRows.dots(.f16, queries: qp, count: m, rows: raw.baseAddress!, stride: stride, rowCount: keys,
                                    length: n, scale: 0.125, into: sp, offset: 0)
                    }
                }
                let sums = rows.withUnsafeBytes { raw in
                    Self.timePerCall(threadCPU: true) {
                        KVRows.accumulate(.f16, into: op, count: m, weights: wp, offset: 0, rows: raw.baseAddress!, stride: stride,
                                          rowCount: keys, length: n)
                    }
                }
                report("attention f16 n=\(n) queries=\(m) keys=\(keys) (\(KVRows.bf16Arithmetic ? "bf16" : "f32")): "
                    + String(format: "dots %.1f GFLOP/s, accumulate %.1f GFLOP/s", flops / dots / 1e9, flops / sums / 1e9))
            }
        }
    }

    @Test func matMatThroughput() throws {
        let batch = 512
        let cases: [(GGMLType, Int, Int)] = [(.q5_0, 4864, 896), (.q8_0, 4864, 896), (.q4_1, 4864, 896),
                                             (.q4_K, 896, 4864), (.q6_K, 896, 4864)]
        for (type, rows, cols) in cases {
            var rng = TestRandom(seed: 2)
            let wq = quantized(type, rng.floats(rows * cols))
            let x = rng.floats(batch * cols)
            var y = [Float](repeating: 0, count: batch * rows)
            let t = try wq.withUnsafeBytes { raw in
                let w = try WeightMatrix(name: "bench", type: type, data: raw.baseAddress!, rows: rows, cols: cols)
                return x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        Self.timePerCall { Linear.matmul(w, xp.baseAddress!, batch: batch, yp.baseAddress!, pool: Self.pool) }
                    }
                }
            }
            let gmacs = Double(rows * cols * batch) / t / 1e9
            report("matmat \(type.name) \(rows) x \(cols) batch \(batch): " + String(format: "%8.2f ms  %6.1f GMAC/s", t * 1e3, gmacs))
        }
    }

    @Test(arguments: ["qwen2.5-coder:0.5b", "smollm2:135m", "gemma3:270m"])
    func realModelMatmuls(_ model: String) throws {
        guard let path = try RealModels.pathOrSkip(model) else { return }
        let file = try GGUFFile(path: path)
        let weights = try file.tensors.filter { $0.name.hasPrefix("blk.") && $0.dimensions.count == 2 }.map {
            try WeightMatrix(name: $0.name, type: $0.type, data: file.data(for: $0), rows: $0.rowCount, cols: $0.dimensions[0])
        }
        let maxCols = weights.map(\.cols).max() ?? 0, maxRows = weights.map(\.rows).max() ?? 0
        let bytes = weights.reduce(0) { $0 + $1.rows * $1.rowBytes }
        for batch in [1, 512] {
            var rng = TestRandom(seed: 3)
            let x = rng.floats(batch * maxCols)
            var y = [Float](repeating: 0, count: batch * maxRows)
            let t = x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    Self.timePerCall {
                        for w in weights { Linear.matmul(w, xp.baseAddress!, batch: batch, yp.baseAddress!, pool: Self.pool) }
                    }
                }
            }
            report("\(model): \(weights.count) block matmuls, batch \(batch): "
                + String(format: "%.2f ms (%.1f tok/s, %.1f GB/s of weights)", t * 1e3, Double(batch) / t, Double(bytes) / t / 1e9))
        }
    }
}
