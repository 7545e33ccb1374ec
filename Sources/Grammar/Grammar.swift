/// A grammar compiled to bytes: what the recognizer and the token masks run on.
///
/// Every rule is a list of alternatives; every alternative a run of symbols in one flat array, closed by an
/// `end` symbol, so a parse position is one integer (llama.cpp keeps pointers into its rule vectors the same
/// way). Terminals are byte sets: a character class over code points becomes alternatives of UTF-8 byte-range
/// sequences, so tokens that split a character, or end in the middle of one, need no special case.
public struct Grammar: Sendable {
    enum Symbol: Equatable, Sendable {
        case bytes(ByteSet)
        case rule(Int32)
        case end
    }

    let symbols: [Symbol]
    /// Per rule, the positions where its alternatives start.
    let alternatives: [[Int32]]
    let ruleNames: [String]
    let root: Int32
    /// Per position: the fewest bytes that finish its alternative from there (``Grammar/unbounded`` when none).
    let minRemaining: [Int32]

    static let unbounded: Int32 = 1 << 28

    /// Parses and compiles GBNF text (llama.cpp's grammar format).
    /// - Throws: ``GrammarError`` naming the problem: a syntax error with its line and column, an undefined
    ///   rule, a missing `root`, a left-recursive rule, or unsupported syntax.
    public init(gbnf: String) throws(GrammarError) {
        let ast = try GBNFParser.parse(gbnf)
        var builder = Builder()
        try builder.compile(ast)
        symbols = builder.flatSymbols
        alternatives = builder.flatAlternatives
        ruleNames = builder.names
        root = builder.index["root"]!
        minRemaining = builder.minRemaining()
        try builder.checkLeftRecursion()
    }

    /// The number of rules after compiling (named ones plus those made for groups, classes and repetitions).
    public var ruleCount: Int { alternatives.count }

    /// The fewest bytes a complete output has.
    public var minimumLength: Int { Int(alternatives[Int(root)].map { minRemaining[Int($0)] }.min() ?? Self.unbounded) }
}

/// Turns the parsed GBNF into byte-level rules.
private struct Builder {
    var names: [String] = []
    var index: [String: Int32] = [:]
    /// Per rule, alternatives as symbol sequences (before flattening).
    var rules: [[[Grammar.Symbol]]] = []
    var classRules: [[ClosedRange<UInt32>]: Int32] = [:]
    var flatSymbols: [Grammar.Symbol] = []
    var flatAlternatives: [[Int32]] = []

    mutating func newRule(_ name: String) -> Int32 {
        let id = Int32(rules.count)
        names.append(name)
        rules.append([])
        return id
    }

    mutating func compile(_ ast: GBNFGrammar) throws(GrammarError) {
        for rule in ast.rules { index[rule.name] = newRule(rule.name) }
        guard index["root"] != nil else { throw .missingRoot }
        for rule in ast.rules {
            var alts: [[Grammar.Symbol]] = []
            for alt in rule.alternatives { alts.append(try sequence(alt, owner: rule.name)) }
            rules[Int(index[rule.name]!)] = alts
        }
        for (r, alts) in rules.enumerated() {
            var starts: [Int32] = []
            for alt in alts {
                starts.append(Int32(flatSymbols.count))
                flatSymbols += alt
                flatSymbols.append(.end)
            }
            _ = r
            flatAlternatives.append(starts)
        }
    }

    mutating func sequence(_ terms: [GBNFTerm], owner: String) throws(GrammarError) -> [Grammar.Symbol] {
        var out: [Grammar.Symbol] = []
        for t in terms { out += try term(t, owner: owner) }
        return out
    }

