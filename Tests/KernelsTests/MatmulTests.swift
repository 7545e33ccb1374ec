import GGUF
import Kernels
import Testing

@Suite struct MatmulTests {
    static let pool = ThreadPool(threads: 3)

    /// y = W x against a Double-accumulated float product with the dequantized weights: the only
    /// difference left is the 8-bit activation rounding, bounded like ggml's MAX_DOT_PRODUCT_ERROR.
    func check(_ type: GGMLType, rows: Int, cols: Int, batch: Int, path: KernelPath) throws {
        var rng = TestRandom(seed: UInt64(rows * 31 + cols * 7 + batch) ^ UInt64(type.rawValue))
        let wf = rng.floats(rows * cols)
        let wq = quantized(type, wf)
        let wd = dequantized(type, wq, count: wf.count)
        let x = rng.floats(batch * cols, scale: 2)
        var y = [Float](repeating: .nan, count: batch * rows)
        try wq.withUnsafeBytes { raw in
            let w = try WeightMatrix(name: "test.weight", type: type, data: raw.baseAddress!, rows: rows, cols: cols)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer {
                    Linear.matmul(w, xp.baseAddress!, batch: batch, $0.baseAddress!, pool: Self.pool, path: path)
                }
            }
        }
        let bound: Float = Reference.activationType(for: type) == .f32 ? 1e-4 : 0.02
        for b in 0 ..< batch {
            for r in 0 ..< rows {
                var exact: Double = 0, magnitude: Double = 0
                for c in 0 ..< cols {
                    exact += Double(wd[r * cols + c]) * Double(x[b * cols + c])
                    magnitude += abs(Double(wd[r * cols + c]) * Double(x[b * cols + c]))
                }
                let err = abs(Double(y[b * rows + r]) - exact) / max(1, magnitude.squareRoot())
                if !(err <= Double(bound)) {
                    Issue.record("\(type) \(path) batch \(batch): y[\(b), \(r)] = \(y[b * rows + r]), expected \(exact)")
                    return
                }
            }
        }
    }

    @Test(arguments: Reference.weightTypes)
    func matVecAndMatMatOnEveryPath(_ type: GGMLType) throws {
        for path in KernelPath.available {
            for batch in [1, 5, 17, 64] where path != .scalar || batch <= 5 {
                try check(type, rows: 37, cols: 512, batch: batch, path: path)
            }
        }
    }

    /// A group of matmuls over one input (Q/K/V, gate and up) gives each matrix exactly what it gets alone,
    /// on every path, batch size and mode: packed and plain layouts, mat-vec and tile kernels side by side
    /// in one pool run, and groups whose activation formats differ (run one by one).
    @Test func groupedMatmulsMatchSingleOnesBitForBit() throws {
        let cols = 512
        let groups: [[(GGMLType, Int)]] = [
            [(.q4_1, 64), (.q4_1, 24), (.q4_1, 37)],   // packed, packed, plain (37 rows: no packed layout)
            [(.q5_0, 40), (.q8_0, 16), (.q5_0, 13)],   // Q8_0-activation types together
            [(.q4_K, 48), (.q6_K, 16)],                // Q8_K activations
            [(.q4_K, 32), (.q8_0, 16), (.f32, 9)],     // different activation formats
            [(.f16, 24), (.f32, 8)],
        ]
        var rng = TestRandom(seed: 11)
        for group in groups {
            let weights = group.map { quantized($0.0, rng.floats($0.1 * cols)) }
            for path in simdPaths {
                for batch in [1, 3, 8, 30] {
                    let x = rng.floats(batch * cols, scale: 2)
                    for mode in [MatmulMode.fastest, .batchInvariant] {
                        let alone = try group.indices.map { i in
                            try product(group[i].0, weights[i], rows: group[i].1, cols: cols, x, count: batch, path: path,
                                        mode: mode, pool: Self.pool)
                        }
                        var together = group.map { [Float](repeating: .nan, count: batch * $0.1) }
                        // The matrices must stay put while the group runs: copies in buffers of our own.
                        let buffers = weights.map { bytes -> UnsafeMutableRawBufferPointer in
                            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 64)
                            b.copyBytes(from: bytes)
                            return b
                        }
                        let outputs = together.map { UnsafeMutablePointer<Float>.allocate(capacity: $0.count) }
                        defer { buffers.forEach { $0.deallocate() }; outputs.forEach { $0.deallocate() } }
                        let ws = try group.indices.map { i in
                            try WeightMatrix(name: "w\(i)", type: group[i].0, data: UnsafeRawPointer(buffers[i].baseAddress!),
                                             rows: group[i].1, cols: cols)
                        }
                        let shared = x.withUnsafeBufferPointer { xp in
                            KernelPath.$current.withValue(path) {
                                Linear.matmul(ws, xp.baseAddress!, batch: batch, outputs, pool: Self.pool, mode: mode)
                            }
                        }
                        let oneFormat = Set(group.map { Reference.activationType(for: $0.0) }).count == 1
                        #expect(shared == oneFormat, "\(group.map(\.0)) \(path): shared one run: \(shared)")
                        for i in together.indices { together[i] = Array(UnsafeBufferPointer(start: outputs[i], count: together[i].count)) }
                        for i in group.indices {
                            #expect(together[i].map(\.bitPattern) == alone[i].map(\.bitPattern),
                                    "\(group[i].0) x\(group[i].1) in \(group.map(\.0)), \(path), batch \(batch), \(mode)")
                        }
                    }
                }
            }
        }
    }

    /// Every path computes the same numbers as the scalar reference (same activation quantization up
    /// to rounding ties), batch tiles and row bands included.
    @Test(arguments: [GGMLType.q4_K, .q6_K, .q8_0, .q4_1, .q5_0, .f32])
    func simdPathsAgreeWithScalarPath(_ type: GGMLType) throws {
        let rows = 70, cols = 768, batch = 9
        var rng = TestRandom(seed: 5)
        let wq = quantized(type, rng.floats(rows * cols))
        let x = rng.floats(batch * cols)
        func run(_ path: KernelPath) throws -> [Float] {
            var y = [Float](repeating: .nan, count: batch * rows)
            try wq.withUnsafeBytes { raw in
                let w = try WeightMatrix(name: "w", type: type, data: raw.baseAddress!, rows: rows, cols: cols)
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer {
                        Linear.matmul(w, xp.baseAddress!, batch: batch, $0.baseAddress!, pool: Self.pool, path: path)
                    }
                }
            }
            return y
        }
        let reference = try run(.scalar)
        let scale = reference.map(abs).max() ?? 1
        for path in simdPaths {
            let y = try run(path)
            for i in y.indices {
                #expect(abs(y[i] - reference[i]) <= 0.01 * scale, "\(type) \(path) at \(i): \(y[i]) vs \(reference[i])")
            }
        }
    }

    /// Shapes off the fast kernels' grain: block counts that are not a multiple of 4 (the mat-vec
    /// kernel folds 4 blocks at a time), row counts off the 4-row GEMM tile and band, and batch
    /// sizes off the 8-row activation tile, including a final group of 4 with padding rows.
    @Test(arguments: [GGMLType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q6_K])
    func tailShapesOnEveryPath(_ type: GGMLType) throws {
        let colsChoices = type.blockSize == 256 ? [256, 768] : [32, 96, 160, 224]
        for path in KernelPath.available where path != .scalar {
            for cols in colsChoices {
                for (rows, batch) in [(1, 1), (3, 1), (17, 1), (5, 2), (18, 3), (7, 6), (21, 9), (13, 13)] {
                    try check(type, rows: rows, cols: cols, batch: batch, path: path)
                }
            }
        }
    }

    /// The batched (GEMM) kernels, the batch-1 mat-vec kernels and the scalar reference compute the same
    /// integer dot products with the same activation quantization (Q8_0, or Q8_1 with its `s` term), so
    /// they may differ only by float summation order: 1e-5 of the row's magnitude, far below the 1%
    /// a wrong scale, a dropped min term or a saturated int16 would cost. Shapes of the conformance
    /// model's FFN (512 x 256 and 256 x 512) at the batch sizes prompts use.
    @Test(arguments: [GGMLType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0])
    func batchedKernelsEqualMatVecAndScalar(_ type: GGMLType) throws {
        for (rows, cols) in [(512, 256), (256, 512)] {
            var rng = TestRandom(seed: UInt64(rows) + UInt64(type.rawValue))
            let wq = quantized(type, rng.floats(rows * cols))
            let batch = 30
            let x = rng.floats(batch * cols, scale: 3)
            func run(_ path: KernelPath, _ n: Int, _ mode: MatmulMode, from b0: Int = 0) throws -> [Float] {
                try product(type, wq, rows: rows, cols: cols, x, from: b0, count: n, path: path, mode: mode, pool: Self.pool)
            }
            let reference = try run(.scalar, batch, .batchInvariant)
            for path in simdPaths {
                var candidates: [(String, [Float])] = []
                for n in [30, 8, 3, 1] {
                    var y: [Float] = []
                    for b0 in stride(from: 0, to: batch, by: n) { y += try run(path, min(n, batch - b0), .batchInvariant, from: b0) }
                    candidates.append(("batched \(n)", y))
                }
                var mv: [Float] = []
                for b in 0 ..< batch { mv += try run(path, 1, .fastest, from: b) }
                candidates.append(("mat-vec", mv))
                for (name, y) in candidates {
                    for b in 0 ..< batch {
                        let row = reference[b * rows ..< (b + 1) * rows]
                        let scale = row.map(abs).max()!
                        let err = zip(y[b * rows ..< (b + 1) * rows], row).map { abs($0 - $1) }.max()!
                        #expect(err <= 1e-5 * scale, "\(type) \(rows)x\(cols) \(path) \(name): row \(b) off by \(err) (scale \(scale))")
                    }
                }
            }
        }
    }

    /// `MatmulMode.batchInvariant`'s promise, bit for bit: a row's result is the same whether it runs
    /// alone, in a tile with padding rows, or in a full batch, on every path (GEMM tiles and per-row
    /// kernels alike), with row counts off the 4-row tile and batch offsets off the 4-row meta group.
    @Test(arguments: [GGMLType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K, .f32])
    func batchInvariantRowsAreBitIdentical(_ type: GGMLType) throws {
        let rows = 23, cols = type.blockSize == 256 ? 512 : 160, batch = 30
        var rng = TestRandom(seed: 77 + UInt64(type.rawValue))
        let wq = quantized(type, rng.floats(rows * cols))
        let x = rng.floats(batch * cols, scale: 3)
        for path in simdPaths {
            func run(_ n: Int, from b0: Int) throws -> [Float] {
                try product(type, wq, rows: rows, cols: cols, x, from: b0, count: n, path: path, mode: .batchInvariant, pool: Self.pool)
            }
            let whole = try run(batch, from: 0)
            for n in [9, 5, 1] {
                var y: [Float] = []
                for b0 in stride(from: 0, to: batch, by: n) { y += try run(min(n, batch - b0), from: b0) }
                #expect(y == whole, "\(type) \(path): chunks of \(n) differ from the whole batch")
            }
        }
    }

    @Test func dequantizeRowMatchesReference() throws {
        let rows = 6, cols = 512
        var rng = TestRandom(seed: 9)
        for type in Reference.weightTypes {
            let wq = quantized(type, rng.floats(rows * cols))
            let all = dequantized(type, wq, count: rows * cols)
            try wq.withUnsafeBytes { raw in
                let w = try WeightMatrix(name: "token_embd.weight", type: type, data: raw.baseAddress!, rows: rows, cols: cols)
                var row = [Float](repeating: .nan, count: cols)
                row.withUnsafeMutableBufferPointer { Linear.dequantizeRow(w, row: 4, into: $0.baseAddress!) }
                for c in 0 ..< cols { #expect(abs(row[c] - all[4 * cols + c]) <= 1e-5, "\(type) col \(c)") }
            }
        }
    }
}

