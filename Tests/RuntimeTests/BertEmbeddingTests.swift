import Foundation
import Runtime
import SwiftLM
import Testing
import TestSupport

/// all-minilm:22m (BERT) against an independent reference: Fixtures/embeddings-minilm.json, made by
/// scripts/make-embedding-fixtures.py with a float64 numpy forward pass from the Hugging Face weights
/// and Hugging Face `tokenizers`, over 200 held-out inputs (English, Chinese, code, the empty string,
/// single words, inputs past 512 tokens).
@Suite(.serialized) struct BertEmbeddingTests {
    static let name = "all-minilm:22m"

    struct Case: Decodable {
        var text: String
        var ids: [Int32]
        var embedding: String
        var vector: [Float] {
            let data = Data(base64Encoded: embedding)!
            return data.withUnsafeBytes { raw in
                (0 ..< data.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
            }
        }
    }

    struct Fixture: Decodable {
        var max_tokens: Int
        var dimensions: Int
        var cases: [Case]
    }

    static func fixture() throws -> Fixture {
        try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: fixtureURL("embeddings-minilm", "json")))
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var ab = 0.0, aa = 0.0, bb = 0.0
        for (x, y) in zip(a, b) { ab += Double(x) * Double(y); aa += Double(x) * Double(x); bb += Double(y) * Double(y) }
        return ab / (aa.squareRoot() * bb.squareRoot())
    }

    /// The sync API (an async caller would otherwise pick the SwiftLM `async` overload).
    static func embedSync(_ model: LoadedModel, _ texts: [String]) throws -> [[Float]] { try model.embed(texts) }

    @Test func matchesTheReference() async throws {
        guard try RealModels.pathOrSkip(Self.name) != nil else { return }
        let model = try await ModelCache.shared.model(Self.name)
        let fixture = try Self.fixture()
        #expect(fixture.cases.count == 200)
        #expect(model.isEmbeddingModel)
        #expect(model.embeddingPooling == .mean)
        #expect(model.embeddingDimensions == fixture.dimensions)
        #expect(model.embeddingTokenLimit == fixture.max_tokens)
        let texts = fixture.cases.map(\.text)
        #expect(fixture.cases.contains { $0.text.isEmpty })
        #expect(fixture.cases.contains { $0.ids.count == fixture.max_tokens })
        // Tokenization and truncation as Hugging Face's.
        for c in fixture.cases { #expect(model.embeddingTokens(c.text) == c.ids, "\(c.text.prefix(60).debugDescription)") }
        // All 200 in one call: packed batches.
        let vectors = try Self.embedSync(model, texts)
        #expect(vectors.count == texts.count)
        var worst = 1.0
        for (c, v) in zip(fixture.cases, vectors) {
            let cos = Self.cosine(v, c.vector)
            worst = min(worst, cos)
            #expect(cos >= 0.9999, "cosine \(cos) for \(c.text.prefix(60).debugDescription)")
            #expect(abs(Self.cosine(v, v) - 1) < 1e-6)
        }
        print("all-minilm:22m: lowest cosine to the reference over \(vectors.count) inputs: \(worst)")
        // Packing never leaks between inputs: alone, or in another company, a vector is bit-identical.
        for i in [0, 1, 57, 150, 199] { #expect(try Self.embedSync(model, [texts[i]]) == [vectors[i]]) }
        #expect(try Self.embedSync(model, [texts[3], texts[120], texts[2]]) == [vectors[3], vectors[120], vectors[2]])
    }

    /// Q8_0 weights (every matrix but the position and token-type tables, as llama.cpp's converter
    /// quantizes), made here from the F32 model with ggml's round-to-nearest Q8_0: cosine >= 0.999 to
    /// the reference on all 200 inputs (llama.cpp's Q8_0 path, which also quantizes activations, gets 0.998).
    @Test func q8_0MatchesTheReference() async throws {
        guard let path = try RealModels.pathOrSkip(Self.name) else { return }
        let f32 = try GGUFFile(path: path)
        var tensors: [GGUFWriter.Tensor] = []
        var quantized = 0
        for t in f32.tensors {
            let raw = UnsafeRawBufferPointer(start: f32.data(for: t), count: t.byteCount)
            // The store's model may be F32 or F16 (what `swiftlm create` writes): either is widened, then quantized.
            let quantize = [GGMLType.f32, .f16, .bf16].contains(t.type) && t.dimensions.count == 2 && t.dimensions[0] % 32 == 0
                && t.name != GGUFTensorName.positionEmbedding && t.name != GGUFTensorName.tokenTypes
            guard quantize else {
                tensors.append(.init(name: t.name, dimensions: t.dimensions, type: t.type, data: Array(raw)))
                continue
            }
            let count = t.dimensions[0] * t.dimensions[1]
            var floats = [Float](repeating: 0, count: count)
            floats.withUnsafeMutableBufferPointer { Reference.dequantize(t.type, raw.baseAddress!, $0.baseAddress!, count: count) }
            var out = [UInt8](repeating: 0, count: GGMLType.q8_0.byteCount(elements: count)!)
            out.withUnsafeMutableBytes { dst in
                floats.withUnsafeBufferPointer { Reference.quantize(.q8_0, $0.baseAddress!, dst.baseAddress!, count: count) }
            }
            tensors.append(.init(name: t.name, dimensions: t.dimensions, type: .q8_0, data: out))
            quantized += 1
        }
        // Every layer matrix (6 per block) and the token embedding.
        #expect(quantized == 6 * 6 + 1)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlm-minilm-q8_0-\(UUID().uuidString).gguf")
        try GGUFWriter(metadata: f32.metadata, tensors: tensors).write(to: file.path)
        defer { try? FileManager.default.removeItem(at: file) }
        let model = try LoadedModel(path: file.path, threads: 2)
        let fixture = try Self.fixture()
        let vectors = try Self.embedSync(model, fixture.cases.map(\.text))
        var worst = 1.0
        for (c, v) in zip(fixture.cases, vectors) {
            let cos = Self.cosine(v, c.vector)
            worst = min(worst, cos)
            #expect(cos >= 0.999, "Q8_0 cosine \(cos) for \(c.text.prefix(60).debugDescription)")
        }
        print("all-minilm:22m Q8_0: lowest cosine to the reference over \(vectors.count) inputs: \(worst)")
    }

    /// The library's async API, and meaning: a paraphrase is closer than an unrelated sentence.
    @Test func asyncLibraryAPI() async throws {
        guard try RealModels.pathOrSkip(Self.name) != nil else { return }
        let model = try await SwiftLM.load(Self.name, pull: false)
        let v = try await model.embed(["How do I reset my password?", "Steps to recover a forgotten password",
                                       "The Eiffel Tower is in Paris."])
        #expect(v.count == 3)
        #expect(Self.cosine(v[0], v[1]) > Self.cosine(v[0], v[2]) + 0.2)
    }

    @Test func anEncoderDoesNotGenerate() async throws {
        guard try RealModels.pathOrSkip(Self.name) != nil else { return }
        let model = try await ModelCache.shared.model(Self.name)
        #expect(throws: RuntimeError.self) { _ = try InferenceContext(model: model, contextLength: 16) }
        // Below the context, the model itself refuses logits.
        let cache = model.model.makeCache(capacity: 4)
        #expect(throws: ModelError.self) {
            _ = try model.model.forward(tokens: [101], positions: [0], cache: cache, outputRows: [0])
        }
    }
}
