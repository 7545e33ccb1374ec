import JSON

// Recursive-descent parser following jinja2's grammar (jinja2/parser.py): operator precedence,
// filters binding tighter than arithmetic, tests after filters, tuples without parentheses.

struct Parser {
    let tokens: [Token]
    let source: String
    var p = 0
    var loopDepth = 0
    /// Nesting of expressions and blocks; bounded so hostile input cannot exhaust the stack.
    var depth = 0
    static let maxDepth = 200

    init(tokens: [Token], source: String) {
        self.tokens = tokens
        self.source = source
    }

    // MARK: - Token helpers

    var current: Token { tokens[p] }
    var kind: TokenKind { tokens[p].kind }

    func fail(_ message: String, at offset: Int? = nil) -> TemplateError {
        let (l, c) = lineColumn(source, offset ?? current.offset)
        return .syntax(message: message, line: l, column: c)
    }

    func isOp(_ s: String) -> Bool { kind == .op(s) }
    func isName(_ s: String) -> Bool { kind == .name(s) }
    func peekKind(_ n: Int = 1) -> TokenKind { p + n < tokens.count ? tokens[p + n].kind : .eof }

    mutating func advance() { if p < tokens.count - 1 { p += 1 } }

    mutating func skipOp(_ s: String) -> Bool {
        if isOp(s) { advance(); return true }
        return false
    }

    mutating func skipName(_ s: String) -> Bool {
        if isName(s) { advance(); return true }
        return false
    }

    mutating func expectOp(_ s: String) throws(TemplateError) {
        guard skipOp(s) else { throw fail("expected '\(s)', got \(describe(kind))") }
    }

    mutating func expectName() throws(TemplateError) -> String {
        guard case let .name(n) = kind else { throw fail("expected a name, got \(describe(kind))") }
        advance()
        return n
    }

    mutating func expectBlockEnd() throws(TemplateError) {
        guard kind == .blockEnd else { throw fail("expected end of statement block, got \(describe(kind))") }
        advance()
    }

    func describe(_ k: TokenKind) -> String {
        switch k {
        case .text: return "text"
        case .varBegin: return "'{{'"
        case .varEnd: return "'}}'"
        case .blockBegin: return "'{%'"
        case .blockEnd: return "'%}'"
        case let .name(n): return "'\(n)'"
        case let .string(s): return "string \(pyStringRepr(s))"
        case let .int(i): return "integer \(i)"
        case let .float(d): return "number \(pythonFloatRepr(d))"
        case let .op(o): return "'\(o)'"
        case .eof: return "end of template"
        }
    }

    // MARK: - Statements

    mutating func parseTemplate() throws(TemplateError) -> [Node] {
        let (nodes, _) = try parseBody(until: [])
        var checker = NameChecker(source: source)
        try checker.check(nodes, soft: false)
        return nodes
    }

    /// Parses nodes until a block tag named in `ends` (consumed, with its name returned) or the end of input.
    mutating func parseBody(until ends: Set<String>) throws(TemplateError) -> ([Node], String?) {
        var nodes: [Node] = []
        while true {
            let t = current
            switch t.kind {
            case let .text(s):
                nodes.append(Node(kind: .text(s), offset: t.offset))
                advance()
            case .varBegin:
                advance()
                let e = try parseTuple()
                guard kind == .varEnd else { throw fail("expected end of print statement, got \(describe(kind))") }
                advance()
                nodes.append(Node(kind: .output(e), offset: t.offset))
            case .blockBegin:
                advance()
                guard case let .name(tag) = kind else { throw fail("tag name expected") }
                if ends.contains(tag) {
                    advance()
                    return (nodes, tag)
                }
                nodes.append(try parseStatement(tag, at: t.offset))
            case .eof:
                if ends.isEmpty { return (nodes, nil) }
                let names = ends.sorted().map { "'\($0)'" }.joined(separator: " or ")
                throw fail("unexpected end of template; jinja was looking for \(names)")
            default:
                throw fail("unexpected \(describe(t.kind))")
            }
        }
    }

    private static let endTags: Set<String> = [
        "endif", "endfor", "endset", "endmacro", "endcall", "endfilter", "endgeneration", "else", "elif", "endraw",
    ]

