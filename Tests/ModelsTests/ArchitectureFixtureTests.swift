import Foundation
import GGUF
import Kernels
import Models
import Testing

/// Each architecture variant against llama.cpp on a tiny random-weight GGUF rebuilt from its fixture
/// (scripts/make-arch-fixtures.py): the logits of llama.cpp's top-20 tokens at every position, the argmax at
/// every position (so the greedy continuation too), and, for scaled RoPE, a ~1100-token case past the
/// original context.
@Suite struct ArchitectureFixtureTests {
    static let pool = ThreadPool(threads: 2)

    /// Variants SwiftLM runs: each must match llama.cpp.
    static let f32Variants = ["llama-linear", "llama-llama3", "llama-yarn", "qwen3", "qwen3moe", "gemma2", "olmo2", "granite", "phi3",
                              "llama-swa", "mistral3"]
    /// Each F32 variant also as llama-quantize --pure made it in Q8_0 and in Q4_K (Q5_0 where a row is not a
    /// whole number of 256-blocks), rebuilt here with SwiftLM's quantizer and checked byte for byte by hash.
    static let supported = f32Variants + f32Variants.flatMap { ["\($0)-q8_0", "\($0)-q4_k"] }
    /// Fixtures whose architecture SwiftLM does not run yet, and why. Every fixture is in exactly one of
    /// the two lists (``everyFixtureIsAccountedFor()``), so none is silently left out.
    static let pending: [String: String] = [:]

    /// Largest |logit - llama.cpp's| over llama.cpp's top 20 at any position. Both sides compute in F32 on these
    /// F32 files (llama.cpp's own batch-vs-sequential difference is recorded in the fixtures: 1e-6 to 7e-5), so
    /// the bound the quant-conformance suite uses for noise, 0.01, leaves room only for summation order.
    static let maxLogitDelta = 0.01
    /// Quantized files: both sides also quantize activations to 8 bits before each matmul, where a last-bit
    /// difference can cross a rounding step; the bound is the tightest the real-model engine tests use
    /// (qwen2.5-coder's 0.5, RealModelTests.bounds).
    static let quantizedMaxLogitDelta = 0.5

    static func bound(_ variant: String) -> Double {
        variant.hasSuffix("-q8_0") || variant.hasSuffix("-q4_k") ? quantizedMaxLogitDelta : maxLogitDelta
    }

    @Test func everyFixtureIsAccountedFor() {
        let all = Set(ArchitectureFixture.allVariants)
        #expect(!all.isEmpty, "no fixtures under Fixtures/arch (run scripts/make-arch-fixtures.py)")
        #expect(all == Set(Self.supported).union(Self.pending.keys), "fixtures \(all.sorted())")
        #expect(Set(Self.supported).isDisjoint(with: Self.pending.keys))
    }

    /// Logits of the case's rows: the prompt in one forward call (prompt kernels), then the continuation
    /// one token at a time (generation kernels), as generation runs them. Rows from `positions_from` on.
    static func logits(_ model: any LanguageModel, _ c: ArchitectureFixture.Case) throws -> [[Float]] {
        let cache = model.makeCache(capacity: c.context)
        let v = model.info.vocabSize
        var rows: [[Float]] = []
        let prompt = c.prompt
        let wanted = Array(c.positions_from ..< prompt.count)
        let first = try model.forward(tokens: prompt, positions: (0 ..< prompt.count).map(Int32.init), cache: cache,
                                      outputRows: wanted, mode: .batchInvariant)
        for r in 0 ..< wanted.count { rows.append(Array(first[r * v ..< (r + 1) * v])) }
        for (i, t) in c.continuation.enumerated() {
            let p = Int32(prompt.count + i)
            rows.append(try model.forward(tokens: [t], positions: [p], cache: cache, outputRows: [0], mode: .fastest))
        }
        return rows
    }

