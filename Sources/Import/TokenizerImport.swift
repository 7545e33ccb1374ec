import Foundation
import GGUF

/// GGUF token types (llama.cpp's `llama_token_type`, sentencepiece's piece types).
enum TokenType: Int64 {
    case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

/// A model folder's tokenizer as GGUF metadata, the way convert_hf_to_gguf.py writes it:
/// - WordPiece (`tokenizer.json` model `WordPiece`, BERT) → `tokenizer.ggml.model = "bert"`, tokens in
///   llama.cpp's "phantom space" form (`▁word` starts a word, `##piece` loses its `##`).
/// - byte-level BPE (`tokenizer.json` model `BPE`) → `"gpt2"` with merges and a pre-tokenizer name.
/// - SentencePiece (`tokenizer.model`, llama and gemma3) → `"llama"` with scores.
/// Special token ids, add-BOS/EOS/SEP flags, normalizer flags and the chat template follow gguf-py's
/// `SpecialVocab`.
struct TokenizerImport {
    var metadata: [(key: String, value: GGUFValue)] = []
    /// Tokens written (the embedding matrix may have more rows, as gemma3's does).
    var tokenCount = 0

    init(directory: String, architecture: Architecture) throws(ImportError) {
        let spm = directory + "/tokenizer.model"
        if architecture.name == "gemma3" || architecture.name == "llama", FileManager.default.fileExists(atPath: spm) {
            if architecture.name == "llama", let tc = try JSONFile.optional(directory + "/tokenizer_config.json"),
               let prefix = tc.bool("add_prefix_space") {
                metadata.append((GGUFKey.addSpacePrefix, .bool(prefix)))
            }
            try sentencePiece(directory: directory, config: architecture.config)
            if architecture.name == "gemma3" { metadata.append((GGUFKey.addSpacePrefix, .bool(false))) }
            return
        }
        let path = directory + "/tokenizer.json"
        let json = try JSONFile(path: path)
        let model = json["model"] as? [String: Any] ?? [:]
        switch model["type"] as? String {
        case "WordPiece":
            guard architecture.isEncoder else {
                throw .unsupportedTokenizer(path: path, reason: "a WordPiece vocabulary belongs to a BERT encoder, not \(architecture.name)")
            }
            try wordPiece(directory: directory, json: json, config: architecture.config)
        case "BPE":
            guard !architecture.isEncoder else { throw .unsupportedTokenizer(path: path, reason: "BPE vocabulary for a BERT model") }
            if architecture.name == "gemma3" {
                throw .unsupportedTokenizer(path: path, reason: "gemma3 needs its SentencePiece tokenizer.model")
            }
            try bytePairs(directory: directory, json: json, config: architecture.config)
        default:
            throw .unsupportedTokenizer(path: path, reason: "model type '\(model["type"] as? String ?? "none")' (WordPiece, BPE or a tokenizer.model are supported)")
        }
    }

    // MARK: WordPiece and BPE (llama.cpp's get_vocab_base)

    /// Tokens by id (vocab plus added tokens, `[PADn]` for holes up to config's vocab_size) and types.
    private static func baseVocabulary(_ json: JSONFile, config: JSONFile) throws(ImportError) -> (tokens: [String], types: [TokenType]) {
        let model = json["model"] as? [String: Any] ?? [:]
        guard let vocab = model["vocab"] as? [String: Any] else {
            throw .unsupportedTokenizer(path: json.path, reason: "model.vocab is not an object of token ids")
        }
        var byID: [Int: String] = [:]
        for (token, id) in vocab { if let id = JSONFile.int(id) { byID[id] = token } }
        var added: [Int: (content: String, special: Bool)] = [:]
        for entry in json["added_tokens"] as? [[String: Any]] ?? [] {
            guard let id = JSONFile.int(entry["id"]), let content = entry["content"] as? String else { continue }
            added[id] = (content, JSONFile.bool(entry["special"]) ?? false)
            byID[id] = content
        }
        let size = config.int("vocab_size") ?? byID.count
        if let top = byID.keys.max(), top >= size {
            throw .unsupportedTokenizer(path: json.path, reason: "token id \(top) is beyond config.json's vocab_size \(size)")
        }
        var tokens: [String] = [], types: [TokenType] = []
        tokens.reserveCapacity(size)
        for id in 0 ..< size {
            guard var token = byID[id] else {
                tokens.append("[PAD\(id)]")
                types.append(.unused)
                continue
            }
            if let extra = added[id] {
                if extra.special || looksSpecial(token) {
                    types.append(.control)
                } else {
                    token = token.replacingOccurrences(of: "\u{2581}", with: " ")
                    types.append(.userDefined)
                }
            } else {
                types.append(.normal)
            }
            tokens.append(token)
        }
        return (tokens, types)
    }

    /// convert_hf_to_gguf.py's `does_token_look_special`: added tokens some models forget to mark special.
    static func looksSpecial(_ t: String) -> Bool {
        ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].contains(t)
            || (t.hasPrefix("<|") && t.hasSuffix("|>")) || (t.hasPrefix("<｜") && t.hasSuffix("｜>"))
            || (t.hasPrefix("<unused") && t.hasSuffix(">"))
    }

