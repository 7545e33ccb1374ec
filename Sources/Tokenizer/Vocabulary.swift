import GGUF

/// llama.cpp's token attributes, derived from `tokenizer.ggml.token_type` plus the name-based
/// fix-ups llama.cpp applies at load time.
struct TokenAttributes: OptionSet, Sendable {
    let rawValue: UInt16
    static let unknown = TokenAttributes(rawValue: 1 << 0)
    static let unused = TokenAttributes(rawValue: 1 << 1)
    static let normal = TokenAttributes(rawValue: 1 << 2)
    static let control = TokenAttributes(rawValue: 1 << 3)
    static let userDefined = TokenAttributes(rawValue: 1 << 4)
    static let byte = TokenAttributes(rawValue: 1 << 5)
    static let undefined = TokenAttributes(rawValue: 1 << 6)
    static let lstrip = TokenAttributes(rawValue: 1 << 7)
    static let rstrip = TokenAttributes(rawValue: 1 << 8)

    /// GGUF token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    init(tokenType: Int) {
        switch tokenType {
        case 1: self = .normal
        case 2: self = .unknown
        case 3: self = .control
        case 4: self = .userDefined
        case 5: self = .unused
        case 6: self = .byte
        default: self = .undefined
        }
    }

    init(rawValue: UInt16) { self.rawValue = rawValue }
}

/// GPT-2's reversible byte <-> printable code point map: byte-level BPE vocabularies spell every
/// byte as one of these characters (a space is "Ġ", a newline "Ċ").
enum ByteLevel {
    static let byteToCodePoint: [UInt32] = {
        var map = [UInt32](repeating: 0, count: 256)
        var n: UInt32 = 0
        for b in 0 ..< 256 {
            if (33 ... 126).contains(b) || (161 ... 172).contains(b) || (174 ... 255).contains(b) {
                map[b] = UInt32(b)
            } else {
                map[b] = 256 + n
                n += 1
            }
        }
        return map
    }()

    /// Code point -> byte + 1 (0: not a byte-level character); every mapped code point is < 512.
    static let codePointToByte: [UInt16] = {
        var m = [UInt16](repeating: 0, count: 512)
        for b in 0 ..< 256 { m[Int(byteToCodePoint[b])] = UInt16(b) + 1 }
        return m
    }()

    @inline(__always)
    static func byte(_ cp: UInt32) -> UInt8? {
        guard cp < 512 else { return nil }
        let v = codePointToByte[Int(cp)]
        return v == 0 ? nil : UInt8(v - 1)
    }

    /// The bytes a byte-level token text stands for, or nil if it holds a character outside the map.
    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for s in text.unicodeScalars {
            guard let b = byte(s.value) else { return nil }
            out.append(b)
        }
        return out
    }

    /// Like `decode`, but characters outside the map are kept as their UTF-8 (used for rendering).
    static func render(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        for s in text.unicodeScalars {
            if let b = byte(s.value) { out.append(b) } else { out.append(contentsOf: Array(String(s).utf8)) }
        }
        return out
    }
}

/// Texts llama.cpp treats as end-of-generation whatever their token type says (`special_eog_ids`).
let endOfGenerationTexts: Set<String> = [
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
    "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
    "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[",
]

/// Fill-in-the-middle tokens llama.cpp recognises by text; pad / repo / file-separator also end generation.
let fimTexts: Set<String> = [
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>",
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>",
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>",
]
let fimEndOfGenerationTexts: Set<String> = [
    "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]",
    "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", "<|file_sep|>",
]
