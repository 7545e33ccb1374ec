import Foundation
import GGUF
import Runtime
import Template
import Testing
import TestSupport
import Tokenizer

/// Tool-call markup that is a control token (Mistral's `[TOOL_CALLS]` and `[ARGS]`, Llama 3's
/// `<|python_tag|>`): the detokenizer drops control tokens, so without
/// ``GenerationOptions/visibleControlTokens`` the parser would never see the call start.
@Suite struct ControlMarkupTests {
    /// A tiny SentencePiece vocabulary whose call markup, like Mistral's and Llama 3's, is control tokens.
    static let pieces = ["<unk>", "<s>", "</s>", "[TOOL_CALLS]", "[ARGS]", "<|python_tag|>", "[INST]",
                         "Sure", ".", "get_weather", "{", "\"city\"", ":", "\"Paris\"", "}", "\"name\"", ",",
                         "\"arguments\""]
    static let types: [Int64] = [2, 3, 3, 3, 3, 3, 3] + [Int64](repeating: 1, count: 11)

    static func tokenizer() throws -> Tokenizer {
        let meta: [(key: String, value: GGUFValue)] = [
            (GGUFKey.architecture, .string("llama")),
            (GGUFKey.tokenizerModel, .string("llama")),
            (GGUFKey.tokens, .array(.strings(pieces))),
            (GGUFKey.tokenTypes, .array(.integers(types, type: 5))),
            (GGUFKey.addSpacePrefix, .bool(false)),
        ]
        return try Tokenizer(gguf: GGUFFile(mapping: MappedFile(copying: GGUFWriter(metadata: meta).bytes(), name: "markup.gguf")))
    }

    static func id(_ piece: String) -> Int32 { Int32(pieces.firstIndex(of: piece)!) }

    /// Drives a greedy ``SequenceDecoder`` with one-hot logits that make it generate `reply` then `</s>`;
    /// returns the text it streams.
    static func decode(_ reply: [String], visible: [String]) throws -> String {
        let tokenizer = try tokenizer()
        var options = GenerationOptions(sampling: SamplingOptions(temperature: 0), maxTokens: 64)
        options.visibleControlTokens = visible
        var decoder = try SequenceDecoder(prompt: [id("<s>")], options: options, tokenizer: tokenizer, capacity: 128)
        var text = ""
        for piece in reply + ["</s>"] {
            var logits = [Float](repeating: 0, count: pieces.count)
            logits[Int(id(piece))] = 10
            switch decoder.step(logits) {
            case let .next(token, output):
                #expect(token == id(piece))
                text += output.text
            case let .finished(reason, output):
                #expect(reason == .stop && piece == "</s>")
                text += output.text
            }
        }
        #expect(decoder.isFinished)
        return text
    }

    static func parse(_ format: ToolCallFormat, _ text: String) -> [ToolCallEvent] {
        var parser = ToolCallParser(format: format, makeID: { "call_\($0)" })
        return parser.feed(text) + parser.finish()
    }

    @Test func detokenizerRendersOnlyTheMarkupAskedFor() throws {
        let tokenizer = try Self.tokenizer()
        var plain = StreamingDetokenizer(tokenizer: tokenizer)
        var markup = StreamingDetokenizer(tokenizer: tokenizer, rendering: [Self.id("[TOOL_CALLS]")])
        let ids = ["Sure", "[TOOL_CALLS]", "[INST]", "get_weather", "</s>"].map(Self.id)
        #expect(ids.map { plain.append($0) }.joined() == "Sureget_weather")
        #expect(ids.map { markup.append($0) }.joined() == "Sure[TOOL_CALLS]get_weather")
    }

    /// Mistral Small 3.2's `[TOOL_CALLS]name[ARGS]{...}` after some text: a call only when the markup is
    /// visible; otherwise the reply is the run-together text `Sure.get_weather{...}`.
    @Test func mistralCallMarkupReachesTheParser() throws {
        let reply = ["Sure", ".", "[TOOL_CALLS]", "get_weather", "[ARGS]", "{", "\"city\"", ":", "\"Paris\"", "}"]
        let shown = try Self.decode(reply, visible: ToolCallFormat.mistral.markupTokens)
        #expect(shown == #"Sure.[TOOL_CALLS]get_weather[ARGS]{"city":"Paris"}"#)
        let call = ChatToolCall(id: "call_0", name: "get_weather", arguments: try TemplateValue(json: #"{"city": "Paris"}"#))
        #expect(Self.parse(.mistral, shown) == [.text("Sure."), .call(call)])

        let hidden = try Self.decode(reply, visible: [])
        #expect(hidden == #"Sure.get_weather{"city":"Paris"}"#)
        #expect(Self.parse(.mistral, hidden) == [.text(hidden)])
    }

    /// Llama 3.1's `<|python_tag|>{"name": ..., "arguments": ...}` after text; other control tokens stay hidden.
    @Test func llama3PythonTagReachesTheParser() throws {
        let reply = ["Sure", ".", "<|python_tag|>", "{", "\"name\"", ":", "\"Paris\"", ",", "\"arguments\"", ":", "{", "}", "}", "[INST]"]
        let shown = try Self.decode(reply, visible: ToolCallFormat.llama3.markupTokens)
        #expect(shown == #"Sure.<|python_tag|>{"name":"Paris","arguments":{}}"#)
        let call = ChatToolCall(id: "call_0", name: "Paris", arguments: .object(TemplateObject()))
        #expect(Self.parse(.llama3, shown) == [.text("Sure."), .call(call)])
        #expect(Self.parse(.llama3, try Self.decode(reply, visible: [])) == [.text(#"Sure.{"name":"Paris","arguments":{}}"#)])
    }
}
