import GGUF

/// Text <-> token ids for a GGUF model, matching llama.cpp token for token.
///
/// Built from the `tokenizer.ggml.*` metadata: byte-level BPE (`gpt2`, with the pre-tokenizer named by
/// `tokenizer.ggml.pre`) or SentencePiece-style (`llama`: scores, `▁` for spaces, `<0xNN>` byte
/// fallback) or BERT's WordPiece (`bert`, see ``WordPieceTables``). Immutable after `init`, so one
/// instance is safely shared across threads.
public final class Tokenizer: Sendable {
    enum Kind: Sendable { case bpe, sentencePiece, wordPiece }

    let kind: Kind
    let tokens: [String]
    let attributes: [TokenAttributes]
    let scores: [Float]
    /// Bytes of each token as rendered with `renderSpecial: true` (llama.cpp's piece cache).
    let pieces: FlatBytes
    let preTokenizer: PreTokenizer?
    /// Byte-level BPE: raw bytes -> id over vocabulary and synthetic merge products.
    let bpe: BPETables?
    /// SentencePiece: vocabulary text bytes -> id, and each byte's fallback token.
    let spmLookup: ByteTable?
    let spmByteTokens: [Int32]
    /// WordPiece: normalizer settings and the vocabulary lookup.
    let wordPiece: WordPieceTables?
    let specials: SpecialTokens
    let endOfGeneration: Set<Int32>
    let unknownID: Int32?

    /// Number of tokens in the vocabulary (ids are `0 ..< vocabularySize`).
    public let vocabularySize: Int
    /// Beginning-of-sequence token, from metadata or llama.cpp's per-model default; nil if none.
    public let bosID: Int32?
    /// End-of-sequence token; nil if none.
    public let eosID: Int32?
    /// End-of-turn token (`<|im_end|>`, `<end_of_turn>`, `<|eot_id|>` ...), from metadata or by text.
    public let eotID: Int32?
    /// Padding token, if the metadata names one.
    public let paddingID: Int32?
    /// Whether `encode(_:addSpecial: true, ...)` puts BOS first (`tokenizer.ggml.add_bos_token`, else llama.cpp's default).
    public let addBOS: Bool
    /// Whether `encode(_:addSpecial: true, ...)` puts EOS last (`tokenizer.ggml.add_eos_token`).
    public let addEOS: Bool
    /// The tokens `encode(_:addSpecial: true, ...)` appends: EOS when ``addEOS``; for WordPiece always
    /// `[SEP]` (`tokenizer.ggml.seperator_token_id`, default 102), as llama.cpp does.
    public let specialSuffix: [Int32]
    /// SentencePiece: a space is put before the text (and dropped again when decoding).
    public let addSpacePrefix: Bool
    /// `tokenizer.ggml.model`: `gpt2`, `llama` or `bert`.
    public let model: String
    /// `tokenizer.ggml.pre` as used (nil for SentencePiece).
    public let preTokenizerName: String?
    /// Things a user should know about this vocabulary (e.g. a missing pre-tokenizer and the fallback used).
    public let warnings: [String]

    /// The tokenizer models this implementation supports.
    public static let supportedModels = ["gpt2", "llama", "bert"]
    /// The `tokenizer.ggml.pre` values this implementation supports.
    public static var knownPreTokenizers: [String] { PreTokenizer.knownNames }

