import Foundation
import GGUF
import Kernels
import Models
import Testing

/// Every weight type against llama.cpp on one tiny model (Fixtures/quant, made by
/// scripts/make-quant-fixtures.py with llama.cpp's own `llama-quantize --pure`): the log-probabilities
/// of llama.cpp's top-20 tokens at each of 38 positions (a 30-token prompt, then 8 greedy steps fed
/// back one at a time), through every kernel path and every way of batching the prompt.
///
/// The model is small enough that one configuration takes milliseconds on the SIMD paths, so the suite
/// covers scalar, AVX2 and AVX-512 VNNI (where the CPU has them) x prompt chunks of 30, 8, 3 and 1
/// (batched GEMM kernels) x the batch-1 mat-vec kernels, for all twelve files.
@Suite struct QuantConformanceTests {
    static let pool = ThreadPool(threads: 2)

    struct Expected: Decodable {
        var prompt: [Int32]
        var types: [String: TypeCase]
    }

    struct TypeCase: Decodable {
        var file: String?
        var continuation: [Int32]
        /// llama.cpp's own prompt-in-one-batch vs token-by-token difference (information only).
        var sequential_max_delta: Double
        /// Max |log-prob - F32 model's log-prob| over the F32 model's top-20 ids, on its tokens.
        var f32_distance: Double
        /// Per position: [[token id, log-prob]] x 20, most likely first.
        var positions: [[[Double]]]
    }

    /// The fixture directory: the bundled one, or QUANT_FIXTURES (a directory the script wrote with --out) for
    /// experiments with other models.
    static let directory: URL? = ProcessInfo.processInfo.environment["QUANT_FIXTURES"].map { URL(fileURLWithPath: $0) }
        ?? Bundle.module.url(forResource: "quant", withExtension: nil, subdirectory: "Fixtures")

    /// The fixture document, decoded once (a missing or malformed file fails every test that reads it).
    static let loaded: Result<Expected, ConformanceError> = {
        guard let url = directory?.appendingPathComponent("quant-expected.json"),
              let data = try? Data(contentsOf: url)
        else { return .failure(.missingFixture("quant-expected.json (run scripts/make-quant-fixtures.py)")) }
        do { return .success(try JSONDecoder().decode(Expected.self, from: data)) } catch {
            return .failure(.malformedFixture("\(error)"))
        }
    }()

    static func expected() throws -> Expected { try loaded.get() }

    static let quantTypes = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"]
    static let floatTypes = ["F16", "BF16"]
    /// Largest log-prob difference allowed from llama.cpp for the quantized types: 0.01 nats, or llama.cpp's
    /// own batch-versus-sequential difference on the same file when that is larger (a flipped activation
    /// rounding moves this model by ~0.01 nats, and llama.cpp is no steadier than that against itself).
    static func bound(_ want: TypeCase) -> Double { max(0.01, want.sequential_max_delta) }

    /// How the prompt is fed: in chunks of `chunk` tokens with `mode`'s kernels. The continuation always
    /// goes one token at a time with the fastest kernels, as generation does.
    struct Config: CustomStringConvertible {
        var path: KernelPath
        var chunk: Int
        var mode: MatmulMode
        var description: String {
            "\(path) prompt chunk \(chunk) \(mode == .fastest ? "mat-vec" : "batched")"
        }
    }

    static var configs: [Config] {
        KernelPath.available.flatMap { path in
            [30, 8, 3, 1].map { Config(path: path, chunk: $0, mode: .batchInvariant) }
                + [Config(path: path, chunk: 1, mode: .fastest)]
        }
    }

    static func model(_ type: String) throws -> any LanguageModel {
        guard let name = try expected().types[type]?.file, let url = directory?.appendingPathComponent(name),
              FileManager.default.fileExists(atPath: url.path)
        else { throw ConformanceError.missingFixture(type) }
        return try ModelRegistry.load(try GGUFFile(path: url.path), pool: pool)
    }

    enum ConformanceError: Error { case missingFixture(String), malformedFixture(String) }