    mutating func term(_ t: GBNFTerm, owner: String) throws(GrammarError) -> [Grammar.Symbol] {
        switch t {
        case let .literal(points):
            return points.flatMap { UTF8Ranges.encode($0) }.map { b in
                var s = ByteSet()
                s.insert(b)
                return .bytes(s)
            }
        case let .charClass(ranges, negated):
            let points = negated ? UTF8Ranges.complement(ranges) : UTF8Ranges.normalized(ranges)
            if let id = classRules[points] { return [.rule(id)] }
            let sequences = UTF8Ranges.sequences(points)
            var single = ByteSet()
            var multi: [[Grammar.Symbol]] = []
            for seq in sequences {
                if seq.count == 1 { for b in seq[0] { single.insert(b) } } else { multi.append(seq.map { .bytes(ByteSet($0)) }) }
            }
            if multi.isEmpty { return [.bytes(single)] }
            let id = newRule("\(owner)-class")
            rules[Int(id)] = (single.isEmpty ? [] : [[.bytes(single)]]) + multi
            classRules[points] = id
            return [.rule(id)]
        case let .ruleRef(name):
            guard let id = index[name] else { throw .undefinedRule(name) }
            return [.rule(id)]
        case let .group(alts):
            if alts.count == 1 { return try sequence(alts[0], owner: owner) }
            let id = newRule("\(owner)-group")
            var compiled: [[Grammar.Symbol]] = []
            for alt in alts { compiled.append(try sequence(alt, owner: owner)) }
            rules[Int(id)] = compiled
            return [.rule(id)]
        case let .repetition(inner, min, max):
            var item = try term(inner, owner: owner)
            if item.count != 1 {
                let id = newRule("\(owner)-item")
                rules[Int(id)] = [item]
                item = [.rule(id)]
            }
            var out: [Grammar.Symbol] = []
            for _ in 0..<min { out += item }
            if let max {
                // Nested optionals x (x (x)?)?, each a tail reference so the parse stack stays flat.
                var tail: Int32?
                for _ in 0..<(max - min) {
                    let id = newRule("\(owner)-opt")
                    rules[Int(id)] = [item + (tail.map { [.rule($0)] } ?? []), []]
                    tail = id
                }
                if let tail { out.append(.rule(tail)) }
            } else {
                let id = newRule("\(owner)-star")
                rules[Int(id)] = [item + [.rule(id)], []]
                out.append(.rule(id))
            }
            return out
        }
    }

    func ruleMinLengths() -> [Int32] {
        var minLen = [Int32](repeating: Grammar.unbounded, count: rules.count)
        var changed = true
        while changed {
            changed = false
            for (r, alts) in rules.enumerated() {
                for alt in alts {
                    var total: Int32 = 0
                    for s in alt {
                        switch s {
                        case .bytes: total += 1
                        case let .rule(id): total = Swift.min(Grammar.unbounded, total + minLen[Int(id)])
                        case .end: break
                        }
                    }
                    if total < minLen[r] { minLen[r] = total; changed = true }
                }
            }
        }
        return minLen
    }

    func minRemaining() -> [Int32] {
        let minLen = ruleMinLengths()
        var out = [Int32](repeating: 0, count: flatSymbols.count)
        var running: Int32 = 0
        for p in flatSymbols.indices.reversed() {
            switch flatSymbols[p] {
            case .end: running = 0
            case .bytes: running = Swift.min(Grammar.unbounded, running + 1)
            case let .rule(id): running = Swift.min(Grammar.unbounded, running + minLen[Int(id)])
            }
            out[p] = running
        }
        return out
    }

    /// Rejects rules that can reach themselves before consuming a byte: expanding them would never end.
    func checkLeftRecursion() throws(GrammarError) {
        let nullable = ruleMinLengths().map { $0 == 0 }
        var edges = [[Int32]](repeating: [], count: rules.count)
        for (r, alts) in rules.enumerated() {
            for alt in alts {
                for s in alt {
                    guard case let .rule(id) = s else { break }
                    edges[r].append(id)
                    if !nullable[Int(id)] { break }
                }
            }
        }
        // Iterative DFS with colours: 1 on the path, 2 done.
        var colour = [UInt8](repeating: 0, count: rules.count)
        for start in rules.indices where colour[start] == 0 {
            var stack: [(Int, Int)] = [(start, 0)]
            colour[start] = 1
            while let (node, next) = stack.last {
                if next < edges[node].count {
                    stack[stack.count - 1].1 += 1
                    let m = Int(edges[node][next])
                    if colour[m] == 1 { throw .leftRecursion(rule: names[m]) }
                    if colour[m] == 0 { colour[m] = 1; stack.append((m, 0)) }
                } else {
                    colour[node] = 2
                    stack.removeLast()
                }
            }
        }
    }
}