    /// Reads the vocabulary from `gguf` (only metadata is touched; vocab-only files work).
    public init(gguf: GGUFFile) throws(TokenizerError) {
        guard let model = gguf.string(GGUFKey.tokenizerModel) else { throw .missingKey(GGUFKey.tokenizerModel) }
        guard let tokens = gguf.array(GGUFKey.tokens)?.strings else {
            if gguf[GGUFKey.tokens] == nil { throw .missingKey(GGUFKey.tokens) }
            throw .badValue(key: GGUFKey.tokens, reason: "expected an array of strings")
        }
        guard !tokens.isEmpty else { throw .badValue(key: GGUFKey.tokens, reason: "the vocabulary is empty") }
        guard tokens.count < Int(Int32.max) else { throw .badValue(key: GGUFKey.tokens, reason: "too many tokens") }
        let n = tokens.count
        self.model = model
        var warnings: [String] = []

        let kind: Kind
        switch model {
        case "gpt2": kind = .bpe
        case "llama": kind = .sentencePiece
        case "bert": kind = .wordPiece
        default: throw .unsupportedModel(model, supported: Self.supportedModels)
        }
        self.kind = kind

        var pre: PreTokenizer?
        if kind == .bpe {
            let name = gguf.string(GGUFKey.tokenizerPre) ?? ""
            if name.isEmpty {
                warnings.append("\(GGUFKey.tokenizerPre) is missing: using llama.cpp's 'default' pre-tokenizer; tokenization may differ from the model's training (re-convert the model)")
                pre = PreTokenizer.families["default"]
            } else if let p = PreTokenizer.families[name] {
                pre = p
            } else {
                throw .unknownPreTokenizer(name, known: PreTokenizer.knownNames)
            }
        }
        preTokenizer = pre
        preTokenizerName = pre?.name

        // Scores and types are optional but, when present, must cover the vocabulary.
        var scores = [Float](repeating: 0, count: n)
        if let v = gguf[GGUFKey.scores] {
            guard let a = v.arrayValue?.floats, a.count >= n else {
                throw .badValue(key: GGUFKey.scores, reason: "expected \(n) numbers")
            }
            scores = Array(a.prefix(n))
        }
        var attrs = [TokenAttributes](repeating: .normal, count: n)
        if let v = gguf[GGUFKey.tokenTypes] {
            guard let a = v.arrayValue?.ints, a.count >= n else {
                throw .badValue(key: GGUFKey.tokenTypes, reason: "expected \(n) integers")
            }
            for i in 0 ..< n { attrs[i] = TokenAttributes(tokenType: a[i]) }
        }
        // llama.cpp replaces empty texts so every id keeps a distinct, visible text.
        var texts = tokens
        for i in 0 ..< n where texts[i].isEmpty { texts[i] = "[EMPTY_\(i)]" }

        // Special ids: llama.cpp's per-model defaults, overridden by metadata when in range.
        func special(_ key: String, default d: Int32?) -> Int32? {
            var id = d.flatMap { $0 >= 0 && Int($0) < n ? $0 : nil }
            if let v = gguf.int(key) {
                if v >= 0, v < n { id = Int32(v) } else { warnings.append("\(key) = \(v) is outside the vocabulary; ignored") }
            }
            return id
        }
        let isSPM = kind == .sentencePiece, isWPM = kind == .wordPiece
        // llama.cpp's defaults per vocabulary type (WPM: BERT's [CLS] 101, [UNK] 100, [SEP] 102, [PAD] 0).
        bosID = special(GGUFKey.bosID, default: isWPM ? 101 : isSPM ? 1 : 11)
        eosID = special(GGUFKey.eosID, default: isWPM ? nil : isSPM ? 2 : 11)
        unknownID = special(GGUFKey.unknownID, default: isWPM ? 100 : isSPM ? 0 : nil)
        paddingID = special(GGUFKey.paddingID, default: isWPM ? 0 : nil)
        let separatorID = special(GGUFKey.separatorID, default: isWPM ? 102 : nil)
        var eot = special(GGUFKey.eotID, default: nil)
        let eom = special(GGUFKey.eomID, default: nil)

        // WordPiece: llama.cpp always brackets the text as [CLS] ... [SEP], whatever the add_* flags say.
        addBOS = isWPM || (gguf.bool(GGUFKey.addBOS) ?? (isSPM ? true : (pre?.addBOSDefault ?? false)))
        addEOS = isWPM ? false : gguf.bool(GGUFKey.addEOS) ?? false
        addSpacePrefix = isWPM ? false : gguf.bool(GGUFKey.addSpacePrefix) ?? isSPM
        if isWPM {
            guard let separatorID else { throw .missingToken("[SEP] (\(GGUFKey.separatorID))") }
            specialSuffix = [separatorID]
        } else {
            specialSuffix = addEOS ? eosID.map { [$0] } ?? [] : []
        }

        // Name-based fix-ups llama.cpp applies: end-of-generation and FIM tokens are control tokens
        // even when the converter typed them otherwise.
        var eog = Set<Int32>()
        for i in 0 ..< n {
            let t = texts[i]
            guard t.utf8.count <= 32, t.utf8.first == 0x3C || t.utf8.first == 0x5B || t.utf8.first == 0x5F || t.utf8.first == 0xE2 else { continue }
            let isEOG = endOfGenerationTexts.contains(t) || fimEndOfGenerationTexts.contains(t)
            if isEOG || fimTexts.contains(t) {
                attrs[i].insert(.control)
                if isEOG { eog.insert(Int32(i)) }
            }
            if eot == nil, endOfGenerationTexts.contains(t), t != "</s>", t != "<eos>" { eot = Int32(i) }
        }
        for id in [eosID, eot, eom] { if let id { eog.insert(id) } }
        eotID = eot
        endOfGeneration = eog

        // Phi-3: special tokens swallow the white space after them (llama.cpp's RSTRIP by model name).
        let modelName = (gguf.string(GGUFKey.name) ?? "").lowercased()
        if modelName.contains("phi-3") || modelName.contains("phi3") {
            for i in 0 ..< n where !attrs[i].isDisjoint(with: [.control, .userDefined, .unknown]) || texts[i] == "</s>" {
                if !["<unk>", "<s>", "<|endoftext|>"].contains(texts[i]) { attrs[i].insert(.rstrip) }
            }
        }

        self.tokens = texts
        self.attributes = attrs
        self.scores = scores
        vocabularySize = n
        self.warnings = warnings

        // Piece cache: what each token renders as.
        var pieces = FlatBytes()
        var spmByteTokens = [Int32](repeating: -1, count: 256)
        for i in 0 ..< n {
            let a = attrs[i]
            var bytes: [UInt8]
            if !a.isDisjoint(with: [.control, .unknown, .userDefined]) {
                bytes = Array(texts[i].utf8)
            } else if a.contains(.normal) {
                bytes = isSPM || isWPM ? Self.unescapeSpaces(texts[i]) : ByteLevel.render(texts[i])
            } else if a.contains(.byte) {
                bytes = Self.byteTokenValue(texts[i]).map { [$0] } ?? []
            } else {
                bytes = []
            }
            pieces.append(bytes)
        }
        self.pieces = pieces

        switch kind {
        case .bpe:
            bpe = try BPETables(tokens: texts, gguf: gguf)
            spmLookup = nil
            wordPiece = nil
        case .wordPiece:
            bpe = nil
            spmLookup = nil
            wordPiece = try WordPieceTables(tokens: texts, attributes: attrs, unknownID: unknownID,
                                            lowercase: gguf.bool(GGUFKey.normalizerLowercase),
                                            stripAccents: gguf.bool(GGUFKey.normalizerStripAccents))
        case .sentencePiece:
            var table = ByteTable(capacity: n)
            for i in 0 ..< n { table.set(Array(texts[i].utf8), Int32(i)) }
            for b in 0 ..< 256 {
                let hex = "<0x" + String(b, radix: 16, uppercase: true).leftPadded(2) + ">"
                if let id = table.lookup(Array(hex.utf8)) ?? table.lookup([UInt8(b)]) { spmByteTokens[b] = id }
            }
            spmLookup = table
            bpe = nil
            wordPiece = nil
        }
        self.spmByteTokens = spmByteTokens
        specials = SpecialTokens(texts: texts, attributes: attrs)
    }

