/// The word splitting a byte-level BPE vocabulary was trained with (`tokenizer.ggml.pre`).
///
/// llama.cpp describes each family as a list of regexes applied in turn, each one splitting every
/// piece left by the previous one into its matches and the text between them. We implement the
/// same semantics with hand-written matchers over code points: the two big GPT-2 / Llama-3-style
/// patterns as state machines (mirroring the structure of the regex), the small auxiliary patterns
/// (`\p{N}`, `[\r\n]`, CJK runs, ...) as character-class scanners. No regex engine on the hot path.
struct PreTokenizer: Sendable {
    enum Stage: Sendable {
        /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`
        case gpt2
        /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
        /// with `marks`, `\p{M}` joins `\p{L}` (Qwen 3.5).
        case llama3(maxDigits: Int, marks: Bool)
        /// Words split at case changes (Mistral's Tekken, GPT-4o):
        /// `[^\r\n\p{L}\p{N}]?U*W+C?|[^\r\n\p{L}\p{N}]?U+W*C?|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
        /// with `C` the optional contraction (`'s`, `'LL`, ...; only with `contractions`). The vocabulary's
        /// `U = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]` and `W = [\p{Ll}\p{Lm}\p{Lo}\p{M}]` are llama.cpp's
        /// approximation: U is a letter other than `a-z`, W a letter other than `A-Z` (so every non-ASCII
        /// letter is both) and marks join neither.
        case caseSplit(maxDigits: Int, contractions: Bool)
        /// `X+`
        case run(CharClass)
        /// `X`
        case single(CharClass)
        /// `\s?X+`
        case optionalSpaceRun(CharClass)
        /// `\s+$`
        case trailingWhitespace
        /// `[0-9][0-9][0-9]`
        case threeDigits
    }

    let name: String
    let stages: [Stage]
    /// Llama 3: a word that is itself a vocabulary entry is emitted whole, without merging.
    let ignoreMerges: Bool
    /// llama.cpp's default for `add_bos_token` when the metadata does not say.
    let addBOSDefault: Bool

    private static let gpt2Stages: [Stage] = [.gpt2]
    private static let llama3Stages: [Stage] = [.llama3(maxDigits: 3, marks: false)]
    private static let qwen2Stages: [Stage] = [.llama3(maxDigits: 1, marks: false)]
    private static let starcoderStages: [Stage] = [.single(.number), .gpt2]

