import Foundation

/// A set of token ids as a bit mask over the vocabulary.
public struct TokenMask: Sendable, Equatable {
    public private(set) var words: [UInt64]

    public init(vocabularySize: Int) { words = [UInt64](repeating: 0, count: (vocabularySize + 63) / 64) }

    @inline(__always) public func contains(_ token: Int32) -> Bool {
        let t = Int(token)
        return t >= 0 && t >> 6 < words.count && words[t >> 6] & (1 << UInt64(t & 63)) != 0
    }

    @inline(__always) public mutating func insert(_ token: Int32) {
        let t = Int(token)
        words[t >> 6] |= 1 << UInt64(t & 63)
    }

    public mutating func formUnion(_ other: TokenMask) {
        for i in words.indices { words[i] |= other.words[i] }
    }

    public var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
}

/// The vocabulary as the grammar sees it: each token's bytes in a trie, and the end-of-generation tokens.
/// Built once per tokenizer and shared by every constraint on that model.
public final class TokenVocabulary: Sendable {
    public let size: Int
    let pieces: [[UInt8]]
    let trie: ByteTrie
    public let endOfGeneration: [Int32]

    /// - Parameters:
    ///   - pieces: every token's output bytes, by id; empty for tokens that print nothing (control tokens),
    ///     which the grammar never allows.
    ///   - endOfGeneration: the tokens allowed (only) where the grammar is complete.
    public init(pieces: [[UInt8]], endOfGeneration: [Int32]) {
        size = pieces.count
        self.pieces = pieces
        let eog = Set(endOfGeneration)
        trie = ByteTrie(pieces.enumerated().compactMap { (i, p) in
            eog.contains(Int32(i)) || p.isEmpty ? nil : (p, Int32(i))
        })
        self.endOfGeneration = endOfGeneration.sorted()
    }

    public var trieNodeCount: Int { trie.nodeCount }

    /// The bytes of `token` (empty for tokens that print nothing).
    public func piece(_ token: Int32) -> [UInt8] { token >= 0 && Int(token) < size ? pieces[Int(token)] : [] }
}

/// A grammar bound to a vocabulary, with the masks that do not depend on the rest of the parse stack
/// computed once per stack top and cached (the idea behind XGrammar's adaptive token-mask cache).
///
/// How a mask is made: a stack's top ``depth`` frames are its key. The vocabulary trie is walked once per
/// key with a "bottom" marker below those frames; a token is then
/// - accepted outright if it is consumed without leaving the key's frames (or leaves them exactly at its end),
/// - rejected outright if every parse of it dies inside them,
/// - otherwise context-dependent: the bytes left after popping through the bottom (its remainder) are
///   kept in a small trie, walked at each step from the real stack below the key.
/// Inside a JSON string the key covers the string's own frames, so nearly the whole vocabulary is decided
/// once, and only tokens that close the string (`",` `"}` ...) are checked against the real context.
public final class TokenConstraint: @unchecked Sendable {
    public let grammar: Grammar
    public let vocabulary: TokenVocabulary
    /// Frames of a stack that form its cache key.
    static let depth = 3

    struct Entry {
        var accepted: TokenMask
        var remainders: ByteTrie?
    }

    // Guarded by `lock`: entries are computed once and then only read.
    private let lock = NSLock()
    private var entries: [[Int32]: Entry] = [:]

    public init(grammar: Grammar, vocabulary: TokenVocabulary) {
        self.grammar = grammar
        self.vocabulary = vocabulary
    }

    /// Keys computed so far (for tests and benchmarks).
    public var cachedKeyCount: Int { lock.withLock { entries.count } }

    func entry(_ key: [Int32]) -> Entry {
        if let e = lock.withLock({ entries[key] }) { return e }
        let e = computeEntry(key)
        lock.withLock { entries[key] = e }
        return e
    }

    private func computeEntry(_ key: [Int32]) -> Entry {
        var table = StackTable()
        var top = StackTable.bottom
        for p in key.reversed() { top = table.node(p, top) }
        var accepted = TokenMask(vocabularySize: vocabulary.size)
        var pending: [(bytes: [UInt8], token: Int32)] = []
        let trie = vocabulary.trie
        trie.walk(grammar, table: &table, from: [top], accept: { node in
            for t in trie.tokens(at: node) { accepted.insert(t) }
        }, bottom: { node, depth in
            for t in trie.tokensBelow(node) { pending.append((Array(self.vocabulary.pieces[Int(t)][depth...]), t)) }
        })
        let remainders = pending.filter { !accepted.contains($0.token) }
        return Entry(accepted: accepted, remainders: remainders.isEmpty ? nil : ByteTrie(remainders))
    }
}

