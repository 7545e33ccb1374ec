extension Tokenizer {
    /// Tokenizes `text` with llama.cpp's semantics.
    ///
    /// - Parameters:
    ///   - addSpecial: add BOS / EOS as the metadata asks (`add_bos_token`, `add_eos_token`).
    ///   - parseSpecial: recognise control tokens (`<|im_start|>`, `<start_of_turn>` ...) written in
    ///     the text; without it they are tokenized as plain text. User-defined tokens always match.
    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var text = text
        return text.withUTF8 { encode(bytes: $0, addSpecial: addSpecial, parseSpecial: parseSpecial) }
    }

    /// Tokenizes raw bytes (e.g. a file's exact contents). Invalid UTF-8 is tokenized as llama.cpp
    /// does: byte-level BPE sees U+FFFD per bad byte, SentencePiece falls back to byte tokens.
    public func encode(bytes: [UInt8], addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        bytes.withUnsafeBufferPointer { encode(bytes: $0, addSpecial: addSpecial, parseSpecial: parseSpecial) }
    }

    func encode(bytes: UnsafeBufferPointer<UInt8>, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(bytes.count / 3 + 4)
        if addSpecial, addBOS, let bos = bosID { out.append(bos) }
        let fragments = specials.partition(bytes, parseSpecial: parseSpecial)
        switch kind {
        case .bpe:
            var state = BPEEncoder(tokenizer: self)
            for f in fragments {
                switch f {
                case let .token(id): out.append(id)
                case let .raw(r): state.encode(UnsafeBufferPointer(rebasing: bytes[r]), &out)
                }
            }
        case .sentencePiece:
            var s = SPMScratch()
            var previousWasSpecial = true // a space goes before the first fragment, as in llama.cpp
            for f in fragments {
                switch f {
                case let .token(id):
                    out.append(id)
                    previousWasSpecial = true
                case let .raw(r):
                    s.text.removeAll(keepingCapacity: true)
                    if addSpacePrefix, previousWasSpecial { s.text.append(contentsOf: [0xE2, 0x96, 0x81]) }
                    for b in bytes[r] {
                        if b == 0x20 { s.text.append(contentsOf: [0xE2, 0x96, 0x81]) } else { s.text.append(b) }
                    }
                    spmEncode(&s, &out)
                    previousWasSpecial = false
                }
            }
        case .wordPiece:
            let tables = wordPiece!
            for f in fragments {
                switch f {
                case let .token(id): out.append(id)
                case let .raw(r): tables.encode(String(decoding: UnsafeBufferPointer(rebasing: bytes[r]), as: UTF8.self), into: &out)
                }
            }
        }
        if addSpecial { out.append(contentsOf: specialSuffix) }
        return out
    }
}

/// Byte-level BPE over one encode call: pre-tokenize, then merge each word, with a cache of words
/// already seen in this call (natural text repeats most of its words).
struct BPEEncoder {
    let tokenizer: Tokenizer
    let tables: BPETables
    let pre: PreTokenizer
    var cps: [UInt32] = []
    var flags: [UInt8] = []
    var ends: [Int] = []
    var scratchEnds: [Int] = []
    var word: [UInt8] = []
    var scratch = BPEScratch()
    var cache = ByteTable(capacity: 1024)
    var cachedIDs = FlatBytes32()
    static let maxCachedWords = 1 << 18

    init(tokenizer: Tokenizer) {
        self.tokenizer = tokenizer
        tables = tokenizer.bpe!
        pre = tokenizer.preTokenizer!
    }

    mutating func encode(_ bytes: UnsafeBufferPointer<UInt8>, _ out: inout [Int32]) {
        UTF8Codec.decode(bytes, into: &cps)
        let n = cps.count
        if flags.count < n { flags = [UInt8](repeating: 0, count: n) }
        UnicodeFlags.table.withUnsafeBufferPointer { t in
            for i in 0 ..< n {
                let c = cps[i]
                flags[i] = c < 0x10000 ? t[Int(c)] : UnicodeFlags.compute(c).rawValue
            }
        }
        cps.withUnsafeBufferPointer { cb in
            flags.withUnsafeBufferPointer { fb in
                pre.split(cb, UnsafeBufferPointer(rebasing: fb[0 ..< n]), into: &ends, scratch: &scratchEnds)
            }
        }
        var start = 0
        for e in ends {
            word.removeAll(keepingCapacity: true)
            for i in start ..< e { UTF8Codec.append(cps[i], to: &word) }
            start = e
            encodeWord(&out)
        }
    }

    private mutating func encodeWord(_ out: inout [Int32]) {
        let n = word.count
        if n <= 1 || n > 64 {
            word.withUnsafeBufferPointer { tables.encodeWord($0, ignoreMerges: pre.ignoreMerges, &scratch, &out) }
            return
        }
        if let k = word.withUnsafeBufferPointer({ cache.lookup($0.baseAddress!, n) }) {
            cachedIDs.appendEntry(Int(k), to: &out)
            return
        }
        let before = out.count
        word.withUnsafeBufferPointer { tables.encodeWord($0, ignoreMerges: pre.ignoreMerges, &scratch, &out) }
        if cache.keyCount < Self.maxCachedWords {
            cache.set(word, Int32(cachedIDs.count))
            cachedIDs.append(out[before...])
        }
    }
}

/// Id lists stored back to back (the word cache's values).
struct FlatBytes32 {
    private var storage: [Int32] = []
    private var starts: [Int] = [0]
    var count: Int { starts.count - 1 }

    mutating func append(_ ids: ArraySlice<Int32>) {
        storage.append(contentsOf: ids)
        starts.append(storage.count)
    }

    func appendEntry(_ k: Int, to out: inout [Int32]) {
        out.append(contentsOf: storage[starts[k] ..< starts[k + 1]])
    }
}
