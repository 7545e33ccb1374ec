extension Tokenizer {
    /// Renders `ids` as text, as llama.cpp's `llama_detokenize` (without its optional space clean-up,
    /// so `decode(encode(x)) == x` whenever the vocabulary can spell `x`).
    ///
    /// With `addSpacePrefix` (SentencePiece), the one space the encoder put before the text is
    /// dropped from the first token. Bytes that do not form valid UTF-8 become U+FFFD.
    public func decode(_ ids: [Int32], renderSpecial: Bool = false) -> String {
        String(decoding: decodeBytes(ids, renderSpecial: renderSpecial), as: UTF8.self)
    }

    /// The exact bytes of `ids`, before any UTF-8 repair.
    public func decodeBytes(_ ids: [Int32], renderSpecial: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        var first = true
        for id in ids {
            appendPiece(id, renderSpecial: renderSpecial, stripLeadingSpace: first && addSpacePrefix, to: &out)
            first = false
        }
        return out
    }

    func appendPiece(_ id: Int32, renderSpecial: Bool, stripLeadingSpace: Bool, to out: inout [UInt8]) {
        guard valid(id) else { return }
        if !renderSpecial, !attributes[Int(id)].isDisjoint(with: [.control, .unknown]) { return }
        var p = pieces[Int(id)]
        if stripLeadingSpace, p.first == 0x20 { p = p.dropFirst() }
        out.append(contentsOf: p)
    }
}

/// Turns a stream of generated ids into text one id at a time, never splitting a UTF-8 sequence:
/// bytes of an incomplete character are held back until the rest arrives (or `finish()`).
/// The concatenation of everything returned equals `Tokenizer.decode` of all ids, however they are fed.
public struct StreamingDetokenizer: Sendable {
    private let tokenizer: Tokenizer
    private let renderSpecial: Bool
    private let rendered: Set<Int32>
    private var pending: [UInt8] = []
    private var first = true

    /// - Parameters:
    ///   - renderSpecial: render control tokens (e.g. `<|im_end|>`) as their text.
    ///   - atStartOfText: the first id begins the text, so (SentencePiece with `addSpacePrefix`) its
    ///     leading space is the one the encoder added and is dropped, exactly as `decode` does. Pass
    ///     false when streaming a continuation of a prompt: llama.cpp's generation output keeps that space.
    ///   - rendering: control tokens rendered as their text even without `renderSpecial`: markup a
    ///     parser downstream must see, such as Mistral's `[TOOL_CALLS]` or Llama 3's `<|python_tag|>`,
    ///     while the other control tokens (end of turn...) stay invisible.
    public init(tokenizer: Tokenizer, renderSpecial: Bool = false, atStartOfText: Bool = true, rendering: Set<Int32> = []) {
        self.tokenizer = tokenizer
        self.renderSpecial = renderSpecial
        self.rendered = rendering
        first = atStartOfText
    }

    /// Adds one id; returns the text that became complete (possibly empty).
    public mutating func append(_ id: Int32) -> String {
        tokenizer.appendPiece(id, renderSpecial: renderSpecial || rendered.contains(id), stripLeadingSpace: first && tokenizer.addSpacePrefix, to: &pending)
        first = false
        let cut = Self.completePrefixLength(pending)
        guard cut > 0 else { return "" }
        let s = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return s
    }

    /// Flushes held-back bytes (an unfinished character becomes U+FFFD).
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of the prefix that can be decoded now: everything but a trailing sequence that is a
    /// valid, unfinished start of a character.
    static func completePrefixLength(_ b: [UInt8]) -> Int {
        let n = b.count
        var i = n - 1
        // Find the last lead byte within the last 3 bytes.
        while i >= 0, i >= n - 3, b[i] & 0xC0 == 0x80 { i -= 1 }
        guard i >= 0, i >= n - 3 else { return n }
        let lead = b[i]
        let need: Int
        switch lead {
        case 0xC2 ... 0xDF: need = 2
        case 0xE0 ... 0xEF: need = 3
        case 0xF0 ... 0xF4: need = 4
        default: return n
        }
        let have = n - i
        guard have < need else { return n }
        // The second byte's allowed range depends on the lead (no overlongs, surrogates, > U+10FFFF).
        if have >= 2 {
            let c = b[i + 1]
            let ok: Bool
            switch lead {
            case 0xE0: ok = c >= 0xA0 && c <= 0xBF
            case 0xED: ok = c >= 0x80 && c <= 0x9F
            case 0xF0: ok = c >= 0x90 && c <= 0xBF
            case 0xF4: ok = c >= 0x80 && c <= 0x8F
            default: ok = true
            }
            if !ok { return n }
        }
        return i
    }
}
