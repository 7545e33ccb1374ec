import SwiftLM
import Testing
import TestSupport

/// docs/LIBRARY.md's example, line for line, with the model name and length as parameters so the test
/// runs fast on the smallest model.
private func libraryExample(_ name: String, maxTokens: Int) async throws -> (String, String) {
    var completion = "", reply = ""
    let model = try await SwiftLM.load(name)   // pulls the model on first use
    let options = GenerationOptions(sampling: SamplingOptions(temperature: 0.7), maxTokens: maxTokens)

    // Plain completion, streamed as it is generated
    for try await piece in try model.complete("def fibonacci(n):", options: options).textPieces {
        completion += piece // print(piece, terminator: "")
    }

    // A chat: the conversation stays in the KV cache between turns
    let chat = try model.chat(system: "You are a concise assistant.", options: options)
    for try await piece in chat.send("Write hello world in Swift.").textPieces { reply += piece }
    return (completion, reply)
}

@Suite struct LibraryExampleTests {
    @Test func readmeExampleRuns() async throws {
        guard try RealModels.pathOrSkip("smollm2:135m") != nil else { return }
        let (completion, reply) = try await libraryExample("smollm2:135m", maxTokens: 12)
        #expect(!completion.isEmpty)
        #expect(!reply.isEmpty)
    }
}
