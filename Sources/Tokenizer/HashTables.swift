/// Byte-string -> id map for the hot lookups (a vocabulary piece by its bytes, without building a
/// `String` or `Array` per probe). Open addressing, linear probing, FNV-1a hash.
struct ByteTable: Sendable {
    /// All keys back to back; key `k` is `storage[starts[k] ..< starts[k + 1]]`.
    private var storage: [UInt8] = []
    private var starts: [Int32] = [0]
    /// Slot: hash << 32 | (key index + 1); 0 = empty. One load answers most probes.
    private var slots: [UInt64]
    private(set) var values: [Int32] = []
    private var mask: Int

    init(capacity: Int) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        slots = [UInt64](repeating: 0, count: n)
        mask = n - 1
    }

    var keyCount: Int { values.count }

    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for i in 0 ..< n { h = (h ^ UInt32(p[i])) &* 16_777_619 }
        return h
    }

    /// Inserts or overwrites (the last insert of a key wins, as `token_to_id[word] = i` does).
    mutating func set(_ key: [UInt8], _ value: Int32) {
        guard !key.isEmpty else { return }
        let found: Int? = key.withUnsafeBufferPointer { find($0.baseAddress!, $0.count, Self.hash($0.baseAddress!, $0.count)) }
        if let k = found { values[k] = value; return }
        if (values.count + 1) * 2 > slots.count { grow() }
        let h = key.withUnsafeBufferPointer { Self.hash($0.baseAddress!, $0.count) }
        let k = values.count
        storage.append(contentsOf: key)
        starts.append(Int32(storage.count))
        values.append(value)
        insertSlot(k, h)
    }

    private mutating func insertSlot(_ k: Int, _ h: UInt32) {
        var s = Int(h) & mask
        while slots[s] != 0 { s = (s + 1) & mask }
        slots[s] = UInt64(h) << 32 | UInt64(k + 1)
    }

    private mutating func grow() {
        let n = slots.count * 2
        slots = [UInt64](repeating: 0, count: n)
        mask = n - 1
        for k in 0 ..< values.count {
            let a = Int(starts[k]), b = Int(starts[k + 1])
            let h = storage.withUnsafeBufferPointer { Self.hash($0.baseAddress! + a, b - a) }
            insertSlot(k, h)
        }
    }

    @inline(__always)
    private func find(_ p: UnsafePointer<UInt8>, _ n: Int, _ h: UInt32) -> Int? {
        slots.withUnsafeBufferPointer { sl in
            storage.withUnsafeBufferPointer { st in
                starts.withUnsafeBufferPointer { ss in
                    var s = Int(h) & mask
                    while true {
                        let v = sl[s]
                        if v == 0 { return nil }
                        if UInt32(truncatingIfNeeded: v >> 32) == h {
                            let k = Int(truncatingIfNeeded: v & 0xFFFF_FFFF)
                            let a = Int(ss[k - 1]), b = Int(ss[k])
                            if b - a == n, memcmpEqual(st.baseAddress! + a, p, n) { return k - 1 }
                        }
                        s = (s + 1) & mask
                    }
                }
            }
        }
    }

    @inline(__always)
    func lookup(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32? {
        guard let k = find(p, n, Self.hash(p, n)) else { return nil }
        return values.withUnsafeBufferPointer { $0[k] }
    }

    func lookup(_ key: [UInt8]) -> Int32? {
        key.withUnsafeBufferPointer { kb in
            guard kb.count > 0 else { return nil }
            return lookup(kb.baseAddress!, kb.count)
        }
    }
}

@inline(__always)
func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    var i = 0
    while i + 8 <= n {
        if UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self) { return false }
        i += 8
    }
    while i < n {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}

/// (left id, right id) -> (merge rank, merged id): the BPE merge table keyed by pairs of ids, so a
/// merge step is one probe instead of building and hashing two strings.
struct PairTable: Sendable {
    private var keys: [UInt64]
    private var vals: [UInt64]
    private let mask: Int
    private static let empty = UInt64.max

    init(capacity: Int) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: n)
        vals = [UInt64](repeating: 0, count: n)
        mask = n - 1
    }

    @inline(__always)
    private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
    }

    /// Keeps the first (lowest-rank) entry for a pair, as `bpe_ranks.emplace` does.
    mutating func insertIfAbsent(left: Int32, right: Int32, rank: Int32, merged: Int32) {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        var s = Self.slot(key, mask)
        while keys[s] != Self.empty {
            if keys[s] == key { return }
            s = (s + 1) & mask
        }
        keys[s] = key
        vals[s] = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: merged))
    }

    /// Returns (rank, merged) or nil.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> (rank: Int32, merged: Int32)? {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        return keys.withUnsafeBufferPointer { kb in
            var s = Self.slot(key, mask)
            while true {
                let k = kb[s]
                if k == key {
                    let v = vals[s]
                    return (Int32(truncatingIfNeeded: v >> 32), Int32(truncatingIfNeeded: v))
                }
                if k == Self.empty { return nil }
                s = (s + 1) & mask
            }
        }
    }
}

/// Byte strings stored back to back, indexed by position (token id -> piece bytes).
struct FlatBytes: Sendable {
    private(set) var storage: [UInt8] = []
    private(set) var starts: [Int] = [0]

    mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        storage.append(contentsOf: bytes)
        starts.append(storage.count)
    }

    var count: Int { starts.count - 1 }

    subscript(k: Int) -> ArraySlice<UInt8> { storage[starts[k] ..< starts[k + 1]] }

    func length(_ k: Int) -> Int { starts[k + 1] - starts[k] }
}
