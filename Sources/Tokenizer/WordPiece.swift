import Foundation

/// BERT's WordPiece tokenizer (llama.cpp's `WPM`, `tokenizer.ggml.model = bert`), matching Hugging Face
/// `tokenizers` (`BertNormalizer` + `BertPreTokenizer` + `WordPiece`) id for id.
///
/// The GGUF stores the vocabulary in llama.cpp's "phantom space" form: a word-initial piece `word` as
/// `▁word`, a continuation `##ing` as plain `ing`, control tokens (`[CLS]`, `[SEP]` ...) unchanged.
///
/// Steps, in Hugging Face's order:
/// 1. clean: drop NUL, U+FFFD and control characters (general category C*, except tab, newline and
///    carriage return, which count as white space); every white space becomes a space;
/// 2. CJK ideographs get a space on each side, so each is a word of its own;
/// 3. for an uncased vocabulary: NFD then drop non-spacing marks (accent stripping), then lowercase;
/// 4. split on white space, and split every punctuation character (ASCII punctuation or Unicode P*)
///    into a word of its own;
/// 5. each word, greedy longest match first: the first piece as `▁piece`, later ones as continuations;
///    a word with no complete match, or longer than 100 characters, becomes `[UNK]`.
///
/// Lowercasing and accent stripping come from `tokenizer.ggml.normalizer.lowercase` / `.strip_accents`
/// when the file has them (`swiftlm create` keeps them). llama.cpp's converter does not record them, so
/// otherwise lowercasing is inferred from the vocabulary: an uncased BERT vocabulary has no ordinary
/// token with an ASCII capital (bert-base-uncased does keep a few other upper-case symbols such as `ℝ`,
/// so only A-Z count). Accent stripping follows lowercasing unless given, as in Hugging Face.
struct WordPieceTables: Sendable {
    /// Vocabulary text bytes -> id, over the phantom-space texts.
    let lookup: ByteTable
    let unknownID: Int32
    let lowercase: Bool
    /// NFD, then drop non-spacing marks.
    let stripAccents: Bool
    /// Longest vocabulary text in bytes: no match can be longer, so the greedy search starts there.
    let longestToken: Int

    /// Hugging Face's `max_input_chars_per_word`: longer words are `[UNK]` without trying.
    static let maxWordCharacters = 100
    static let phantomSpace: [UInt8] = [0xE2, 0x96, 0x81]