    mutating func parseStatement(_ tag: String, at offset: Int) throws(TemplateError) -> Node {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw fail("blocks nested too deeply", at: offset) }
        advance()
        switch tag {
        case "if": return try parseIf(at: offset)
        case "for": return try parseFor(at: offset)
        case "set": return try parseSet(at: offset)
        case "macro": return try parseMacro(at: offset)
        case "call": return try parseCallBlock(at: offset)
        case "filter":
            let filters = try parseFilterChain(first: true)
            try expectBlockEnd()
            let (body, _) = try parseBody(until: ["endfilter"])
            try expectBlockEnd()
            return Node(kind: .filterBlock(filters, body: body), offset: offset)
        case "generation":
            try expectBlockEnd()
            let (body, _) = try parseBody(until: ["endgeneration"])
            try expectBlockEnd()
            return Node(kind: .generation(body), offset: offset)
        case "break", "continue":
            guard loopDepth > 0 else { throw fail("'\(tag)' outside of a for loop", at: offset) }
            try expectBlockEnd()
            return Node(kind: tag == "break" ? .breakLoop : .continueLoop, offset: offset)
        default:
            if Self.endTags.contains(tag) { throw fail("unexpected '\(tag)'", at: offset) }
            throw fail("encountered unknown tag '\(tag)'", at: offset)
        }
    }

    mutating func parseIf(at offset: Int) throws(TemplateError) -> Node {
        var branches: [(Expr, [Node])] = []
        var test = try parseTuple(withCondExpr: false)
        while true {
            try expectBlockEnd()
            let (body, end) = try parseBody(until: ["elif", "else", "endif"])
            branches.append((test, body))
            if end == "elif" {
                test = try parseTuple(withCondExpr: false)
                continue
            }
            if end == "else" {
                try expectBlockEnd()
                let (otherwise, _) = try parseBody(until: ["endif"])
                try expectBlockEnd()
                return Node(kind: .ifBlock(branches, otherwise: otherwise), offset: offset)
            }
            try expectBlockEnd()
            return Node(kind: .ifBlock(branches, otherwise: []), offset: offset)
        }
    }

    mutating func parseFor(at offset: Int) throws(TemplateError) -> Node {
        let target = try parseAssignTarget(allowAttribute: false)
        guard skipName("in") else { throw fail("expected 'in' in for loop") }
        let iterable = try parseTuple(withCondExpr: false, extraEnd: ["recursive"])
        var condition: Expr?
        if skipName("if") { condition = try parseExpression() }
        let recursive = skipName("recursive")
        try expectBlockEnd()
        loopDepth += 1
        let (body, end) = try parseBody(until: ["endfor", "else"])
        loopDepth -= 1
        var otherwise: [Node] = []
        if end == "else" {
            try expectBlockEnd()
            (otherwise, _) = try parseBody(until: ["endfor"])
        }
        try expectBlockEnd()
        return Node(kind: .forLoop(target: target, iterable: iterable, condition: condition, body: body,
                                   otherwise: otherwise, recursive: recursive), offset: offset)
    }

    mutating func parseSet(at offset: Int) throws(TemplateError) -> Node {
        let target = try parseAssignTarget(allowAttribute: true)
        if skipOp("=") {
            let value = try parseTuple()
            try expectBlockEnd()
            return Node(kind: .set(target, value), offset: offset)
        }
        let filters = try parseFilterChain(first: false)
        try expectBlockEnd()
        let (body, _) = try parseBody(until: ["endset"])
        try expectBlockEnd()
        return Node(kind: .setBlock(target, filters: filters, body: body), offset: offset)
    }

    mutating func parseMacro(at offset: Int) throws(TemplateError) -> Node {
        let name = try expectName()
        let params = try parseSignature()
        try expectBlockEnd()
        let savedLoop = loopDepth
        loopDepth = 0
        let (body, _) = try parseBody(until: ["endmacro"])
        loopDepth = savedLoop
        try expectBlockEnd()
        return Node(kind: .macro(MacroDefinition(name: name, parameters: params, body: body)), offset: offset)
    }

    mutating func parseCallBlock(at offset: Int) throws(TemplateError) -> Node {
        var params: [(name: String, defaultValue: Expr?)] = []
        if isOp("(") { params = try parseSignature() }
        let call = try parseExpression()
        guard case .call = call.kind else { throw fail("expected a call after 'call'", at: call.offset) }
        try expectBlockEnd()
        let savedLoop = loopDepth
        loopDepth = 0
        let (body, _) = try parseBody(until: ["endcall"])
        loopDepth = savedLoop
        try expectBlockEnd()
        return Node(kind: .callBlock(call: call, callerParameters: params, body: body), offset: offset)
    }

    mutating func parseSignature() throws(TemplateError) -> [(name: String, defaultValue: Expr?)] {
        try expectOp("(")
        var params: [(name: String, defaultValue: Expr?)] = []
        while !isOp(")") {
            if !params.isEmpty { try expectOp(",") }
            if isOp(")") { break }
            let n = try expectName()
            params.append((n, skipOp("=") ? try parseExpression() : nil))
        }
        advance()
        return params
    }

    /// `name(args) | name ...` after `filter` (first: no leading pipe) or `set x` (each with a pipe).
    mutating func parseFilterChain(first: Bool) throws(TemplateError) -> [FilterCall] {
        var filters: [FilterCall] = []
        var needPipe = !first
        while true {
            if needPipe { guard skipOp("|") else { break } }
            needPipe = true
            let offset = current.offset
            let name = try parseDottedName()
            let args = isOp("(") ? try parseCallArguments() : []
            filters.append(FilterCall(name: name, arguments: args, offset: offset))
        }
        return filters
    }

    mutating func parseAssignTarget(allowAttribute: Bool) throws(TemplateError) -> Target {
        let offset = current.offset
        if allowAttribute, case let .name(n) = kind, peekKind() == .op(".") {
            advance(); advance()
            let attr = try expectName()
            return .attribute(n, attr)
        }
        let parenthesized = skipOp("(")
        var names: [String] = []
        var isTuple = parenthesized
        while true {
            names.append(try expectName())
            if skipOp(",") {
                isTuple = true
                if case .name = kind { continue }
            }
            break
        }
        if parenthesized { try expectOp(")") }
        for n in names where ["true", "false", "none", "True", "False", "None"].contains(n) {
            throw fail("can't assign to '\(n)'", at: offset)
        }
        return isTuple ? .tuple(names) : .name(names[0])
    }

    mutating func parseDottedName() throws(TemplateError) -> String {
        var name = try expectName()
        while isOp("."), case .name = peekKind() {
            advance()
            name += "." + (try expectName())
        }
        return name
    }
}