@Suite struct DecodeScheduleTests {
    /// One-row matmuls of matrices big enough to split into many byte-capped bands (an output projection's
    /// shape, shrunk: a few MB), whose tiles prefetch ahead of themselves past band ends, run as a decode
    /// step does, the same sequence again and again on one pool: every repetition, on every path and with 1
    /// or 3 threads, gives the bits of the first call on a fresh 1-thread pool.
    @Test func bandsAndPrefetchingLeaveResultsUnchanged() throws {
        let cols = 768  // whole 256-element blocks for the k-quants
        // 4104 and 2056 rows: a partial last band and a partial 8-row group; 37 rows: no packed layout.
        let shapes: [(GGMLType, Int)] = [(.q8_0, 4104), (.q4_1, 2056), (.q4_1, 37), (.q5_0, 1024), (.q4_K, 520), (.q6_K, 264)]
        var rng = TestRandom(seed: 29)
        let weights = shapes.map { quantized($0.0, rng.floats($0.1 * cols)) }
        let x = rng.floats(cols, scale: 2)
        for path in simdPaths {
            let one = ThreadPool(threads: 1)
            let expected = try shapes.indices.map { i in
                try product(shapes[i].0, weights[i], rows: shapes[i].1, cols: cols, x, count: 1, path: path, mode: .fastest, pool: one)
            }
            for threads in [1, 3] {
                let pool = ThreadPool(threads: threads)
                try weights.withUnsafeBufferPointers { buffers in
                    let ws = try shapes.indices.map { i in
                        try WeightMatrix(name: "w\(i)", type: shapes[i].0, data: buffers[i], rows: shapes[i].1, cols: cols)
                    }
                    for step in 0 ..< 4 {
                        for (i, w) in ws.enumerated() {
                            var y = [Float](repeating: .nan, count: w.rows)
                            x.withUnsafeBufferPointer { xp in
                                y.withUnsafeMutableBufferPointer {
                                    Linear.matmul(w, xp.baseAddress!, batch: 1, $0.baseAddress!, pool: pool, path: path)
                                }
                            }
                            #expect(y.map(\.bitPattern) == expected[i].map(\.bitPattern),
                                    "\(shapes[i].0) x\(shapes[i].1), \(path), \(threads) threads, step \(step)")
                        }
                    }
                }
            }
        }
    }
}

