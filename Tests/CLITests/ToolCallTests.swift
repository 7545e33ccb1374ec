import Foundation
import Testing
import TestSupport

/// `swiftlm run --tools`: calls printed as JSON lines, `--tool-command` runs them and feeds the result back.
@Suite(.serialized) struct ToolCallCLITests {
    static let model = "qwen2.5-coder:0.5b"
    static let tools = #"[{"type": "function", "function": {"name": "get_weather", "description": "Get the current weather in a given city", "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "The city, e.g. Paris"}}, "required": ["city"]}}}]"#

    static func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlm-tools-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try tools.write(to: dir.appendingPathComponent("tools.json"), atomically: true, encoding: .utf8)
        return dir
    }

    static func calls(in stdout: String) -> [[String: Any]] {
        stdout.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("{\"id\"") else { return nil }
            return try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }
    }

    @Test func printsTheCallAsJSON() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runSwiftLM(["run", Self.model, "What is the weather like in Paris today?", "--tools", dir.appendingPathComponent("tools.json").path,
                                "--temperature", "0", "--seed", "42", "--num-predict", "48"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let calls = Self.calls(in: r.stdout)
        #expect(calls.count == 1, "stdout: \(r.stdout)")
        #expect(calls.first?["name"] as? String == "get_weather")
        #expect((calls.first?["arguments"] as? [String: Any])?["city"] as? String == "Paris")
        #expect(!r.stdout.contains("<tool_call>"))
    }

    /// The command gets the call's JSON on stdin; its output goes back to the model, whose next reply
    /// uses it. (qwen2.5-coder:0.5b repeats the call before it states the result, so two rounds.)
    @Test func toolCommandFeedsTheResultBack() throws {
        guard try RealModels.pathOrSkip(Self.model) != nil else { return }
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let received = dir.appendingPathComponent("call.json").path
        let command = #"cat > '\#(received)'; echo '{"temperature": 21, "condition": "sunny"}'"#
        let r = try runSwiftLM(["run", Self.model, "What is the weather like in Paris today?", "--tools", dir.appendingPathComponent("tools.json").path,
                                "--tool-command", command, "--max-tool-rounds", "2", "--temperature", "0", "--seed", "42", "--num-predict", "48"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let input = try String(contentsOfFile: received, encoding: .utf8)
        let call = try #require(try JSONSerialization.jsonObject(with: Data(input.utf8)) as? [String: Any])
        #expect(call["name"] as? String == "get_weather")
        #expect((call["arguments"] as? [String: Any])?["city"] as? String == "Paris")
        #expect((call["id"] as? String)?.hasPrefix("call_") == true)
        #expect(r.stderr.contains("[get_weather → {\"temperature\": 21"))
        // The second reply (after the first call line) carries the result.
        let afterFirstCall = r.stdout.split(separator: "\n", maxSplits: 1).dropFirst().joined()
        #expect(afterFirstCall.contains("21"), "stdout: \(r.stdout)")
    }

    @Test func refusesToolsForAModelWithoutToolSupport() throws {
        guard try RealModels.pathOrSkip("smollm2:135m") != nil else { return }
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runSwiftLM(["run", "smollm2:135m", "Hi", "--tools", dir.appendingPathComponent("tools.json").path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("does not support tools"))
    }
}