    /// Every `tokenizer.ggml.pre` value we implement, with llama.cpp's aliases.
    static let families: [String: PreTokenizer] = {
        var t: [String: PreTokenizer] = [:]
        func add(_ names: [String], _ stages: [Stage], ignoreMerges: Bool = false, addBOS: Bool = false) {
            for n in names { t[n] = PreTokenizer(name: n, stages: stages, ignoreMerges: ignoreMerges, addBOSDefault: addBOS) }
        }
        add(["default"], [.run(.defaultPunctuation), .gpt2, .run(.number), .threeDigits])
        add(["gpt-2", "phi-2", "mpt", "olmo", "jais", "trillion", "granite-docling", "exaone4", "jina-es", "jina-de",
             "jina-v2-es", "jina-v2-de", "gigachat", "a.x-4.0", "mellum", "modern-bert"], gpt2Stages)
        add(["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"], llama3Stages,
            ignoreMerges: true, addBOS: true)
        add(["dbrx", "smaug-bpe", "chatglm-bpe"], llama3Stages)
        add(["qwen2", "deepseek-r1-qwen", "stablelm2", "megrez", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2"], qwen2Stages)
        add(["qwen35"], [.llama3(maxDigits: 1, marks: true)])
        add(["tekken"], [.caseSplit(maxDigits: 1, contractions: false)], ignoreMerges: true, addBOS: true)
        add(["gpt-4o", "llama4", "kanana2", "talkie"], [.caseSplit(maxDigits: 3, contractions: true)])
        add(["starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"], starcoderStages)
        add(["falcon"], [.run(.falconPunctuation), .gpt2, .threeDigits])
        add(["deepseek-llm"], [.single(.newline), .optionalSpaceRun(.deepseekLetter), .optionalSpaceRun(.deepseekPunctuation),
                               .trailingWhitespace, .run(.cjk), .run(.number)])
        add(["deepseek-coder"], [.single(.newline), .optionalSpaceRun(.letter), .optionalSpaceRun(.punctuation),
                                 .run(.cjk), .single(.number)])
        return t
    }()

    static var knownNames: [String] { families.keys.sorted() }

    /// Splits `cps` into words, returning each word's end offset.
    func split(_ cps: UnsafeBufferPointer<UInt32>, _ fl: UnsafeBufferPointer<UInt8>, into ends: inout [Int], scratch: inout [Int]) {
        ends.removeAll(keepingCapacity: true)
        if cps.isEmpty { return }
        ends.append(cps.count)
        for stage in stages {
            swap(&ends, &scratch)
            ends.removeAll(keepingCapacity: true)
            var start = 0
            for end in scratch {
                var m = Matcher(cps: cps, fl: fl, start: start, end: end)
                m.run(stage, &ends)
                start = end
            }
        }
    }
}

/// Character classes of the auxiliary split patterns.
enum CharClass: Sendable {
    case number, letter, punctuation, newline
    /// `[\p{P}\$\+<=>\^~\|]`
    case defaultPunctuation
    /// `[\p{P}\$\+<=>\^~\|`]`
    case falconPunctuation
    case deepseekLetter, deepseekPunctuation, cjk

    @inline(__always)
    func contains(_ cp: UInt32, _ f: CharFlags) -> Bool {
        switch self {
        case .number: return f.contains(.number)
        case .letter: return f.contains(.letter)
        case .punctuation: return f.contains(.punctuation)
        case .newline: return cp == 0x0A || cp == 0x0D
        case .defaultPunctuation:
            return f.contains(.punctuation) || cp == 0x24 || cp == 0x2B || (cp >= 0x3C && cp <= 0x3E) || cp == 0x5E || cp == 0x7E || cp == 0x7C
        case .falconPunctuation:
            return f.contains(.punctuation) || cp == 0x24 || cp == 0x2B || (cp >= 0x3C && cp <= 0x3E) || cp == 0x5E || cp == 0x7E
                || cp == 0x7C || cp == 0x60
        // llama.cpp runs these literal-range patterns through std::wregex after replacing every
        // non-ASCII white space by U+000B, so such spaces never fall in a range (U+3000 is in both).
        case .deepseekLetter: return !(cp > 0x7F && f.contains(.whitespace)) && DeepSeekRanges.letters.contains(cp)
        case .deepseekPunctuation: return !(cp > 0x7F && f.contains(.whitespace)) && DeepSeekRanges.punctuation.contains(cp)
        case .cjk: return !(cp > 0x7F && f.contains(.whitespace)) && DeepSeekRanges.cjk.contains(cp)
        }
    }
}

/// One fragment being split by one stage.
private struct Matcher {
    let cps: UnsafeBufferPointer<UInt32>
    let fl: UnsafeBufferPointer<UInt8>
    let start: Int
    let end: Int

    static let outOfRange = UInt32.max

    @inline(__always) func cp(_ i: Int) -> UInt32 { i >= start && i < end ? cps[i] : Self.outOfRange }
    /// Empty outside the fragment, like llama.cpp's `_get_flags`.
    @inline(__always) func flags(_ i: Int) -> CharFlags { i >= start && i < end ? CharFlags(rawValue: fl[i]) : [] }

    mutating func run(_ stage: PreTokenizer.Stage, _ ends: inout [Int]) {
        switch stage {
        case .gpt2: gpt2(&ends)
        case let .llama3(maxDigits, marks): llama3(maxDigits: maxDigits, marks: marks, &ends)
        case let .caseSplit(maxDigits, contractions): caseSplit(maxDigits: maxDigits, contractions: contractions, &ends)
        default: scanner(stage, &ends)
        }
    }

    @inline(__always) func isContractionLetter(_ c: UInt32, caseInsensitive: Bool) -> (one: Bool, two: UInt32?) {
        let c = caseInsensitive && c >= 0x41 && c <= 0x5A ? c + 0x20 : c
        switch c {
        case 0x73, 0x74, 0x6D, 0x64: return (true, nil) // s t m d
        case 0x72, 0x76: return (false, 0x65) // re ve
        case 0x6C: return (false, 0x6C) // ll
        default: return (false, nil)
        }
    }

    /// Length of a contraction (`'s`, `'ll`, ...) at `pos`, or 0.
    @inline(__always) func contraction(_ pos: Int, caseInsensitive: Bool) -> Int {
        guard cps[pos] == 0x27, pos + 1 < end else { return 0 }
        let (one, two) = isContractionLetter(cps[pos + 1], caseInsensitive: caseInsensitive)
        if one { return 2 }
        if let two, pos + 2 < end {
            var c = cps[pos + 2]
            if caseInsensitive, c >= 0x41, c <= 0x5A { c += 0x20 }
            if c == two { return 3 }
        }
        return 0
    }

    func gpt2(_ ends: inout [Int]) {
        var pos = start
        while pos < end {
            let c = cps[pos]
            let f = CharFlags(rawValue: fl[pos])
            let k = contraction(pos, caseInsensitive: false)
            if k > 0 { pos += k; ends.append(pos); continue }
            let space = c == 0x20
            let f2 = space ? flags(pos + 1) : f
            if f2.contains(.letter) {
                pos += space ? 2 : 1
                while flags(pos).contains(.letter) { pos += 1 }
                ends.append(pos); continue
            }
            if f2.contains(.number) {
                pos += space ? 2 : 1
                while flags(pos).contains(.number) { pos += 1 }
                ends.append(pos); continue
            }
            let nonWord: CharFlags = [.whitespace, .letter, .number]
            if f2.isDisjoint(with: nonWord), !f2.isEmpty {
                pos += space ? 2 : 1
                while true {
                    let g = flags(pos)
                    if !g.isDisjoint(with: nonWord) || g.isEmpty { break }
                    pos += 1
                }
                ends.append(pos); continue
            }
            var n = 0
            while flags(pos + n).contains(.whitespace) { n += 1 }
            if n > 1, pos + n < end { pos += n - 1; ends.append(pos); continue }
            if n > 0 { pos += n; ends.append(pos); continue }
            pos += 1
            ends.append(pos)
        }
    }

    /// The alternatives that end the Llama 3-style patterns, in their order: `\s*[\r\n]+`, `\s+(?!\S)`, `\s+`,
    /// and otherwise one character on its own. Returns where the piece starting at `pos` ends.
    @inline(__always) func whitespaceOrSingle(_ pos: Int) -> Int {
        var n = 0
        var lastNewline = 0
        while flags(pos + n).contains(.whitespace) {
            let c = cps[pos + n]
            if c == 0x0D || c == 0x0A { lastNewline = pos + n + 1 }
            n += 1
        }
        if lastNewline > 0 { return lastNewline }
        if n > 1, pos + n < end { return pos + n - 1 }
        if n > 0 { return pos + n }
        return pos + 1
    }

    func llama3(maxDigits: Int, marks: Bool, _ ends: inout [Int]) {
        let word: CharFlags = marks ? [.letter, .mark] : [.letter]
        let excluded: CharFlags = marks ? [.whitespace, .letter, .number, .mark] : [.whitespace, .letter, .number]
        var pos = start
        while pos < end {
            let c = cps[pos]
            let f = CharFlags(rawValue: fl[pos])
            let k = contraction(pos, caseInsensitive: true)
            if k > 0 { pos += k; ends.append(pos); continue }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !(c == 0x0D || c == 0x0A || f.contains(.number)) {
                if !f.isDisjoint(with: word) || !flags(pos + 1).isDisjoint(with: word) {
                    pos += 1
                    while !flags(pos).isDisjoint(with: word) { pos += 1 }
                    ends.append(pos); continue
                }
            }
            // \p{N}{1,maxDigits}
            if f.contains(.number) {
                var ini = pos
                while flags(pos).contains(.number) {
                    pos += 1
                    if pos - ini >= maxDigits { ends.append(pos); ini = pos }
                }
                if pos > ini { ends.append(pos) }
                continue
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            let space = c == 0x20
            var f2 = space ? flags(pos + 1) : f
            if f2.isDisjoint(with: excluded), !f2.isEmpty {
                if space { pos += 1 }
                while f2.isDisjoint(with: excluded), !f2.isEmpty { pos += 1; f2 = flags(pos) }
                while pos < end, cps[pos] == 0x0D || cps[pos] == 0x0A { pos += 1 }
                ends.append(pos); continue
            }
            pos = whitespaceOrSingle(pos)
            ends.append(pos)
        }
    }

    /// The `caseSplit` pattern with the backtracking of an ordered-alternation regex engine (llama.cpp
    /// runs it through std::regex): the first alternative that matches at `pos` wins, each quantifier
    /// greedy.
    func caseSplit(maxDigits: Int, contractions: Bool, _ ends: inout [Int]) {
        @inline(__always) func letter(_ i: Int) -> Bool { flags(i).contains(.letter) }
        /// U: a letter that is not `a-z`.
        @inline(__always) func upper(_ i: Int) -> Bool { letter(i) && !(cps[i] >= 0x61 && cps[i] <= 0x7A) }
        /// W: a letter that is not `A-Z`.
        @inline(__always) func lower(_ i: Int) -> Bool { letter(i) && !(cps[i] >= 0x41 && cps[i] <= 0x5A) }
        /// `[^\r\n\p{L}\p{N}]`
        @inline(__always) func prefix(_ i: Int) -> Bool {
            i < end && cps[i] != 0x0D && cps[i] != 0x0A && flags(i).isDisjoint(with: [.letter, .number])
        }
        /// `U*W+` from `j`: the end of the match, or nil. U* first takes the whole U run; if no W
        /// follows, it gives back letters until the last one it gave back is also a W.
        func upperLower(_ j: Int) -> Int? {
            var k = j
            while upper(k) { k += 1 }
            if lower(k) {
                while lower(k) { k += 1 }
                return k
            }
            var p = k - 1
            while p >= j {
                if lower(p) { return p + 1 }
                p -= 1
            }
            return nil
        }
        /// `U+W*` from `j`.
        func upperRun(_ j: Int) -> Int? {
            guard upper(j) else { return nil }
            var k = j + 1
            while upper(k) { k += 1 }
            while lower(k) { k += 1 }
            return k
        }
        func withContraction(_ e: Int) -> Int { contractions && e < end ? e + contraction(e, caseInsensitive: true) : e }

        var pos = start
        while pos < end {
            let c = cps[pos]
            let f = CharFlags(rawValue: fl[pos])
            // Both letter alternatives: with the optional prefix taken when it can be.
            let body = prefix(pos) ? pos + 1 : pos
            if let e = upperLower(body) ?? upperRun(body) {
                pos = withContraction(e); ends.append(pos); continue
            }
            // \p{N}{1,maxDigits}
            if f.contains(.number) {
                let ini = pos
                while pos - ini < maxDigits, flags(pos).contains(.number) { pos += 1 }
                ends.append(pos); continue
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n/]*'
            let excluded: CharFlags = [.whitespace, .letter, .number]
            let space = c == 0x20 && pos + 1 < end && flags(pos + 1).isDisjoint(with: excluded)
            if space || f.isDisjoint(with: excluded) {
                pos += space ? 2 : 1
                while pos < end, flags(pos).isDisjoint(with: excluded) { pos += 1 }
                while pos < end, cps[pos] == 0x0D || cps[pos] == 0x0A || cps[pos] == 0x2F { pos += 1 }
                ends.append(pos); continue
            }
            pos = whitespaceOrSingle(pos)
            ends.append(pos)
        }
    }

    /// Leftmost-match scanners for the simple patterns; text between matches stays a piece of its own.
    func scanner(_ stage: PreTokenizer.Stage, _ ends: inout [Int]) {
        var pos = start
        @inline(__always) func inClass(_ cls: CharClass, _ i: Int) -> Bool {
            i < end && cls.contains(cps[i], CharFlags(rawValue: fl[i]))
        }
        @inline(__always) func ws(_ i: Int) -> Bool { i < end && CharFlags(rawValue: fl[i]).contains(.whitespace) }
        func emit(_ ms: Int, _ me: Int) {
            if ms > pos { ends.append(ms) }
            ends.append(me)
            pos = me
        }
        switch stage {
        case let .run(cls):
            var i = pos
            while i < end {
                if inClass(cls, i) {
                    var j = i + 1
                    while inClass(cls, j) { j += 1 }
                    emit(i, j); i = j
                } else { i += 1 }
            }
        case let .single(cls):
            for i in start ..< end where inClass(cls, i) { emit(i, i + 1) }
        case let .optionalSpaceRun(cls):
            var i = pos
            while i < end {
                let s = ws(i) && inClass(cls, i + 1) ? i : (inClass(cls, i) ? i : -1)
                if s < 0 { i += 1; continue }
                var j = s == i && ws(i) && inClass(cls, i + 1) ? i + 2 : i + 1
                while inClass(cls, j) { j += 1 }
                emit(s, j); i = j
            }
        case .trailingWhitespace:
            var i = end
            while i > start, ws(i - 1) { i -= 1 }
            if i < end { emit(i, end) }
        case .threeDigits:
            var i = pos
            @inline(__always) func digit(_ k: Int) -> Bool { k < end && cps[k] >= 0x30 && cps[k] <= 0x39 }
            while i + 2 < end {
                if digit(i), digit(i + 1), digit(i + 2) { emit(i, i + 3); i += 3 } else { i += 1 }
            }
        case .gpt2, .llama3, .caseSplit: preconditionFailure("state-machine stages are not scanners")
        }
        if pos < end { ends.append(end) }
    }
}