    private mutating func wordPiece(directory: String, json: JSONFile, config: JSONFile) throws(ImportError) {
        let (tokens, types) = try Self.baseVocabulary(json, config: config)
        // llama.cpp's WPM tokenizer matches words by a leading "▁" instead of "##" continuations.
        let phantom = zip(tokens, types).map { token, type -> String in
            if type == .control { return token }
            // Compare scalars, not characters: "##" before a combining mark ("##ा") is not a
            // Character-level prefix.
            return token.unicodeScalars.starts(with: "##".unicodeScalars)
                ? String(String.UnicodeScalarView(token.unicodeScalars.dropFirst(2))) : "\u{2581}" + token
        }
        metadata.append((GGUFKey.tokenTypeCount, .uint32(UInt32(config.int("type_vocab_size") ?? 1))))
        metadata.append((GGUFKey.tokenizerModel, .string("bert")))
        // Every BERT vocabulary pre-tokenizes the same way in llama.cpp's WPM tokenizer; "bert-bge" is
        // the name convert_hf_to_gguf.py's hash table gives bert-base-uncased style tokenizers.
        metadata.append((GGUFKey.tokenizerPre, .string("bert-bge")))
        metadata.append((GGUFKey.tokens, .array(.strings(phantom))))
        metadata.append((GGUFKey.tokenTypes, .array(.integers(types.map(\.rawValue), type: 5))))
        tokenCount = tokens.count
        var special = SpecialVocabulary(vocabularySize: tokens.count)
        try special.load(directory: directory, merges: false)
        metadata += special.metadata
    }

    private mutating func bytePairs(directory: String, json: JSONFile, config: JSONFile) throws(ImportError) {
        let (tokens, types) = try Self.baseVocabulary(json, config: config)
        metadata.append((GGUFKey.tokenizerModel, .string("gpt2")))
        metadata.append((GGUFKey.tokenizerPre, .string(try Self.preTokenizerName(json))))
        metadata.append((GGUFKey.tokens, .array(.strings(tokens))))
        metadata.append((GGUFKey.tokenTypes, .array(.integers(types.map(\.rawValue), type: 5))))
        tokenCount = tokens.count
        var special = SpecialVocabulary(vocabularySize: nil)
        try special.load(directory: directory, merges: true)
        metadata += special.metadata
    }

    /// llama.cpp names a BPE pre-tokenizer by hashing the token ids of a test text, which needs the
    /// Hugging Face tokenizer itself; the same names follow from the pre-tokenizer's definition in
    /// tokenizer.json for the families SwiftLM supports.
    static func preTokenizerName(_ json: JSONFile) throws(ImportError) -> String {
        let pre = json["pre_tokenizer"] as? [String: Any] ?? [:]
        let steps = (pre["type"] as? String == "Sequence" ? pre["pretokenizers"] as? [[String: Any]] : [pre]) ?? []
        var patterns: [String] = [], digits = false, byteLevelRegex = false
        for step in steps {
            switch step["type"] as? String {
            case "Split":
                if let p = (step["pattern"] as? [String: Any])?["Regex"] as? String { patterns.append(p) }
            case "Digits":
                digits = JSONFile.bool(step["individual_digits"]) ?? false
            case "ByteLevel":
                byteLevelRegex = JSONFile.bool(step["use_regex"]) ?? true
            default:
                break
            }
        }
        let letters = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|"#
        let tail = #"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        if patterns == [letters + #"\p{N}"# + tail] { return "qwen2" }
        if patterns == [letters + #"\p{N}{1,3}"# + tail] { return "llama-bpe" }
        if patterns.isEmpty, byteLevelRegex { return digits ? "smollm" : "gpt-2" }
        throw .unsupportedTokenizer(path: json.path, reason: "unrecognized BPE pre-tokenizer \(patterns.first.map { "'\($0)'" } ?? "(none)"); supported: GPT-2, Llama 3, Qwen2 and SmolLM byte-level BPE")
    }

    // MARK: SentencePiece (llama.cpp's _create_vocab_sentencepiece)

    private mutating func sentencePiece(directory: String, config: JSONFile) throws(ImportError) {
        let path = directory + "/tokenizer.model"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .missingFile(path: path, hint: "cannot read the SentencePiece model")
        }
        let pieces = try SentencePieceModel.pieces(data, path: path)
        let size = config.int("vocab_size") ?? pieces.count
        var tokens = (0 ..< size).map { "[PAD\($0)]" }
        var scores = [Double](repeating: -10000, count: size)
        var types = [TokenType](repeating: .unused, count: size)
        for (id, piece) in pieces.enumerated() where id < size {
            tokens[id] = piece.text
            scores[id] = Double(piece.score)
            // sentencepiece's IsUnknown / IsControl / IsUnused / IsByte; user-defined pieces stay NORMAL.
            switch piece.type {
            case 2: types[id] = .unknown
            case 3: types[id] = .control
            case 5: types[id] = .unused
            case 6: types[id] = .byte
            default: types[id] = .normal
            }
        }
        if let added = try JSONFile.optional(directory + "/added_tokens.json") {
            for (text, value) in added.object {
                guard let id = JSONFile.int(value), id < size else { continue }
                tokens[id] = text
                scores[id] = -1000
                types[id] = .userDefined
            }
        }
        if let tc = try JSONFile.optional(directory + "/tokenizer_config.json"),
           let decoder = tc["added_tokens_decoder"] as? [String: Any] {
            for (key, value) in decoder {
                guard let id = Int(key), id < size, let entry = value as? [String: Any],
                      var text = entry["content"] as? String else { continue }
                if JSONFile.bool(entry["special"]) == true || Self.looksSpecial(text) {
                    types[id] = .control
                } else {
                    text = text.replacingOccurrences(of: "\u{2581}", with: " ")
                    types[id] = .userDefined
                }
                scores[id] = -1000
                tokens[id] = text
            }
        }
        metadata.append((GGUFKey.tokenizerModel, .string("llama")))
        metadata.append((GGUFKey.tokenizerPre, .string("default")))
        metadata.append((GGUFKey.tokens, .array(.strings(tokens))))
        metadata.append((GGUFKey.scores, .array(.floats(scores, type: 6))))
        metadata.append((GGUFKey.tokenTypes, .array(.integers(types.map(\.rawValue), type: 5))))
        tokenCount = tokens.count
        var special = SpecialVocabulary(vocabularySize: tokens.count)
        try special.load(directory: directory, merges: false)
        metadata += special.metadata
    }
}

