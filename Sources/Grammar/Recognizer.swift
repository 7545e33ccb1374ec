/// Parse stacks, shared and hash-consed: a stack is a node id, a node is (position, parent node).
///
/// The recognizer is llama.cpp's pushdown design: a parse state is the set of stacks whose top is a
/// terminal, one per way the input so far can continue. Hash-consing makes equal stacks equal ids, so a
/// state is a sorted array of ids (cheap to compare, hash and cache), and advancing one stack by one byte
/// is memoized: inside a string the same stacks come back after every character.
struct StackTable: Sendable {
    /// The stack of a finished parse: the input so far is a complete output.
    static let empty: Int32 = -1
    /// Stands for "whatever is below" while computing a context-independent mask (see ``TokenMasks``).
    static let bottom: Int32 = -2

    private(set) var position: [Int32] = []
    private(set) var parent: [Int32] = []
    private var ids: [UInt64: Int32] = [:]
    private var memo: [UInt64: (start: Int32, count: Int32, bottom: Bool)] = [:]
    private var memoStore: [Int32] = []

    var count: Int { position.count }

    mutating func node(_ p: Int32, _ up: Int32) -> Int32 {
        let key = UInt64(UInt32(bitPattern: p)) << 32 | UInt64(UInt32(bitPattern: up))
        if let id = ids[key] { return id }
        let id = Int32(position.count)
        position.append(p)
        parent.append(up)
        ids[key] = id
        return id
    }

    /// Stacks reached from position `p` (with `up` below it) without consuming input: pushes rule
    /// alternatives until each stack's top is a terminal, pops finished alternatives into their parents.
    /// Termination relies on ``Grammar`` rejecting left recursion.
    mutating func expand(_ g: Grammar, _ p: Int32, _ up: Int32, into out: inout [Int32], bottom: inout Bool) {
        switch g.symbols[Int(p)] {
        case .bytes:
            out.append(node(p, up))
        case .end:
            if up == Self.empty { out.append(Self.empty) }
            else if up == Self.bottom { bottom = true }
            else { expand(g, position[Int(up)], parent[Int(up)], into: &out, bottom: &bottom) }
        case let .rule(r):
            let next = p + 1
            // A reference at the end of its alternative leaves nothing to return to: reuse the parent
            // (tail call), so repetitions do not deepen the stack.
            let cont = g.symbols[Int(next)] == .end ? up : node(next, up)
            for a in g.alternatives[Int(r)] { expand(g, a, cont, into: &out, bottom: &bottom) }
        }
    }

    /// The stacks after consuming `byte` on stack `s` (whose top is a terminal); memoized.
    mutating func advance(_ g: Grammar, _ s: Int32, _ byte: UInt8, into out: inout [Int32], bottom: inout Bool) {
        let key = UInt64(UInt32(bitPattern: s)) << 8 | UInt64(byte)
        if let m = memo[key] {
            out.append(contentsOf: memoStore[Int(m.start)..<Int(m.start + m.count)])
            if m.bottom { bottom = true }
            return
        }
        var result: [Int32] = []
        var hit = false
        let p = position[Int(s)]
        if case let .bytes(set) = g.symbols[Int(p)], set.contains(byte) {
            expand(g, p + 1, parent[Int(s)], into: &result, bottom: &hit)
        }
        memo[key] = (Int32(memoStore.count), Int32(result.count), hit)
        memoStore += result
        out += result
        if hit { bottom = true }
    }

    /// Advances a whole state by one byte; the result is sorted and duplicate-free.
    mutating func advance(_ g: Grammar, state: [Int32], byte: UInt8, into out: inout [Int32], bottom: inout Bool) {
        out.removeAll(keepingCapacity: true)
        for s in state where s >= 0 { advance(g, s, byte, into: &out, bottom: &bottom) }
        if out.count > 1 {
            out.sort()
            var w = 1
            for r in 1..<out.count where out[r] != out[w - 1] { out[w] = out[r]; w += 1 }
            out.removeSubrange(w...)
        }
    }

    /// The state a stack's frame continues into when everything above it has finished.
    mutating func resume(_ g: Grammar, _ s: Int32) -> [Int32] {
        var out: [Int32] = []
        var hit = false
        expand(g, position[Int(s)], parent[Int(s)], into: &out, bottom: &hit)
        return Self.sortedUnique(out)
    }

    mutating func start(_ g: Grammar, below: Int32 = StackTable.empty) -> [Int32] {
        var out: [Int32] = []
        var hit = false
        for a in g.alternatives[Int(g.root)] { expand(g, a, below, into: &out, bottom: &hit) }
        return Self.sortedUnique(out)
    }

    static func sortedUnique(_ xs: [Int32]) -> [Int32] { Array(Set(xs)).sorted() }

    /// Fewest bytes that complete the parse from stack `s`.
    func distance(_ g: Grammar, _ s: Int32) -> Int {
        var total = 0
        var n = s
        while n >= 0 {
            total += Int(g.minRemaining[Int(position[Int(n)])])
            n = parent[Int(n)]
        }
        return total
    }
}

/// A byte-level recognizer: feeds bytes, says whether the input so far is a prefix of (or a complete)
/// output of the grammar. The token matcher is built on it; tests use it on its own.
public struct Recognizer: Sendable {
    public let grammar: Grammar
    var table = StackTable()
    var state: [Int32]

    public init(_ grammar: Grammar) {
        self.grammar = grammar
        state = table.start(grammar)
    }

    /// False once the input can no longer be extended into a valid output.
    public var isAlive: Bool { !state.isEmpty }

    /// True when the input so far is a complete output.
    public var isComplete: Bool { state.contains(StackTable.empty) }

    /// Consumes bytes; returns false (and leaves the recognizer dead) at the first byte no parse accepts.
    @discardableResult
    public mutating func feed<S: Sequence<UInt8>>(_ bytes: S) -> Bool {
        var next: [Int32] = []
        var hit = false
        for b in bytes {
            table.advance(grammar, state: state, byte: b, into: &next, bottom: &hit)
            swap(&state, &next)
            if state.isEmpty { return false }
        }
        return true
    }

    /// True when `text` is exactly one complete output.
    public static func matches(_ grammar: Grammar, _ text: String) -> Bool {
        var r = Recognizer(grammar)
        return r.feed(Array(text.utf8)) && r.isComplete
    }
}
