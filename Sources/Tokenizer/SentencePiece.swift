/// SentencePiece-style BPE as llama.cpp's `llm_tokenizer_spm` runs it: start from UTF-8 characters,
/// repeatedly merge the adjacent pair whose concatenation is the highest-scoring vocabulary entry
/// (leftmost on ties), then fall back to `<0xNN>` byte tokens for characters without a token.
struct SPMScratch {
    struct Entry: HeapElement {
        var score: Float
        var left: Int32
        var right: Int32
        var size: Int32

        /// Heap order: higher score first, then the leftmost pair.
        @inline(__always) func before(_ o: Entry) -> Bool { score > o.score || (score == o.score && left < o.left) }
    }

    var start: [Int32] = []
    var len: [Int32] = []
    var prev: [Int32] = []
    var next: [Int32] = []
    var heap = BinaryHeap<Entry>()
    var text: [UInt8] = []
}

extension Tokenizer {
    /// Tokenizes one raw fragment (spaces already escaped to `▁` in `s.text`).
    func spmEncode(_ s: inout SPMScratch, _ out: inout [Int32]) {
        guard let table = spmLookup else { return }
        let n = s.text.count
        if n == 0 { return }
        s.start.removeAll(keepingCapacity: true)
        s.len.removeAll(keepingCapacity: true)
        s.prev.removeAll(keepingCapacity: true)
        s.next.removeAll(keepingCapacity: true)
        s.heap.removeAll()
        var off = 0
        while off < n {
            let l = min(UTF8Codec.sequenceLength(s.text[off]), n - off)
            let idx = Int32(s.start.count)
            s.start.append(Int32(off))
            s.len.append(Int32(l))
            s.prev.append(idx - 1)
            off += l
            s.next.append(off == n ? -1 : idx + 1)
        }
        s.text.withUnsafeBufferPointer { tb in
            let base = tb.baseAddress!
            func tryPair(_ l: Int32, _ r: Int32, _ s: inout SPMScratch) {
                guard l >= 0, r >= 0 else { return }
                let a = Int(s.start[Int(l)]), size = Int(s.len[Int(l)] + s.len[Int(r)])
                guard let id = table.lookup(base + a, size) else { return }
                s.heap.push(.init(score: scores[Int(id)], left: l, right: r, size: Int32(size)))
            }
            for i in 1 ..< s.start.count { tryPair(Int32(i - 1), Int32(i), &s) }
            while let e = s.heap.pop() {
                let l = Int(e.left), r = Int(e.right)
                // A pair is stale once either side has been merged into something else.
                guard s.len[l] != 0, s.len[r] != 0, s.len[l] + s.len[r] == e.size else { continue }
                s.len[l] += s.len[r]
                s.len[r] = 0
                s.next[l] = s.next[r]
                if s.next[r] >= 0 { s.prev[Int(s.next[r])] = Int32(l) }
                tryPair(s.prev[l], Int32(l), &s)
                tryPair(Int32(l), s.next[l], &s)
            }
            var i = 0
            while i >= 0 {
                let a = Int(s.start[i]), size = Int(s.len[i])
                if let id = table.lookup(base + a, size) {
                    out.append(id)
                } else {
                    for k in a ..< a + size {
                        let t = spmByteTokens[Int(tb[k])]
                        if t >= 0 { out.append(t) } else if let unk = unknownID { out.append(unk) }
                    }
                }
                i = Int(s.next[i])
            }
        }
    }
}
