/// The literal character classes of the DeepSeek pre-tokenizers, as written in their
/// `tokenizer.json` (and in llama.cpp's `LLAMA_VOCAB_PRE_TYPE_DEEPSEEK_*`).
enum DeepSeekRanges {
    static let letters = RangeSet(
        "A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃")
    static let punctuation = RangeSet("!-/:-~！-／：-～‘-‟　-。")
    static let cjk = RangeSet("一-龥ࠀ-一가-퟿")

    /// A set of code-point ranges parsed from regex class syntax (`a-z` ranges and single characters).
    struct RangeSet: Sendable {
        private let lows: [UInt32]
        private let highs: [UInt32]
        private let asciiMask: (UInt64, UInt64)

        init(_ spec: String) {
            let s = Array(spec.unicodeScalars).map(\.value)
            var r: [(UInt32, UInt32)] = []
            var i = 0
            while i < s.count {
                if i + 2 < s.count, s[i + 1] == 0x2D { r.append((s[i], s[i + 2])); i += 3 } else { r.append((s[i], s[i])); i += 1 }
            }
            r.sort { $0.0 < $1.0 }
            // Merge overlaps so at most one range can hold a code point.
            var merged: [(UInt32, UInt32)] = []
            for x in r {
                if let last = merged.last, x.0 <= last.1 &+ 1 { merged[merged.count - 1].1 = max(last.1, x.1) } else { merged.append(x) }
            }
            lows = merged.map(\.0)
            highs = merged.map(\.1)
            var m: (UInt64, UInt64) = (0, 0)
            for c in UInt32(0) ..< 128 where r.contains(where: { $0.0 <= c && c <= $0.1 }) {
                if c < 64 { m.0 |= 1 << UInt64(c) } else { m.1 |= 1 << UInt64(c - 64) }
            }
            asciiMask = m
        }

        @inline(__always)
        func contains(_ c: UInt32) -> Bool {
            if c < 64 { return asciiMask.0 >> UInt64(c) & 1 != 0 }
            if c < 128 { return asciiMask.1 >> UInt64(c - 64) & 1 != 0 }
            // The last range starting at or below c is the only candidate.
            var lo = 0, hi = lows.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if lows[mid] <= c { lo = mid + 1 } else { hi = mid }
            }
            return lo > 0 && highs[lo - 1] >= c
        }
    }
}
