import GGUF

/// Byte-level BPE merge tables, all keyed by token id.
///
/// Every byte string a merge can produce gets an id: its vocabulary id, or a synthetic id
/// `>= vocabularySize` for the rare merge whose product is not in the vocabulary (such a symbol
/// is emitted as its single-byte tokens, as llama.cpp does).
struct BPETables: Sendable {
    let vocabularySize: Int
    /// Raw bytes -> id (vocabulary or synthetic).
    private(set) var table: ByteTable
    private(set) var synthetic = FlatBytes()
    /// Id of each single byte as a starting symbol.
    private(set) var byteIDs = [Int32](repeating: -1, count: 256)
    /// Vocabulary token of each single byte, or -1.
    private(set) var byteTokens = [Int32](repeating: -1, count: 256)
    private(set) var merges: PairTable

    init(tokens: [String], gguf: GGUFFile) throws(TokenizerError) {
        vocabularySize = tokens.count
        guard let v = gguf[GGUFKey.merges] else { throw .missingKey(GGUFKey.merges) }
        guard let mergeList = v.arrayValue?.strings else {
            throw .badValue(key: GGUFKey.merges, reason: "expected an array of strings")
        }
        table = ByteTable(capacity: tokens.count + 1024)
        merges = PairTable(capacity: mergeList.count)
        for (i, t) in tokens.enumerated() {
            if let raw = ByteLevel.decode(t), !raw.isEmpty { table.set(raw, Int32(i)) }
        }
        for b in 0 ..< 256 {
            if let id = table.lookup([UInt8(b)]) { byteTokens[b] = id }
            byteIDs[b] = id(for: [UInt8(b)])
        }
        for (rank, m) in mergeList.enumerated() {
            // "first second", split at the first space after the first character (a merge half may
            // itself be a lone space-like character, never a real space: spaces are spelled "Ġ").
            let u = Array(m.utf8)
            guard u.count >= 3, let sp = u[1...].firstIndex(of: 0x20) else { continue }
            guard let a = ByteLevel.decode(String(decoding: u[..<sp], as: UTF8.self)),
                  let b = ByteLevel.decode(String(decoding: u[(sp + 1)...], as: UTF8.self)),
                  !a.isEmpty, !b.isEmpty else { continue }
            let l = id(for: a), r = id(for: b), merged = id(for: a + b)
            merges.insertIfAbsent(left: l, right: r, rank: Int32(rank), merged: merged)
        }
    }

    private mutating func id(for raw: [UInt8]) -> Int32 {
        if let id = table.lookup(raw) { return id }
        let id = Int32(vocabularySize + synthetic.count)
        synthetic.append(raw)
        table.set(raw, id)
        return id
    }

    func lookupText(_ text: String) -> Int32? {
        guard let raw = ByteLevel.decode(text), let id = table.lookup(raw), Int(id) < vocabularySize else { return nil }
        return id
    }

    /// Appends the tokens of one pre-tokenized word.
    func encodeWord(_ w: UnsafeBufferPointer<UInt8>, ignoreMerges: Bool, _ s: inout BPEScratch, _ out: inout [Int32]) {
        let n = w.count
        if n == 0 { return }
        if n == 1 {
            emit(byteIDs[Int(w[0])], &out)
            return
        }
        if ignoreMerges, let id = table.lookup(w.baseAddress!, n), Int(id) < vocabularySize {
            out.append(id)
            return
        }
        s.reset(n)
        for i in 0 ..< n { s.ids[i] = byteIDs[Int(w[i])] }
        for i in 0 ..< n - 1 { push(i, i + 1, &s) }
        while let e = s.pop() {
            let left = Int(truncatingIfNeeded: e.key & 0xFFFF_FFFF)
            let leftID = Int32(truncatingIfNeeded: e.ids >> 32), rightID = Int32(truncatingIfNeeded: e.ids)
            guard s.ids[left] == leftID else { continue }
            let right = Int(s.next[left])
            guard right >= 0, s.ids[right] == rightID else { continue }
            // Merge the right symbol into the left one and re-queue the new neighbours.
            s.ids[left] = e.merged
            s.ids[right] = -1
            let rn = s.next[right]
            s.next[left] = rn
            if rn >= 0 { s.prev[Int(rn)] = Int32(left) }
            let lp = Int(s.prev[left])
            if lp >= 0 { push(lp, left, &s) }
            if rn >= 0 { push(left, Int(rn), &s) }
        }
        var i = 0
        while i >= 0 {
            emit(s.ids[i], &out)
            i = Int(s.next[i])
        }
    }

    @inline(__always)
    private func push(_ l: Int, _ r: Int, _ s: inout BPEScratch) {
        let a = s.ids[l], b = s.ids[r]
        guard let m = merges.lookup(a, b) else { return }
        s.push(.init(key: UInt64(UInt32(m.rank)) << 32 | UInt64(l),
                     ids: UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)), merged: m.merged))
    }

    @inline(__always)
    private func emit(_ id: Int32, _ out: inout [Int32]) {
        if Int(id) < vocabularySize { out.append(id); return }
        for b in synthetic[Int(id) - vocabularySize] where byteTokens[Int(b)] >= 0 { out.append(byteTokens[Int(b)]) }
    }
}

/// Per-call working memory of the merge loop, reused across words.
struct BPEScratch {
    struct Entry: HeapElement {
        /// rank << 32 | left index: the heap order (lowest rank, then leftmost), as llama.cpp's comparator.
        var key: UInt64
        /// left id << 32 | right id when queued, to recognise stale entries.
        var ids: UInt64
        var merged: Int32

        @inline(__always) func before(_ o: Entry) -> Bool { key < o.key }
    }

    var ids: [Int32] = []
    var prev: [Int32] = []
    var next: [Int32] = []
    private var heap = BinaryHeap<Entry>()

    mutating func reset(_ n: Int) {
        if ids.count < n {
            ids = [Int32](repeating: 0, count: n)
            prev = [Int32](repeating: 0, count: n)
            next = [Int32](repeating: 0, count: n)
        }
        for i in 0 ..< n {
            prev[i] = Int32(i - 1)
            next[i] = i + 1 < n ? Int32(i + 1) : -1
        }
        heap.removeAll()
    }

    mutating func push(_ e: Entry) { heap.push(e) }
    mutating func pop() -> Entry? { heap.pop() }
}

/// Elements of a `BinaryHeap`: `before` is the pop order.
protocol HeapElement { func before(_ other: Self) -> Bool }

/// A binary min-heap on `before`, the work queue of both merge loops.
struct BinaryHeap<E: HeapElement> {
    private var items: [E] = []

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ e: E) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if !e.before(items[p]) { break }
            items[i] = items[p]
            i = p
        }
        items[i] = e
    }

    mutating func pop() -> E? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return top }
        var i = 0
        let n = items.count
        while true {
            var c = 2 * i + 1
            if c >= n { break }
            if c + 1 < n, items[c + 1].before(items[c]) { c += 1 }
            if !items[c].before(last) { break }
            items[i] = items[c]
            i = c
        }
        items[i] = last
        return top
    }
}
