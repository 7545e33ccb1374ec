import Grammar

/// An Earley recognizer over the parsed GBNF (code points, not bytes): independent of the engine's
/// byte-level pushdown recognizer and token masks, so tests can check generated text against the grammar
/// with an algorithm that shares none of their code.
struct EarleyRecognizer {
    enum Sym: Hashable { case term(Int), rule(Int) }
    struct Alt { var lhs: Int; var rhs: [Sym] }

    private var alts: [Alt] = []
    private var byRule: [[Int]] = []
    private var classes: [(ranges: [ClosedRange<UInt32>], negated: Bool)] = []
    private var nullable: [Bool] = []
    private var root = 0

    init(_ grammar: GBNFGrammar) {
        var index: [String: Int] = [:]
        for (i, r) in grammar.rules.enumerated() { index[r.name] = i }
        byRule = Array(repeating: [], count: grammar.rules.count)
        func newRule() -> Int { byRule.append([]); return byRule.count - 1 }
        func add(_ lhs: Int, _ rhs: [Sym]) { alts.append(Alt(lhs: lhs, rhs: rhs)); byRule[lhs].append(alts.count - 1) }
        func term(_ ranges: [ClosedRange<UInt32>], _ negated: Bool) -> Sym { classes.append((ranges, negated)); return .term(classes.count - 1) }
        func symbols(_ t: GBNFTerm) -> [Sym] {
            switch t {
            case let .literal(points): return points.map { term([$0...$0], false) }
            case let .charClass(r, n): return [term(r, n)]
            case let .ruleRef(name): return [.rule(index[name]!)]
            case let .group(a):
                let r = newRule()
                for alt in a { add(r, alt.flatMap(symbols)) }
                return [.rule(r)]
            case let .repetition(inner, min, max):
                let item = symbols(inner)
                var out: [Sym] = []
                for _ in 0..<min { out += item }
                if let max {
                    for _ in 0..<(max - min) {
                        let r = newRule()
                        add(r, item)
                        add(r, [])
                        out.append(.rule(r))
                    }
                } else {
                    let r = newRule() // left-recursive star: fine for Earley
                    add(r, [])
                    add(r, [.rule(r)] + item)
                    out.append(.rule(r))
                }
                return out
            }
        }
        for (i, r) in grammar.rules.enumerated() { for alt in r.alternatives { add(i, alt.flatMap(symbols)) } }
        root = index["root"]!
        nullable = Array(repeating: false, count: byRule.count)
        var changed = true
        while changed {
            changed = false
            for a in alts where !nullable[a.lhs] && a.rhs.allSatisfy({ if case let .rule(r) = $0 { return nullable[r] } else { return false } }) {
                nullable[a.lhs] = true
                changed = true
            }
        }
    }

    private func matches(_ t: Int, _ c: UInt32) -> Bool {
        let inside = classes[t].ranges.contains { $0.contains(c) }
        return inside != classes[t].negated
    }

    struct Item: Hashable { var alt: Int; var dot: Int; var origin: Int }

    func recognizes(_ text: String) -> Bool {
        let input = text.unicodeScalars.map(\.value)
        var sets: [[Item]] = Array(repeating: [], count: input.count + 1)
        var seen: [Set<Item>] = Array(repeating: [], count: input.count + 1)
        func push(_ item: Item, _ k: Int) { if seen[k].insert(item).inserted { sets[k].append(item) } }
        for a in byRule[root] { push(Item(alt: a, dot: 0, origin: 0), 0) }
        for k in 0...input.count {
            var i = 0
            while i < sets[k].count {
                let item = sets[k][i]
                i += 1
                let rhs = alts[item.alt].rhs
                if item.dot == rhs.count {
                    let lhs = alts[item.alt].lhs
                    for parent in sets[item.origin] {
                        let prhs = alts[parent.alt].rhs
                        if parent.dot < prhs.count, prhs[parent.dot] == .rule(lhs) { push(Item(alt: parent.alt, dot: parent.dot + 1, origin: parent.origin), k) }
                    }
                    continue
                }
                switch rhs[item.dot] {
                case let .rule(r):
                    for a in byRule[r] { push(Item(alt: a, dot: 0, origin: k), k) }
                    if nullable[r] { push(Item(alt: item.alt, dot: item.dot + 1, origin: item.origin), k) }
                case let .term(t):
                    if k < input.count, matches(t, input[k]) { push(Item(alt: item.alt, dot: item.dot + 1, origin: item.origin), k + 1) }
                }
            }
        }
        return sets[input.count].contains { $0.origin == 0 && alts[$0.alt].lhs == root && $0.dot == alts[$0.alt].rhs.count }
    }
}
