import Foundation
import Testing
import TestSupport

/// The `run`, `explain` and `bench` commands on a real model, through the built binary.
/// Expected values come from Tests/RuntimeTests/Fixtures/engine-smollm2-135m.json (llama.cpp's greedy
/// continuation of the "english" case), repeated here because the CLI tests cannot read that bundle.
@Suite(.serialized) struct RunTests {
    static let model = "smollm2:135m"
    static let prompt = "The capital of France is Paris. The capital of Germany is"
    static let promptIDs: [Int] = [504, 3575, 282, 4649, 314, 7042, 30, 378, 3575, 282, 4521, 314]
    /// The first 25 greedy tokens: llama.cpp's 26th is a near-tie (logits 30.160 vs 30.151), where float
    /// rounding decides.
    static let greedy = " Berlin. The capital of the United States is New York City.\n\nThese are just a few examples of how "
        + "different countries"

    @Test func rawGreedyPrintsExactlyLlamaCppsContinuation() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let r = try runSwiftLM(["run", Self.model, Self.prompt, "--raw", "--temperature", "0", "--num-predict", "25"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout == Self.greedy)
    }

    @Test func verboseReportsSpeedOnStderr() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let r = try runSwiftLM(["run", Self.model, Self.prompt, "--raw", "--temperature", "0", "--num-predict", "4", "--verbose"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout == String(Self.greedy.prefix(" Berlin. The capital".count)))
        #expect(r.stderr.contains("prompt eval rate"))
        #expect(r.stderr.contains("eval count:           4 token(s)"))
    }

    @Test func chatModeAnswersAndEnds() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let r = try runSwiftLM(["run", Self.model, "What is the capital of France?", "--temperature", "0", "--num-predict", "40"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        // (smollm2 is too small to be reliably right; the test is about the chat pipeline.)
        #expect(r.stdout.count > 10)
        #expect(r.stdout.hasSuffix("\n"))
        #expect(!r.stdout.contains("<|im_"))
    }

    @Test func contextOverflowIsReported() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let r = try runSwiftLM(["run", Self.model, Self.prompt, "--raw", "--ctx", "8"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("the prompt needs 13 tokens but the context holds 8; raise --ctx"), "\(r.stderr)")
    }

    @Test func explainJSONMatchesLlamaCpp() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let r = try runSwiftLM(["explain", Self.model, Self.prompt, "--json", "--num-predict", "2", "--top", "3"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let promptTokens = try #require(json["prompt_tokens"] as? [[String: Any]])
        #expect(promptTokens.compactMap { $0["id"] as? Int } == Self.promptIDs)
        #expect(promptTokens.first?["piece"] as? String == "The")
        let steps = try #require(json["steps"] as? [[String: Any]])
        #expect(steps.count == 2)
        #expect(steps.first?["id"] as? Int == 11452)
        #expect(steps.first?["piece"] as? String == " Berlin")
        let top = try #require(steps.first?["top"] as? [[String: Any]])
        #expect(top.count == 3)
        #expect(top.first?["id"] as? Int == 11452)
        let logprob = try #require(top.first?["logprob"] as? Double)
        #expect(logprob < 0 && logprob > -5)
    }

    @Test func explainDrawsBars() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let r = try runSwiftLM(["explain", Self.model, Self.prompt, "--num-predict", "1"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout.contains("█"))
        #expect(r.stdout.contains("\" Berlin\""))
    }

    @Test func benchJSONHasBothTests() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let r = try runSwiftLM(["bench", Self.model, "-p", "32", "-n", "4", "--repetitions", "1", "--json"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        for key in ["pp", "tg", "pp_sd", "tg_sd"] { #expect(json[key] is Double, "missing \(key)") }
        #expect((json["pp"] as? Double ?? 0) > 0)
    }

    @Test func benchParallelJSON() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let r = try runSwiftLM(["bench", Self.model, "--parallel", "3", "-p", "8", "-n", "4", "--repetitions", "1", "--json"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(json["parallel"] as? Int == 3)
        for key in ["tg", "ttft_p50", "ttft_p99"] { #expect((json[key] as? Double ?? 0) > 0, "missing or zero \(key)") }
        #expect((json["ttft_p50"] as? Double ?? 1) <= (json["ttft_p99"] as? Double ?? 0))
    }

    /// `-d`: both tests run after that many tokens in the cache, and the depth counts toward the
    /// model's context (smollm2 was trained on 8192).
    @Test func benchAtDepth() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let r = try runSwiftLM(["bench", Self.model, "-p", "16", "-n", "2", "-d", "48", "-r", "1", "--json"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(json["n_depth"] as? Int == 48)
        #expect((json["pp"] as? Double ?? 0) > 0 && (json["tg"] as? Double ?? 0) > 0)
        let table = try runSwiftLM(["bench", Self.model, "-p", "8", "-n", "1", "-d", "8", "-r", "1"])
        #expect(table.status == 0 && table.stdout.contains("pp8 @ d8") && table.stdout.contains("tg1 @ d8"), "\(table.stdout)")
        let over = try runSwiftLM(["bench", Self.model, "-p", "16", "-n", "1", "-d", "8180", "-r", "1"])
        #expect(over.status != 0 && over.stderr.contains("-d"), "stderr: \(over.stderr)")
    }

    @Test func stdinIsThePromptWhenNotATerminal() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        // stdin that is not a terminal is the prompt (as with Ollama).
        let r = try runSwiftLM(["run", Self.model, "--raw", "--temperature", "0", "--num-predict", "25"], stdin: Self.prompt)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout == Self.greedy)
    }
}
