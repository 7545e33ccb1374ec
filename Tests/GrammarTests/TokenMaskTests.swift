import Foundation
import Grammar
import Runtime
import Testing

/// Token masks against brute force: at every step of random walks through a grammar, the cached,
/// trie-walked mask must equal "feed this token's bytes to a fresh recognizer" for every token, on a
/// vocabulary whose pieces split UTF-8 characters and straddle grammar symbols (`",` `"}` `\n  `...).
@Suite struct TokenMaskTests {
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    /// Single bytes (so any text is reachable), JSON-ish fragments, UTF-8 halves and random strings.
    static func vocabulary(seed: UInt64) -> TokenVocabulary {
        var pieces: [[UInt8]] = (0x20...0x7E).map { [UInt8($0)] }
        let fragments = [#"{""#, #"":"#, #"","#, #""}"#, #" ""#, "},", "]}", "}}", #"":""#, #"", ""#, "\n  ", ",\n", "true", "null", "false",
                         "name", "id", "1.5", "-2", "e+", "é", "😀", "☃", #""a"#, "ab", "[{", "}]", #"\""#, #"\n"#, #"\u00"#, "2024-", "-01", "T1",
                         "  ", "   ", "\n", "\t"]
        pieces += fragments.map { Array($0.utf8) }
        pieces += [[0xC3], [0xA9], [0xF0, 0x9F], [0x98, 0x80], [0xE2], [0x98, 0x83]]
        var g = Generator(state: seed)
        let alphabet = Array(#"{}[]":, abcxyz0123456789.-eé"#.utf8)
        for _ in 0..<1500 {
            let n = 1 + g.below(6)
            pieces.append((0..<n).map { _ in alphabet[g.below(alphabet.count)] })
        }
        pieces.append([]) // a control token: prints nothing, never allowed
        let eog = Int32(pieces.count)
        pieces.append([])
        return TokenVocabulary(pieces: pieces, endOfGeneration: [eog])
    }

    static let schemas = [
        #"{"type":"object","properties":{"name":{"type":"string"},"tags":{"type":"array","items":{"type":"string"},"maxItems":3},"n":{"type":"integer","minimum":0,"maximum":250},"when":{"type":"string","format":"date"},"nested":{"type":"object","properties":{"ok":{"type":"boolean"},"v":{"enum":["é",1,null]}},"required":["ok"]}},"required":["name","n"]}"#,
        #"{"type":"array","items":{"anyOf":[{"type":"number"},{"type":"string","pattern":"^[a-c]{1,4}x?$"},{"type":"array","items":{"type":"null"}}]}}"#,
    ]

    @Test(arguments: [0, 1, 2])
    func masksEqualBruteForce(_ which: Int) throws {
        let gbnf = which < Self.schemas.count ? try JSONSchemaGrammar.gbnf(schema: Self.schemas[which]) : JSONSchemaGrammar.anyJSONObject
        let grammar = try Grammar(gbnf: gbnf)
        let vocab = Self.vocabulary(seed: UInt64(which + 1))
        let constraint = TokenConstraint(grammar: grammar, vocabulary: vocab)
        let pieces = (0..<vocab.size).map { i -> [UInt8] in
            vocab.piece(Int32(i))
        }
        for walk in 0..<3 {
            var g = Generator(state: UInt64(walk * 31 + which))
            var matcher = GrammarMatcher(constraint)
            var prefix: [UInt8] = []
            for _ in 0..<40 {
                let mask = matcher.allowedTokens()
                var expected: [Int32] = []
                for (i, p) in pieces.enumerated() where !p.isEmpty {
                    var r = Recognizer(grammar)
                    if r.feed(prefix + p) { expected.append(Int32(i)) }
                }
                var r = Recognizer(grammar)
                r.feed(prefix)
                if r.isComplete { expected += vocab.endOfGeneration }
                let got = (0..<Int32(vocab.size)).filter { mask.contains($0) }
                #expect(got == expected.sorted(), "walk \(walk) after \(String(decoding: prefix, as: UTF8.self))")
                if got != expected.sorted() { return }
                // Prefer closing moves half the time, so walks also reach the ends of objects.
                let choices = got.filter { !vocab.endOfGeneration.contains($0) }
                if choices.isEmpty { break }
                let t = choices[g.below(choices.count)]
                let accepted = matcher.accept(t)
                #expect(accepted)
                prefix += pieces[Int(t)]
            }
        }
    }

    /// A constrained sampler on random logits always ends in a complete output, within its token budget.
    @Test func constrainedSamplerClosesWithinBudget() throws {
        let gbnf = try JSONSchemaGrammar.gbnf(schema: Self.schemas[0])
        let grammar = try Grammar(gbnf: gbnf)
        let vocab = Self.vocabulary(seed: 9)
        let constraint = TokenConstraint(grammar: grammar, vocabulary: vocab)
        let eog = vocab.endOfGeneration[0]
        for seed in 0..<20 {
            let budget = 60 + seed
            var sampler = Sampler(options: SamplingOptions(temperature: 1, topK: 0, topP: 1, repeatPenalty: 1, seed: UInt64(seed)),
                                  constraint: GrammarMatcher(constraint), tokenBudget: budget)
            var g = Generator(state: UInt64(seed))
            var text: [UInt8] = []
            var ended = false
            for _ in 0..<budget + 1 {
                // Random logits that favour plain letters, so strings tend to run on.
                let logits = (0..<vocab.size).map { i -> Float in
                    let p = vocab.piece(Int32(i))
                    return Float(g.below(100)) / 25 + (p.count == 1 && p[0] >= 0x61 && p[0] <= 0x7A ? 4 : 0)
                }
                let t = sampler.sample(logits)
                if t == eog { ended = true; break }
                sampler.accept(t)
                text += vocab.piece(t)
            }
            #expect(ended, "seed \(seed): no end within \(budget) tokens: \(String(decoding: text, as: UTF8.self))")
            #expect(sampler.generatedCount <= budget)
            #expect(Recognizer.matches(grammar, String(decoding: text, as: UTF8.self)), "\(String(decoding: text, as: UTF8.self))")
        }
    }
}
