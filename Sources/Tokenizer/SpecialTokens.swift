/// Splitting text around special tokens, llama.cpp's `tokenizer_st_partition`.
///
/// llama.cpp takes the special tokens longest first and, for each, cuts every remaining raw piece
/// at each occurrence. Doing that for all of Gemma's ~6,400 special tokens would scan the text
/// thousands of times, so we first find which special tokens occur at all (one pass, with a
/// prefix table) and run the exact longest-first procedure over those only: the result is the
/// same because a token that never occurs in the text cannot cut it.
struct SpecialTokens: Sendable {
    /// Token bytes by id for the candidates.
    private let texts: [Int32: [UInt8]]
    private let attrs: [Int32: TokenAttributes]
    /// Longest first; stable by id among equal lengths.
    private let orderAll: [Int32]
    /// Every prefix of a candidate text -> candidate id if the prefix is a whole candidate, else -1.
    private let prefixesAll: ByteTable
    private let prefixesUser: ByteTable
    private let firstBytesAll: [Bool]
    private let firstBytesUser: [Bool]
    private let maxLength: Int

    init(texts all: [String], attributes: [TokenAttributes]) {
        var texts: [Int32: [UInt8]] = [:]
        var attrs: [Int32: TokenAttributes] = [:]
        var ids: [Int32] = []
        for i in 0 ..< all.count where !attributes[i].isDisjoint(with: [.control, .userDefined, .unknown]) {
            ids.append(Int32(i))
            texts[Int32(i)] = Array(all[i].utf8)
            attrs[Int32(i)] = attributes[i]
        }
        ids.sort { (texts[$0]!.count, $1) > (texts[$1]!.count, $0) }
        func prefixes(userOnly: Bool) -> (ByteTable, [Bool]) {
            var t = ByteTable(capacity: 64)
            var first = [Bool](repeating: false, count: 256)
            for id in ids.reversed() where !userOnly || attrs[id]!.isDisjoint(with: [.control, .unknown]) {
                let b = texts[id]!
                guard !b.isEmpty else { continue }
                first[Int(b[0])] = true
                for l in 1 ..< b.count where t.lookup(Array(b[..<l])) == nil { t.set(Array(b[..<l]), -1) }
                t.set(b, id)
            }
            return (t, first)
        }
        (prefixesAll, firstBytesAll) = prefixes(userOnly: false)
        (prefixesUser, firstBytesUser) = prefixes(userOnly: true)
        self.texts = texts
        self.attrs = attrs
        orderAll = ids
        maxLength = ids.first.map { texts[$0]!.count } ?? 0
    }

    func exact(_ bytes: [UInt8]) -> Int32? {
        guard let id = prefixesAll.lookup(bytes), id >= 0 else { return nil }
        return id
    }

    enum Fragment { case raw(Range<Int>), token(Int32) }

    /// With `parseSpecial: false` only user-defined tokens cut the text (control and unknown
    /// tokens stay plain text), as in llama.cpp.
    func partition(_ text: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Fragment] {
        let n = text.count
        guard n > 0 else { return [] }
        let table = parseSpecial ? prefixesAll : prefixesUser
        let first = parseSpecial ? firstBytesAll : firstBytesUser
        guard table.keyCount > 0 else { return [.raw(0 ..< n)] }

        // Which candidates occur anywhere?
        var occurring = Set<Int32>()
        let base = text.baseAddress!
        for i in 0 ..< n where first[Int(text[i])] {
            var l = 1
            while l <= min(maxLength, n - i), let v = table.lookup(base + i, l) {
                if v >= 0 { occurring.insert(v) }
                l += 1
            }
        }
        guard !occurring.isEmpty else { return [.raw(0 ..< n)] }

        var fragments: [Fragment] = [.raw(0 ..< n)]
        for id in orderAll where occurring.contains(id) {
            let tok = texts[id]!
            let attr = self.attrs[id]!
            var outFragments: [Fragment] = []
            outFragments.reserveCapacity(fragments.count + 4)
            for f in fragments {
                guard case var .raw(r) = f else { outFragments.append(f); continue }
                while true {
                    guard let m = find(tok, in: text, r) else { outFragments.append(.raw(r)); break }
                    var left = r.lowerBound ..< m
                    if attr.contains(.lstrip) { while !left.isEmpty, isCSpace(text[left.upperBound - 1]) { left = left.lowerBound ..< left.upperBound - 1 } }
                    if !left.isEmpty { outFragments.append(.raw(left)) }
                    outFragments.append(.token(id))
                    var rest = m + tok.count ..< r.upperBound
                    if attr.contains(.rstrip) { while !rest.isEmpty, isCSpace(text[rest.lowerBound]) { rest = rest.lowerBound + 1 ..< rest.upperBound } }
                    if rest.isEmpty { break }
                    r = rest
                }
            }
            fragments = outFragments
        }
        return fragments
    }

    @inline(__always) private func isCSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    private func find(_ tok: [UInt8], in text: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int? {
        let k = tok.count
        guard k > 0, r.count >= k else { return nil }
        let f = tok[0]
        var i = r.lowerBound
        let last = r.upperBound - k
        return tok.withUnsafeBufferPointer { tb in
            while i <= last {
                if text[i] == f, memcmpEqual(text.baseAddress! + i, tb.baseAddress!, k) { return i }
                i += 1
            }
            return nil
        }
    }
}
