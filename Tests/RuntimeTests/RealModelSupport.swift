import Foundation
import Runtime
import TestSupport

/// Loaded models shared by the real-model tests (loading maps the file; keep one per model per run).
actor ModelCache {
    static let shared = ModelCache()
    private var models: [String: LoadedModel] = [:]

    func model(_ name: String) throws -> LoadedModel {
        if let m = models[name] { return m }
        let m = try LoadedModel(path: try RealModels.path(name), threads: 2, name: name)
        models[name] = m
        return m
    }
}

/// One case of `Fixtures/engine-<model>.json` (written by scripts/make-engine-fixtures.py from llama.cpp).
struct EngineCase: Decodable {
    var name: String
    var text: String
    var prompt_tokens: [Int32]
    var continuation: [Int32]
    /// llama.cpp's logits per position (top candidates as [id, logit]), from `positions_from` on.
    var positions: [Position]?
    var positions_from: Int?

    struct Position: Decodable {
        var argmax: Int32
        var top: [[Double]]
    }

    /// The gap between llama.cpp's two best logits where `continuation[step]` was chosen, if recorded.
    func referenceMargin(atStep step: Int) -> Double? {
        let index = prompt_tokens.count - 1 + step - (positions_from ?? 0)
        guard let positions, index >= 0, index < positions.count, positions[index].top.count >= 2 else { return nil }
        return positions[index].top[0][1] - positions[index].top[1][1]
    }
}

struct EngineFixture: Decodable {
    var model: String
    var cases: [EngineCase]

    static func load(_ file: String) throws -> EngineFixture {
        guard let url = Bundle.module.url(forResource: "Fixtures/\(file)", withExtension: "json") else {
            throw FixtureMissing(file: file)
        }
        return try JSONDecoder().decode(EngineFixture.self, from: Data(contentsOf: url))
    }
}

struct FixtureMissing: Error, CustomStringConvertible {
    var file: String
    var description: String { "fixture \(file) is missing from Tests/RuntimeTests/Fixtures" }
}

func fixtureURL(_ name: String, _ ext: String) throws -> URL {
    guard let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: ext) else {
        throw FixtureMissing(file: "\(name).\(ext)")
    }
    return url
}

/// Runs a generation to the end and returns the text and statistics.
func collect(_ stream: AsyncThrowingStream<GenerationEvent, Error>) async throws -> (pieces: [String], stats: GenerationStats?) {
    var pieces: [String] = []
    var stats: GenerationStats?
    for try await event in stream {
        switch event {
        case let .text(t): pieces.append(t)
        case let .done(s): stats = s
        case .logprobs, .toolCall: break
        }
    }
    return (pieces, stats)
}