/// One sequence's position in a grammar, over tokens: which tokens may come next, and what a token does to
/// the parse. A value type (copying it forks the parse); the shared ``TokenConstraint`` holds the caches.
public struct GrammarMatcher: Sendable {
    public let constraint: TokenConstraint
    var table = StackTable()
    var state: [Int32]
    /// Masks of states seen before: inside one string every token leads back to the same state.
    private var stateMasks: [[Int32]: TokenMask] = [:]

    public init(_ constraint: TokenConstraint) {
        self.constraint = constraint
        state = table.start(constraint.grammar)
    }

    /// False when no continuation is possible (a rejected token was accepted).
    public var isAlive: Bool { !state.isEmpty }
    /// The text so far is a complete output (the end-of-generation token is allowed).
    public var canEnd: Bool { state.contains(StackTable.empty) }
    /// The text so far is complete and nothing may follow: only end-of-generation is allowed.
    public var mustEnd: Bool { state == [StackTable.empty] }

    /// Fewest bytes that complete the output (0 when complete).
    public var distanceToEnd: Int {
        state.map { $0 < 0 ? 0 : table.distance(constraint.grammar, $0) }.min() ?? Int(Grammar.unbounded)
    }

    /// The tokens allowed next, end-of-generation tokens included when the output is complete.
    public mutating func allowedTokens() -> TokenMask {
        if let m = stateMasks[state] { return m }
        let g = constraint.grammar
        var mask = TokenMask(vocabularySize: constraint.vocabulary.size)
        for s in state {
            if s == StackTable.empty {
                for t in constraint.vocabulary.endOfGeneration { mask.insert(t) }
                continue
            }
            var key: [Int32] = []
            var n = s
            while n >= 0, key.count < TokenConstraint.depth {
                key.append(table.position[Int(n)])
                n = table.parent[Int(n)]
            }
            let entry = constraint.entry(key)
            mask.formUnion(entry.accepted)
            // Below the key: the real context decides the remainders.
            if n >= 0, let remainders = entry.remainders {
                let below = table.resume(g, n)
                remainders.walk(g, table: &table, from: below, accept: { node in
                    for t in remainders.tokens(at: node) { mask.insert(t) }
                })
            }
        }
        if stateMasks.count > 256 { stateMasks.removeAll() }
        stateMasks[state] = mask
        return mask
    }

    /// Advances the parse by a generated token's bytes. Returns false (and leaves the matcher dead) when
    /// the grammar does not allow them. End-of-generation tokens are accepted where the output is complete.
    @discardableResult
    public mutating func accept(_ token: Int32) -> Bool {
        if constraint.vocabulary.endOfGeneration.contains(token) {
            if canEnd { state = [StackTable.empty]; return true }
            state = []
            return false
        }
        guard token >= 0, Int(token) < constraint.vocabulary.size else { state = []; return false }
        return accept(bytes: constraint.vocabulary.pieces[Int(token)])
    }

    /// Advances the parse by raw bytes.
    @discardableResult
    public mutating func accept(bytes: [UInt8]) -> Bool {
        if bytes.isEmpty { state = []; return false }
        var next: [Int32] = []
        var hit = false
        for b in bytes {
            table.advance(constraint.grammar, state: state, byte: b, into: &next, bottom: &hit)
            swap(&state, &next)
            if state.isEmpty { return false }
        }
        return true
    }

    /// The fewest bytes to the end after `token`, or nil when the grammar rejects it. Leaves the parse
    /// where it is (only the shared stack caches grow).
    public mutating func distance(after token: Int32) -> Int? {
        guard token >= 0, Int(token) < constraint.vocabulary.size else { return nil }
        if constraint.vocabulary.endOfGeneration.contains(token) { return canEnd ? 0 : nil }
        let bytes = constraint.vocabulary.pieces[Int(token)]
        if bytes.isEmpty { return nil }
        var current = state, next: [Int32] = []
        var hit = false
        for b in bytes {
            table.advance(constraint.grammar, state: current, byte: b, into: &next, bottom: &hit)
            swap(&current, &next)
            if current.isEmpty { return nil }
        }
        return current.map { $0 < 0 ? 0 : table.distance(constraint.grammar, $0) }.min()
    }
}