    /// Log-softmax of every position of `tokens` (row-major [tokens.count x vocab]).
    static func logProbs(_ model: any LanguageModel, tokens: [Int32], promptCount: Int, config: Config) throws -> [[Double]] {
        let cache = model.makeCache(capacity: 64)
        let vocab = model.info.vocabSize
        var rows: [[Double]] = []
        func run(_ start: Int, _ count: Int, _ mode: MatmulMode) throws {
            let logits = try KernelPath.$current.withValue(config.path) {
                try model.forward(tokens: Array(tokens[start ..< start + count]), positions: (start ..< start + count).map(Int32.init),
                                  cache: cache, outputRows: Array(0 ..< count), mode: mode)
            }
            for r in 0 ..< count {
                let row = logits[r * vocab ..< (r + 1) * vocab].map(Double.init)
                let m = row.max()!
                let lse = m + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) })
                rows.append(row.map { $0 - lse })
            }
        }
        var at = 0
        while at < promptCount {
            let n = min(config.chunk, promptCount - at)
            try run(at, n, config.mode)
            at += n
        }
        while at < tokens.count {
            try run(at, 1, .fastest)
            at += 1
        }
        return rows
    }

    /// Max |SwiftLM - reference| over the reference's top ids at every position, and where it is.
    static func distance(_ got: [[Double]], _ reference: [[[Double]]]) -> (delta: Double, position: Int) {
        var worst = (delta: 0.0, position: 0)
        for (p, top) in reference.enumerated() {
            for pair in top {
                let d = abs(got[p][Int(pair[0])] - pair[1])
                if !(d <= worst.delta) { worst = (d, p) }
            }
        }
        return worst
    }

    @Test(arguments: quantTypes)
    func quantTypeMatchesLlamaCpp(_ type: String) throws {
        let doc = try Self.expected()
        let want = try #require(doc.types[type])
        let model = try Self.model(type)
        #expect(want.positions.count == doc.prompt.count + want.continuation.count)
        var worst = (delta: 0.0, config: "")
        for config in Self.configs {
            let got = try Self.logProbs(model, tokens: doc.prompt + want.continuation, promptCount: doc.prompt.count, config: config)
            let (delta, position) = Self.distance(got, want.positions)
            if delta > worst.delta { worst = (delta, config.description) }
            #expect(delta <= Self.bound(want),
                    "\(type) \(config): log-probs differ from llama.cpp by \(delta) at position \(position) (llama.cpp's own batch-vs-sequential noise: \(want.sequential_max_delta))")
        }
        print("[\(type)] \(Self.configs.count) configurations: max |log-prob - llama.cpp| \(worst.delta) (\(worst.config)); llama.cpp batch vs sequential \(want.sequential_max_delta), distance to F32 \(want.f32_distance)")
    }

    /// llama.cpp rounds the activations of F16/BF16 matmuls to 16 bits; SwiftLM keeps them in F32. So the
    /// float types are held to the F32 model's numbers instead: SwiftLM's distance to them must not
    /// exceed llama.cpp's (plus float-summation noise).
    @Test(arguments: floatTypes)
    func floatTypeIsNoFartherFromF32ThanLlamaCpp(_ type: String) throws {
        let doc = try Self.expected()
        let want = try #require(doc.types[type]), f32 = try #require(doc.types["F32"])
        let model = try Self.model(type)
        var worst = 0.0
        defer { print("[\(type)] max distance to the F32 model \(worst), llama.cpp's \(want.f32_distance)") }
        for config in Self.configs {
            let got = try Self.logProbs(model, tokens: doc.prompt + f32.continuation, promptCount: doc.prompt.count, config: config)
            let (delta, position) = Self.distance(got, f32.positions)
            worst = max(worst, delta)
            #expect(delta <= want.f32_distance + 1e-3,
                    "\(type) \(config): \(delta) from the F32 model at position \(position), llama.cpp is \(want.f32_distance) away")
        }
    }

    /// The fixture is only a test if every type's quantization moves the numbers by more than the bound:
    /// otherwise SwiftLM could compute in the wrong type (or in F32) and still pass.
    @Test func fixturesSeparateTheTypes() throws {
        let doc = try Self.expected()
        for type in Self.quantTypes {
            let want = try #require(doc.types[type])
            #expect(want.f32_distance > Self.bound(want), "\(type) is indistinguishable from F32")
        }
    }
}
