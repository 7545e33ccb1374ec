/// Per-code-point class bits used by the pre-tokenizers: the regex classes `\p{L}`, `\p{N}`,
/// `\p{P}`, `\p{S}`, `\p{M}` and `\s` that llama.cpp's split patterns are written in.
struct CharFlags: OptionSet, Sendable {
    let rawValue: UInt8
    static let letter = CharFlags(rawValue: 1 << 0)
    static let number = CharFlags(rawValue: 1 << 1)
    static let punctuation = CharFlags(rawValue: 1 << 2)
    static let symbol = CharFlags(rawValue: 1 << 3)
    static let mark = CharFlags(rawValue: 1 << 4)
    static let whitespace = CharFlags(rawValue: 1 << 5)
    /// Separators, controls, format, surrogates, private use, unassigned: none of the above.
    static let other = CharFlags(rawValue: 1 << 6)
}

enum UnicodeFlags {
    /// The BMP is looked up in a table (built once, ~2 ms); the rare astral code point asks
    /// `Unicode.Scalar.Properties` directly.
    private static let bmp: [UInt8] = (0 ..< 0x10000).map { compute(UInt32($0)).rawValue }

    @inline(__always)
    static func flags(_ cp: UInt32) -> CharFlags {
        if cp < 0x10000 { return CharFlags(rawValue: bmp.withUnsafeBufferPointer { $0[Int(cp)] }) }
        return compute(cp)
    }

    /// The table, for loops that classify many code points.
    static var table: [UInt8] { bmp }

    static func compute(_ cp: UInt32) -> CharFlags {
        guard let s = Unicode.Scalar(cp) else { return .other } // surrogates, > U+10FFFF
        var f: CharFlags = s.properties.isWhitespace ? .whitespace : []
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: f.insert(.letter)
        case .decimalNumber, .letterNumber, .otherNumber: f.insert(.number)
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation: f.insert(.punctuation)
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol: f.insert(.symbol)
        case .nonspacingMark, .spacingMark, .enclosingMark: f.insert(.mark)
        default: if f.isEmpty { f.insert(.other) }
        }
        return f
    }
}

/// UTF-8 <-> code points with llama.cpp's tolerance: a byte that does not start a well-formed
/// sequence becomes U+FFFD and decoding resumes at the next byte.
enum UTF8Codec {
    static let replacement: UInt32 = 0xFFFD

    /// Sequence length implied by a lead byte (1 for continuation / invalid bytes, as llama.cpp's
    /// `unicode_len_utf8`).
    @inline(__always)
    static func sequenceLength(_ lead: UInt8) -> Int {
        if lead < 0x80 { return 1 }
        if lead < 0xC0 { return 1 }
        if lead < 0xE0 { return 2 }
        if lead < 0xF0 { return 3 }
        return 4
    }

    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt32]) {
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(bytes.count)
        var i = 0
        let n = bytes.count
        while i < n {
            let b0 = bytes[i]
            if b0 < 0x80 { out.append(UInt32(b0)); i += 1; continue }
            @inline(__always) func cont(_ k: Int) -> Bool { i + k < n && bytes[i + k] & 0xC0 == 0x80 }
            if b0 & 0x40 == 0 { out.append(replacement); i += 1; continue }
            if b0 & 0x20 == 0 {
                if cont(1) { out.append(UInt32(b0 & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F)); i += 2 } else { out.append(replacement); i += 1 }
                continue
            }
            if b0 & 0x10 == 0 {
                if cont(1), cont(2) {
                    out.append(UInt32(b0 & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F)); i += 3
                } else { out.append(replacement); i += 1 }
                continue
            }
            if b0 & 0x08 == 0, cont(1), cont(2), cont(3) {
                out.append(UInt32(b0 & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12 | UInt32(bytes[i + 2] & 0x3F) << 6 | UInt32(bytes[i + 3] & 0x3F))
                i += 4
                continue
            }
            out.append(replacement); i += 1
        }
    }

    @inline(__always)
    static func append(_ cp: UInt32, to out: inout [UInt8]) {
        if cp < 0x80 { out.append(UInt8(cp)) }
        else if cp < 0x800 { out.append(UInt8(0xC0 | cp >> 6)); out.append(UInt8(0x80 | cp & 0x3F)) }
        else if cp < 0x10000 {
            out.append(UInt8(0xE0 | cp >> 12)); out.append(UInt8(0x80 | cp >> 6 & 0x3F)); out.append(UInt8(0x80 | cp & 0x3F))
        } else {
            out.append(UInt8(0xF0 | (cp >> 18) & 0x07)); out.append(UInt8(0x80 | cp >> 12 & 0x3F))
            out.append(UInt8(0x80 | cp >> 6 & 0x3F)); out.append(UInt8(0x80 | cp & 0x3F))
        }
    }
}