    /// (max |Δlogit| over the reference's top ids, positions where the argmax differs).
    static func compare(_ got: [[Float]], _ c: ArchitectureFixture.Case, tieBand: Double = maxLogitDelta) -> (delta: Double, mismatches: [Int]) {
        var delta = 0.0
        var mismatches: [Int] = []
        for (i, (row, top)) in zip(got, c.positions).enumerated() {
            for pair in top { delta = max(delta, abs(Double(row[Int(pair[0])]) - pair[1])) }
            let argmax = row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) }!
            // A different argmax only counts when llama.cpp's own choice is not a tie within the bound.
            if argmax != Int(top[0][0]), top[0][1] - top[1][1] > tieBand { mismatches.append(c.positions_from + i) }
        }
        return (delta, mismatches)
    }

    @Test(arguments: supported)
    func matchesLlamaCpp(variant: String) throws {
        let fixture = try ArchitectureFixture.load(variant)
        let model = try ModelRegistry.load(try fixture.gguf(), pool: Self.pool)
        #expect(model.info.architecture == fixture.architecture)
        for c in fixture.cases {
            let got = try Self.logits(model, c)
            #expect(got.count == c.positions.count)
            let bound = Self.bound(variant)
            let (delta, mismatches) = Self.compare(got, c, tieBand: bound)
            print("[\(variant)] \(c.name): \(got.count) positions from \(c.positions_from), max |logit - llama.cpp| \(delta) (llama.cpp batch vs sequential \(c.sequential_max_delta.map { "\($0)" } ?? "-"))")
            #expect(delta <= bound, "\(variant) \(c.name): max |logit diff| \(delta)")
            #expect(mismatches.isEmpty, "\(variant) \(c.name): argmax differs from llama.cpp at \(mismatches)")
        }
    }

    /// The batched prompt pass equals feeding the same tokens one at a time.
    @Test(arguments: supported)
    func prefillEqualsTokenByToken(variant: String) throws {
        let fixture = try ArchitectureFixture.load(variant)
        let model = try ModelRegistry.load(try fixture.gguf(), pool: Self.pool)
        let c = try #require(fixture.cases.first)
        let v = model.info.vocabSize, n = c.prompt.count
        let batch = try model.forward(tokens: c.prompt, positions: (0 ..< n).map(Int32.init), cache: model.makeCache(capacity: c.context),
                                      outputRows: Array(0 ..< n))
        let stepCache = model.makeCache(capacity: c.context)
        var worst: Float = 0
        for i in 0 ..< n {
            let step = try model.forward(tokens: [c.prompt[i]], positions: [Int32(i)], cache: stepCache, outputRows: [0])
            let ref = batch[i * v ..< (i + 1) * v]
            let scale = max(1, ref.map(abs).max()!)
            worst = max(worst, zip(step, ref).map { abs($0 - $1) }.max()! / scale)
        }
        #expect(worst < 1e-5, "\(variant): prefill and token-by-token decode differ by \(worst)")
    }

    /// llama3 scaling lives only in `rope_freqs.weight`: without it the numbers must move well past the bound
    /// (the fixture checks the scaling, not a model that ignores it), and the tensor holds the converter's factors.
    @Test func llama3FrequencyFactorsMatter() throws {
        let fixture = try ArchitectureFixture.load("llama-llama3")
        let freqs = try #require(fixture.spec.tensors.first { $0.name == GGUFTensorName.ropeFrequencies }?.values)
        let expected = RoPEFrequencies.llama3Factors(base: 500_000, rotaryDims: 64, factor: 8, lowFreqFactor: 1,
                                                            highFreqFactor: 4, originalContext: 256)
        #expect(zip(freqs, expected).allSatisfy { abs($0 - $1) < 1e-5 * $1 })
        let plain = try ModelRegistry.load(try fixture.gguf { $0.removeAll { $0.name == GGUFTensorName.ropeFrequencies } }, pool: Self.pool)
        let c = fixture.cases[0]
        let (delta, _) = Self.compare(try Self.logits(plain, c), c)
        #expect(delta > 10 * Self.maxLogitDelta, "without rope_freqs the logits moved only \(delta)")
    }

    /// The quirks a metadata key switches on must move the numbers well past the bound, so their fixtures test
    /// them: llama's sliding window (llama.cpp's reference past the window is windowed, see the script) and
    /// mistral3's attention temperature.
    @Test(arguments: [("llama-swa", GGUFKey.slidingWindow("llama")), ("mistral3", GGUFKey.attentionTemperatureScale("mistral3"))])
    func quirkKeyMatters(variant: String, key: String) throws {
        let fixture = try ArchitectureFixture.load(variant)
        let plain = try ModelRegistry.load(try fixture.gguf(removingKeys: [key]), pool: Self.pool)
        let c = fixture.cases[0]
        let (delta, _) = Self.compare(try Self.logits(plain, c), c)
        #expect(delta > 10 * Self.maxLogitDelta, "without \(key) the logits moved only \(delta)")
    }

    /// A tensor the architecture does not use is an error naming it, never silently ignored.
    @Test func unusedTensorIsRefused() throws {
        let fixture = try ArchitectureFixture.load("llama-linear")
        let extra = try fixture.gguf { $0.append(("blk.0.attn_output.bias", [128], [Float](repeating: 0.5, count: 128))) }
        #expect(throws: ModelError.unusedTensor("blk.0.attn_output.bias")) { try ModelRegistry.load(extra, pool: Self.pool) }
    }
}
