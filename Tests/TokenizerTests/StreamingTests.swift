import Testing
import Tokenizer

@Suite struct StreamingTests {
    static let texts = [
        "Hello 👋 world 🌍! 早上好，世界。", "e\u{301}t\u{e9} 🇫🇷🇯🇵 👨‍👩‍👧‍👦", "   spaces\n\n\ttabs  ", "plain ascii",
        "ÀÉÎÕÜ ñ ß ø ł 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    ]

    /// Whatever way a token sequence is cut, streaming yields exactly the whole decode, and never
    /// a broken character in any chunk.
    @Test(arguments: ["gpt-2", "qwen2", "llama-spm", "deepseek-llm"])
    func streamingEqualsWholeDecode(_ name: String) throws {
        let tok = try VocabFixtures.tokenizer(name)
        for text in Self.texts {
            let ids = tok.encode(text, addSpecial: false, parseSpecial: false)
            let whole = tok.decode(ids)
            #expect(whole == text)
            var s = StreamingDetokenizer(tokenizer: tok)
            var chunks: [String] = []
            for id in ids { chunks.append(s.append(id)) }
            chunks.append(s.finish())
            #expect(chunks.joined() == whole)
            #expect(!chunks.joined().contains("\u{FFFD}"))
        }
    }

    /// Byte tokens of one emoji, fed one at a time: nothing comes out until the character is whole.
    @Test func holdsBackIncompleteBytes() throws {
        let tok = try VocabFixtures.tokenizer("llama-spm")
        // U+1F999 🦙 is not in this vocabulary: it is four <0xNN> byte tokens.
        let ids = tok.encode("🦙", addSpecial: false, parseSpecial: false)
        #expect(ids.count >= 4)
        var s = StreamingDetokenizer(tokenizer: tok)
        let outs = ids.map { s.append($0) }
        #expect(outs.dropLast().allSatisfy { $0.isEmpty || $0 == " " })
        #expect(outs.joined() + s.finish() == tok.decode(ids))
        // An unfinished character at the end is flushed as U+FFFD, like the whole decode.
        var t = StreamingDetokenizer(tokenizer: tok)
        let partial = Array(ids.prefix(ids.count - 1))
        let text = partial.map { t.append($0) }.joined() + t.finish()
        #expect(text == tok.decode(partial))
        #expect(text.hasSuffix("\u{FFFD}"))
    }

    /// SentencePiece drops the space it added in front of the text, in both decoders.
    @Test func sentencePieceLeadingSpace() throws {
        let tok = try VocabFixtures.tokenizer("llama-spm")
        #expect(tok.addSpacePrefix)
        let ids = tok.encode("Hello world", addSpecial: true, parseSpecial: false)
        #expect(ids.first == tok.bosID)
        #expect(tok.decode(Array(ids.dropFirst())) == "Hello world")
        var s = StreamingDetokenizer(tokenizer: tok)
        #expect(ids.dropFirst().map { s.append($0) }.joined() + s.finish() == "Hello world")
        // Continuing after a prompt, the space before the first generated word is real.
        var c = StreamingDetokenizer(tokenizer: tok, atStartOfText: false)
        #expect(ids.dropFirst().map { c.append($0) }.joined() + c.finish() == " Hello world")
    }
}
