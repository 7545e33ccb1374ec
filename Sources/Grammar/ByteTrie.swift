/// A trie over byte strings laid out in preorder: the subtree of node `i` is the index range
/// `i ..< next[i]`, so a walk that rejects a prefix skips its whole subtree with one assignment.
/// Built by sorting the strings (XGrammar sorts its vocabulary the same way). Node 0 is the root.
struct ByteTrie: Sendable {
    private(set) var byte: [UInt8] = [0]
    private(set) var depth: [UInt16] = [0]
    private(set) var next: [Int32] = [0]
    private(set) var tokenStart: [Int32] = [0]
    private(set) var tokenEnd: [Int32] = [0]
    /// Token ids, grouped by the node whose string they are.
    private(set) var tokens: [Int32] = []

    var nodeCount: Int { byte.count }
    var isEmpty: Bool { tokens.isEmpty }

    init(_ entries: [(bytes: [UInt8], token: Int32)]) {
        let sorted = entries.filter { !$0.bytes.isEmpty }.sorted { a, b in
            a.bytes.lexicographicallyPrecedes(b.bytes) || (a.bytes == b.bytes && a.token < b.token)
        }
        var path: [Int32] = [0]
        var previous: [UInt8] = []
        for (bytes, token) in sorted {
            var lcp = 0
            while lcp < min(previous.count, bytes.count), previous[lcp] == bytes[lcp] { lcp += 1 }
            while path.count - 1 > lcp { next[Int(path.removeLast())] = Int32(byte.count) }
            for d in lcp..<bytes.count {
                byte.append(bytes[d])
                depth.append(UInt16(min(d + 1, Int(UInt16.max))))
                next.append(0)
                tokenStart.append(Int32(tokens.count))
                tokenEnd.append(Int32(tokens.count))
                path.append(Int32(byte.count - 1))
            }
            tokens.append(token)
            tokenEnd[Int(path.last!)] = Int32(tokens.count)
            previous = bytes
        }
        while let n = path.popLast() { next[Int(n)] = Int32(byte.count) }
    }

    /// The tokens whose string ends at `node`.
    func tokens(at node: Int) -> ArraySlice<Int32> { tokens[Int(tokenStart[node])..<Int(tokenEnd[node])] }

    /// Every token in the subtree strictly below `node`.
    func tokensBelow(_ node: Int) -> ArraySlice<Int32> {
        let lo = node + 1, hi = Int(next[node])
        guard lo < hi else { return [] }
        return tokens[Int(tokenStart[lo])..<Int(tokenEnd[hi - 1])]
    }

    /// Walks the trie from `start`, advancing the parse by each node's byte and skipping every subtree
    /// whose prefix no stack accepts. Calls `accept(node)` for each node reached with a live (or
    /// bottom-reaching) parse, and `bottom(node, depth)` where a parse popped past the stack's bottom.
    func walk(_ g: Grammar, table: inout StackTable, from start: [Int32],
              accept: (Int) -> Void, bottom: (Int, Int) -> Void = { _, _ in }) {
        var levels: [[Int32]] = [start]
        var i = 1
        let end = byte.count
        while i < end {
            let d = Int(depth[i])
            if levels.count <= d { levels.append([]) }
            var hit = false
            var out: [Int32] = []
            swap(&out, &levels[d])
            table.advance(g, state: levels[d - 1], byte: byte[i], into: &out, bottom: &hit)
            levels[d] = out
            if hit { bottom(i, d) }
            if out.isEmpty {
                if hit { accept(i) }
                i = Int(next[i])
                continue
            }
            accept(i)
            i += 1
        }
    }
}