    init(tokens: [String], attributes: [TokenAttributes], unknownID: Int32?, lowercase: Bool?, stripAccents: Bool?)
        throws(TokenizerError) {
        var table = ByteTable(capacity: tokens.count)
        var longest = 0
        var cased = false
        for (i, t) in tokens.enumerated() {
            let bytes = Array(t.utf8)
            table.set(bytes, Int32(i))
            longest = max(longest, bytes.count)
            if !cased, attributes[i].contains(.normal), t.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) {
                cased = true
            }
        }
        guard let unk = unknownID ?? table.lookup(Array("[UNK]".utf8)) else { throw .missingToken("[UNK]") }
        lookup = table
        self.unknownID = unk
        self.lowercase = lowercase ?? !cased
        self.stripAccents = stripAccents ?? self.lowercase
        longestToken = longest
    }

    /// Tokenizes one fragment of plain text (special tokens already split off) into `out`.
    func encode(_ text: String, into out: inout [Int32]) {
        var word: [Unicode.Scalar] = []
        for scalar in normalize(text) {
            if scalar.properties.isWhitespace {
                flush(&word, &out)
            } else if Self.isPunctuation(scalar) {
                flush(&word, &out)
                word.append(scalar)
                flush(&word, &out)
            } else {
                word.append(scalar)
            }
        }
        flush(&word, &out)
    }

    /// Steps 1-3: the text Hugging Face's `BertNormalizer` produces.
    func normalize(_ text: String) -> [Unicode.Scalar] {
        var cleaned = String.UnicodeScalarView()
        var ascii = true
        for s in text.unicodeScalars {
            let v = s.value
            if v == 0 || v == 0xFFFD || Self.isControl(s) { continue }
            if v == 0x09 || v == 0x0A || v == 0x0D || s.properties.isWhitespace {
                cleaned.append(" ")
            } else if Self.isCJK(v) {
                cleaned.append(" ")
                cleaned.append(s)
                cleaned.append(" ")
            } else {
                if v >= 0x80 { ascii = false }
                cleaned.append(s)
            }
        }
        guard lowercase || stripAccents else { return Array(cleaned) }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(cleaned.count)
        let text = String(cleaned)
        let decomposed = ascii || !stripAccents ? text : text.decomposedStringWithCanonicalMapping
        for s in decomposed.unicodeScalars where !(stripAccents && s.properties.generalCategory == .nonspacingMark) {
            if !lowercase {
                out.append(s)
            } else if s.isASCII {
                out.append(s.value >= 0x41 && s.value <= 0x5A ? Unicode.Scalar(s.value + 32)! : s)
            } else {
                out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return out
    }

    /// Step 5 for one word, which is then emptied.
    private func flush(_ word: inout [Unicode.Scalar], _ out: inout [Int32]) {
        guard !word.isEmpty else { return }
        defer { word.removeAll(keepingCapacity: true) }
        if word.count > Self.maxWordCharacters { out.append(unknownID); return }
        // UTF-8 of the word, and the byte offset where each character starts (matches end on characters).
        var bytes: [UInt8] = []
        var starts: [Int] = []
        for s in word {
            starts.append(bytes.count)
            bytes.append(contentsOf: UTF8.encode(s)!)
        }
        starts.append(bytes.count)
        let mark = out.count
        var key: [UInt8] = []
        var c = 0 // character index where the next piece starts
        while c < word.count {
            let prefix = c == 0 ? Self.phantomSpace : []
            var found: (id: Int32, end: Int)?
            var e = word.count
            while e > c {
                let length = starts[e] - starts[c]
                if length + prefix.count <= longestToken {
                    key.removeAll(keepingCapacity: true)
                    key.append(contentsOf: prefix)
                    key.append(contentsOf: bytes[starts[c] ..< starts[e]])
                    if let id = lookup.lookup(key) { found = (id, e); break }
                }
                e -= 1
            }
            guard let found else {
                // No piece fits here: the whole word is unknown, pieces found so far included.
                out.removeSubrange(mark...)
                out.append(unknownID)
                return
            }
            out.append(found.id)
            c = found.end
        }
    }

    /// Hugging Face's `is_control`: general category C* (Cc, Cf, Cs, Co, Cn), except tab, LF and CR.
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09, 0x0A, 0x0D: return false
        default: break
        }
        switch s.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    /// `BertPreTokenizer`'s punctuation: ASCII punctuation (including `$+<=>^`|~`) or Unicode P*.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (0x21 ... 0x2F).contains(v) || (0x3A ... 0x40).contains(v) || (0x5B ... 0x60).contains(v) || (0x7B ... 0x7E).contains(v) {
            return true
        }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// The CJK ideograph blocks BERT isolates (`is_chinese_char`): Unified Ideographs, Extensions A-E and
    /// the compatibility ideographs; Hangul, kana and CJK punctuation are not in them. Hugging Face's
    /// list starts its fifth range at U+2B920 (not U+2B820, where Extension E starts), so
    /// U+2B820...U+2B91F stay inside words; matching it is the point.
    static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00 ... 0x9FFF).contains(v) || (0x3400 ... 0x4DBF).contains(v) || (0x20000 ... 0x2A6DF).contains(v)
            || (0x2A700 ... 0x2B73F).contains(v) || (0x2B740 ... 0x2B81F).contains(v) || (0x2B920 ... 0x2CEAF).contains(v)
            || (0xF900 ... 0xFAFF).contains(v) || (0x2F800 ... 0x2FA1F).contains(v)
    }
}