/// The pieces of a sentencepiece `ModelProto` (sentencepiece_model.proto): field 1 is the repeated
/// `SentencePiece { string piece = 1; float score = 2; Type type = 3 [default NORMAL = 1]; }`. Other
/// fields (trainer and normalizer specs) are skipped by wire type.
enum SentencePieceModel {
    struct Piece: Equatable {
        var text: String
        var score: Float
        var type: Int
    }

    static func pieces(_ data: Data, path: String) throws(ImportError) -> [Piece] {
        let bytes = [UInt8](data)
        var pieces: [Piece] = []
        var reader = ProtobufReader(bytes: bytes[...], path: path)
        while let (field, wire) = try reader.nextKey() {
            if field == 1, wire == 2 {
                var inner = ProtobufReader(bytes: try reader.lengthDelimited(), path: path)
                var piece = Piece(text: "", score: 0, type: 1)
                while let (f, w) = try inner.nextKey() {
                    switch (f, w) {
                    case (1, 2):
                        guard let s = String(bytes: try inner.lengthDelimited(), encoding: .utf8) else {
                            throw .unsupportedTokenizer(path: path, reason: "piece \(pieces.count) is not UTF-8")
                        }
                        piece.text = s
                    case (2, 5): piece.score = Float(bitPattern: try inner.fixed32())
                    case (3, 0): piece.type = Int(truncatingIfNeeded: try inner.varint())
                    default: try inner.skip(wire: w)
                    }
                }
                pieces.append(piece)
            } else {
                try reader.skip(wire: wire)
            }
        }
        guard !pieces.isEmpty else { throw .unsupportedTokenizer(path: path, reason: "no sentencepiece pieces in the file") }
        return pieces
    }
}

/// Just enough of the protobuf wire format to read a sentencepiece model.
struct ProtobufReader {
    var bytes: ArraySlice<UInt8>
    let path: String

    private func corrupt() -> ImportError { .unsupportedTokenizer(path: path, reason: "corrupt protobuf (not a sentencepiece model?)") }

    mutating func varint() throws(ImportError) -> UInt64 {
        var value: UInt64 = 0, shift: UInt64 = 0
        while let byte = bytes.popFirst() {
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
            if shift > 63 { throw corrupt() }
        }
        throw corrupt()
    }

    mutating func nextKey() throws(ImportError) -> (Int, Int)? {
        if bytes.isEmpty { return nil }
        let key = try varint()
        return (Int(key >> 3), Int(key & 7))
    }

    mutating func lengthDelimited() throws(ImportError) -> ArraySlice<UInt8> {
        let n = try varint()
        guard n <= UInt64(bytes.count) else { throw corrupt() }
        let out = bytes.prefix(Int(n))
        bytes = bytes.dropFirst(Int(n))
        return out
    }

    mutating func fixed32() throws(ImportError) -> UInt32 {
        guard bytes.count >= 4 else { throw corrupt() }
        let b = Array(bytes.prefix(4))
        bytes = bytes.dropFirst(4)
        return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }

    mutating func skip(wire: Int) throws(ImportError) {
        switch wire {
        case 0: _ = try varint()
        case 1: guard bytes.count >= 8 else { throw corrupt() }; bytes = bytes.dropFirst(8)
        case 2: _ = try lengthDelimited()
        case 5: _ = try fixed32()
        default: throw corrupt()
        }
    }
}
