/// A set of bytes as a 256-bit mask: one terminal of the byte-level grammar.
public struct ByteSet: Hashable, Sendable {
    var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    public init() {}

    public init(_ range: ClosedRange<UInt8>) {
        for b in range { insert(b) }
    }

    public static func == (a: ByteSet, b: ByteSet) -> Bool { a.words == b.words }

    public func hash(into h: inout Hasher) {
        h.combine(words.0); h.combine(words.1); h.combine(words.2); h.combine(words.3)
    }

    @inline(__always) public func contains(_ b: UInt8) -> Bool {
        let bit = UInt64(1) << UInt64(b & 63)
        switch b >> 6 {
        case 0: return words.0 & bit != 0
        case 1: return words.1 & bit != 0
        case 2: return words.2 & bit != 0
        default: return words.3 & bit != 0
        }
    }

    public mutating func insert(_ b: UInt8) {
        let bit = UInt64(1) << UInt64(b & 63)
        switch b >> 6 {
        case 0: words.0 |= bit
        case 1: words.1 |= bit
        case 2: words.2 |= bit
        default: words.3 |= bit
        }
    }

    public var isEmpty: Bool { words == (0, 0, 0, 0) }
}

/// Splits code-point ranges into UTF-8 byte-range sequences (the construction regex engines use to run
/// Unicode classes over bytes): every sequence is 1-4 byte ranges, and a code point is in the ranges exactly
/// when its encoding matches one sequence. Surrogates (U+D800-DFFF) are never encodable and are dropped.
enum UTF8Ranges {
    static func sequences(_ ranges: [ClosedRange<UInt32>]) -> [[ClosedRange<UInt8>]] {
        var out: [[ClosedRange<UInt8>]] = []
        for r in normalized(ranges) { split(r.lowerBound, r.upperBound, into: &out) }
        return out
    }

    /// Sorted, merged, clipped to U+10FFFF, surrogates removed.
    static func normalized(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var sorted = ranges.filter { $0.lowerBound <= 0x10FFFF }.map { $0.lowerBound...min($0.upperBound, 0x10FFFF) }
        sorted.sort { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt32>] = []
        for r in sorted {
            if let last = merged.last, r.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        var out: [ClosedRange<UInt32>] = []
        for r in merged {
            if r.upperBound < 0xD800 || r.lowerBound > 0xDFFF { out.append(r); continue }
            if r.lowerBound < 0xD800 { out.append(r.lowerBound...0xD7FF) }
            if r.upperBound > 0xDFFF { out.append(0xE000...r.upperBound) }
        }
        return out
    }

    /// The complement within U+0000...U+10FFFF.
    static func complement(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var out: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for r in normalized(ranges) {
            if r.lowerBound > next { out.append(next...(r.lowerBound - 1)) }
            next = r.upperBound + 1
        }
        if next <= 0x10FFFF { out.append(next...0x10FFFF) }
        return normalized(out)
    }

    private static func split(_ lo: UInt32, _ hi: UInt32, into out: inout [[ClosedRange<UInt8>]]) {
        // Different encoded lengths first.
        for boundary: UInt32 in [0x7F, 0x7FF, 0xFFFF] where lo <= boundary && hi > boundary {
            split(lo, boundary, into: &out)
            split(boundary + 1, hi, into: &out)
            return
        }
        if hi < 0x80 { out.append([UInt8(lo)...UInt8(hi)]); return }
        // Same length: make every continuation byte span either one value or its whole range.
        let n = length(lo)
        for k in 1..<n {
            let m: UInt32 = (1 << (6 * UInt32(k))) - 1
            if lo & ~m != hi & ~m {
                if lo & m != 0 {
                    split(lo, lo | m, into: &out)
                    split((lo | m) + 1, hi, into: &out)
                    return
                }
                if hi & m != m {
                    split(lo, (hi & ~m) - 1, into: &out)
                    split(hi & ~m, hi, into: &out)
                    return
                }
            }
        }
        let a = encode(lo), b = encode(hi)
        out.append(zip(a, b).map { $0...$1 })
    }

    static func length(_ c: UInt32) -> Int { c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4 }

    static func encode(_ c: UInt32) -> [UInt8] {
        switch length(c) {
        case 1: return [UInt8(c)]
        case 2: return [UInt8(0xC0 | (c >> 6)), UInt8(0x80 | (c & 0x3F))]
        case 3: return [UInt8(0xE0 | (c >> 12)), UInt8(0x80 | ((c >> 6) & 0x3F)), UInt8(0x80 | (c & 0x3F))]
        default:
            return [UInt8(0xF0 | (c >> 18)), UInt8(0x80 | ((c >> 12) & 0x3F)), UInt8(0x80 | ((c >> 6) & 0x3F)), UInt8(0x80 | (c & 0x3F))]
        }
    }
}
