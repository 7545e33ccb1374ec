// Expression grammar, in jinja2's precedence order (lowest first): conditional, or, and, not,
// comparisons, + -, ~, * / // %, **, unary - +, then primary with postfix, filters and tests.

extension Parser {
    mutating func parseExpression(withCondExpr: Bool = true) throws(TemplateError) -> Expr {
        withCondExpr ? try parseCondExpr() : try parseOr()
    }

    /// Comma-separated expressions form a tuple, as in `{% set a, b = 1, 2 %}`.
    mutating func parseTuple(withCondExpr: Bool = true, extraEnd: Set<String> = [], explicitParentheses: Bool = false)
        throws(TemplateError) -> Expr
    {
        let offset = current.offset
        var items: [Expr] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expectOp(",") }
            if isTupleEnd(extraEnd) { break }
            items.append(try parseExpression(withCondExpr: withCondExpr))
            if isOp(",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let only = items.first { return only }
            if !explicitParentheses { throw fail("expected an expression, got \(describe(kind))") }
        }
        return Expr(kind: .tuple(items), offset: offset)
    }

    private func isTupleEnd(_ extra: Set<String>) -> Bool {
        switch kind {
        case .varEnd, .blockEnd, .op(")"), .eof: return true
        case let .name(n): return extra.contains(n)
        default: return false
        }
    }

    mutating func parseCondExpr() throws(TemplateError) -> Expr {
        var e = try parseOr()
        while isName("if") {
            let offset = current.offset
            advance()
            let test = try parseOr()
            var otherwise: Expr?
            if skipName("else") { otherwise = try parseCondExpr() }
            e = Expr(kind: .conditional(then: e, test: test, otherwise: otherwise), offset: offset)
        }
        return e
    }

    mutating func parseOr() throws(TemplateError) -> Expr {
        var e = try parseAnd()
        while isName("or") {
            let offset = current.offset
            advance()
            e = Expr(kind: .or(e, try parseAnd()), offset: offset)
        }
        return e
    }

    mutating func parseAnd() throws(TemplateError) -> Expr {
        var e = try parseNot()
        while isName("and") {
            let offset = current.offset
            advance()
            e = Expr(kind: .and(e, try parseNot()), offset: offset)
        }
        return e
    }

    mutating func parseNot() throws(TemplateError) -> Expr {
        if isName("not") {
            let offset = current.offset
            advance()
            return Expr(kind: .not(try parseNot()), offset: offset)
        }
        return try parseCompare()
    }

    mutating func parseCompare() throws(TemplateError) -> Expr {
        let offset = current.offset
        let e = try parseMath1()
        var ops: [(String, Expr)] = []
        while true {
            if case let .op(o) = kind, ["==", "!=", "<", ">", "<=", ">="].contains(o) {
                advance()
                ops.append((o, try parseMath1()))
            } else if skipName("in") {
                ops.append(("in", try parseMath1()))
            } else if isName("not"), peekKind() == .name("in") {
                advance(); advance()
                ops.append(("notin", try parseMath1()))
            } else {
                break
            }
        }
        return ops.isEmpty ? e : Expr(kind: .compare(e, ops), offset: offset)
    }

    mutating func parseMath1() throws(TemplateError) -> Expr {
        var e = try parseConcat()
        while case let .op(o) = kind, o == "+" || o == "-" {
            let offset = current.offset
            advance()
            e = Expr(kind: .binary(o, e, try parseConcat()), offset: offset)
        }
        return e
    }

    mutating func parseConcat() throws(TemplateError) -> Expr {
        let offset = current.offset
        var items = [try parseMath2()]
        while skipOp("~") { items.append(try parseMath2()) }
        return items.count == 1 ? items[0] : Expr(kind: .concat(items), offset: offset)
    }

    mutating func parseMath2() throws(TemplateError) -> Expr {
        var e = try parsePow()
        while case let .op(o) = kind, ["*", "/", "//", "%"].contains(o) {
            let offset = current.offset
            advance()
            e = Expr(kind: .binary(o, e, try parsePow()), offset: offset)
        }
        return e
    }

    mutating func parsePow() throws(TemplateError) -> Expr {
        var e = try parseUnary()
        while isOp("**") {
            let offset = current.offset
            advance()
            e = Expr(kind: .binary("**", e, try parseUnary()), offset: offset)
        }
        return e
    }

    mutating func parseUnary(withFilter: Bool = true) throws(TemplateError) -> Expr {
        let offset = current.offset
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw fail("expression nested too deeply") }
        var e: Expr
        if skipOp("-") {
            e = Expr(kind: .negate(try parseUnary(withFilter: false)), offset: offset)
        } else if skipOp("+") {
            e = Expr(kind: .plus(try parseUnary(withFilter: false)), offset: offset)
        } else {
            e = try parsePrimary()
        }
        e = try parsePostfix(e)
        if withFilter { e = try parseFilterExpr(e) }
        return e
    }

    mutating func parsePrimary() throws(TemplateError) -> Expr {
        let t = current
        switch t.kind {
        case let .name(n):
            advance()
            switch n {
            case "true", "True": return Expr(kind: .literal(.bool(true)), offset: t.offset)
            case "false", "False": return Expr(kind: .literal(.bool(false)), offset: t.offset)
            case "none", "None": return Expr(kind: .literal(.none), offset: t.offset)
            default: return Expr(kind: .name(n), offset: t.offset)
            }
        case var .string(s):
            advance()
            // Adjacent string literals concatenate, as in Python.
            while case let .string(more) = kind { s += more; advance() }
            return Expr(kind: .literal(.string(s)), offset: t.offset)
        case let .int(i):
            advance()
            return Expr(kind: .literal(.int(i)), offset: t.offset)
        case let .float(d):
            advance()
            return Expr(kind: .literal(.double(d)), offset: t.offset)
        case .op("("):
            advance()
            let e = try parseTuple(explicitParentheses: true)
            try expectOp(")")
            return e
        case .op("["):
            advance()
            var items: [Expr] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            advance()
            return Expr(kind: .list(items), offset: t.offset)
        case .op("{"):
            advance()
            var items: [(Expr, Expr)] = []
            while !isOp("}") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("}") { break }
                let k = try parseExpression()
                try expectOp(":")
                items.append((k, try parseExpression()))
            }
            advance()
            return Expr(kind: .dict(items), offset: t.offset)
        default:
            throw fail("unexpected \(describe(t.kind))")
        }
    }

    mutating func parsePostfix(_ start: Expr) throws(TemplateError) -> Expr {
        var e = start
        while true {
            let offset = current.offset
            if skipOp(".") {
                switch kind {
                case let .name(n):
                    advance()
                    e = Expr(kind: .attribute(e, n), offset: offset)
                case let .int(i):
                    advance()
                    e = Expr(kind: .item(e, Expr(kind: .literal(.int(i)), offset: offset)), offset: offset)
                default:
                    throw fail("expected an attribute name after '.'")
                }
            } else if skipOp("[") {
                e = try parseSubscript(e, at: offset)
            } else if isOp("(") {
                // Errors in a call point at the callee (`raise_exception(...)`), not at the parenthesis.
                e = Expr(kind: .call(e, try parseCallArguments()), offset: e.offset)
            } else {
                return e
            }
        }
    }

    private mutating func parseSubscript(_ target: Expr, at offset: Int) throws(TemplateError) -> Expr {
        // A slice `[a:b:c]` has optional parts; `[a]` is a plain item.
        var parts: [Expr?] = []
        var isSlice = false
        if !isOp(":") { parts.append(try parseExpression()) } else { parts.append(nil) }
        if skipOp(":") {
            isSlice = true
            parts.append(isOp(":") || isOp("]") ? nil : try parseExpression())
            if skipOp(":") { parts.append(isOp("]") ? nil : try parseExpression()) }
        }
        try expectOp("]")
        if !isSlice, let index = parts[0] { return Expr(kind: .item(target, index), offset: offset) }
        while parts.count < 3 { parts.append(nil) }
        return Expr(kind: .slice(target, parts[0], parts[1], parts[2]), offset: offset)
    }

    mutating func parseCallArguments() throws(TemplateError) -> [Argument] {
        try expectOp("(")
        var args: [Argument] = []
        while !isOp(")") {
            if !args.isEmpty { try expectOp(",") }
            if isOp(")") { break }
            if case let .name(n) = kind, peekKind() == .op("=") {
                advance(); advance()
                args.append(Argument(name: n, value: try parseExpression()))
            } else {
                if isOp("*") || isOp("**") { throw fail("*args and **kwargs are not supported") }
                guard args.allSatisfy({ $0.name == nil }) else { throw fail("positional argument follows keyword argument") }
                args.append(Argument(name: nil, value: try parseExpression()))
            }
        }
        advance()
        return args
    }

    mutating func parseFilterExpr(_ start: Expr) throws(TemplateError) -> Expr {
        var e = start
        while true {
            let offset = current.offset
            if skipOp("|") {
                let name = try parseDottedName()
                let args = isOp("(") ? try parseCallArguments() : []
                e = Expr(kind: .filter(e, name, args), offset: offset)
            } else if isName("is") {
                advance()
                let negated = skipName("not")
                let name = try parseDottedName()
                var args: [Argument] = []
                if isOp("(") {
                    args = try parseCallArguments()
                } else if startsTestArgument() {
                    args = [Argument(name: nil, value: try parsePostfix(try parsePrimary()))]
                }
                e = Expr(kind: .test(e, name, args, negated: negated), offset: offset)
            } else if isOp("(") {
                e = Expr(kind: .call(e, try parseCallArguments()), offset: offset)
            } else {
                return e
            }
        }
    }

    /// jinja2 lets a test take one argument without parentheses (`x is divisibleby 3`).
    private func startsTestArgument() -> Bool {
        switch kind {
        case let .name(n): return !["else", "or", "and"].contains(n)
        case .string, .int, .float, .op("["), .op("{"): return true
        default: return false
        }
    }
}