private extension Array where Element == [UInt8] {
    /// `body` with the base address of every array, all held at once.
    func withUnsafeBufferPointers<R>(_ body: ([UnsafeRawPointer]) throws -> R) rethrows -> R {
        func nest(_ i: Int, _ acc: [UnsafeRawPointer]) throws -> R {
            if i == count { return try body(acc) }
            return try self[i].withUnsafeBytes { try nest(i + 1, acc + [$0.baseAddress!]) }
        }
        return try nest(0, [])
    }
}

@Suite struct ThreadPoolTests {
    @Test(arguments: [1, 2, 4])
    func everyIndexRunsExactlyOnce(_ threads: Int) {
        let pool = ThreadPool(threads: threads)
        #expect(pool.threadCount == threads)
        for count in [0, 1, 3, 1000] {
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
            hits.initialize(repeating: 0, count: max(count, 1))
            defer { hits.deallocate() }
            for _ in 0 ..< 50 { pool.parallelFor(count) { hits[$0] += 1 } }
            for i in 0 ..< count { #expect(hits[i] == 50, "index \(i) ran \(hits[i]) times") }
        }
    }

    @Test func nestedCallsRunInline() {
        let pool = ThreadPool(threads: 2)
        let total = UnsafeMutablePointer<Int>.allocate(capacity: 8)
        total.initialize(repeating: 0, count: 8)
        defer { total.deallocate() }
        pool.parallelFor(8) { i in pool.parallelFor(10) { _ in total[i] += 1 } }
        for i in 0 ..< 8 { #expect(total[i] == 10) }
    }

    @Test func defaultThreadCountIsPositive() {
        #expect(ThreadPool.defaultThreadCount >= 1)
    }
}