    static func unescapeSpaces(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        let u = Array(s.utf8)
        var i = 0
        while i < u.count {
            if i + 2 < u.count, u[i] == 0xE2, u[i + 1] == 0x96, u[i + 2] == 0x81 { out.append(0x20); i += 3 } else { out.append(u[i]); i += 1 }
        }
        return out
    }

    /// `<0xNN>` -> NN.
    static func byteTokenValue(_ s: String) -> UInt8? {
        let u = Array(s.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        return UInt8(String(decoding: u[3 ..< 5], as: UTF8.self), radix: 16)
    }

    // MARK: - Queries

    @inline(__always) func valid(_ id: Int32) -> Bool { id >= 0 && Int(id) < vocabularySize }

    /// The raw vocabulary string of `id` (empty for an id outside the vocabulary).
    public func tokenText(_ id: Int32) -> String { valid(id) ? tokens[Int(id)] : "" }

    /// The bytes `id` stands for. With `renderSpecial: false`, control and unknown tokens render as nothing.
    public func pieceBytes(_ id: Int32, renderSpecial: Bool = true) -> [UInt8] {
        guard valid(id) else { return [] }
        if !renderSpecial, !attributes[Int(id)].isDisjoint(with: [.control, .unknown]) { return [] }
        return Array(pieces[Int(id)])
    }

    /// True for EOS, end-of-turn / end-of-message and every token llama.cpp treats as ending generation.
    public func isEndOfGeneration(_ id: Int32) -> Bool { endOfGeneration.contains(id) }

    /// True for control tokens (`<|im_start|>`, `<bos>` ...), which only special parsing produces from text.
    public func isControl(_ id: Int32) -> Bool { valid(id) && attributes[Int(id)].contains(.control) }

    /// The score (SentencePiece log-probability) of `id`; 0 for byte-level BPE vocabularies.
    public func score(_ id: Int32) -> Float { valid(id) ? scores[Int(id)] : 0 }

    /// Looks up a token by its exact vocabulary text.
    public func tokenID(forText text: String) -> Int32? {
        let bytes = Array(text.utf8)
        if let spmLookup { return spmLookup.lookup(bytes) }
        if let wordPiece { return wordPiece.lookup.lookup(bytes) }
        return specials.exact(bytes) ?? bpe?.lookupText(text)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
