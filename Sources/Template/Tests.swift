// jinja2's `is` tests, and the parse-time check that filter and test names exist.

extension Interpreter {
    func applyTest(_ name: String, _ v: Value, _ args: CallArguments, offset: Int) throws(TemplateError) -> Bool {
        func arg() throws(TemplateError) -> Value {
            guard let a = args.positional.first ?? args.named.values.first else { throw fail("test '\(name)' needs an argument", offset) }
            return a
        }
        switch name {
        case "defined": return !v.isUndefined
        case "undefined": return v.isUndefined
        case "none": return v.isNone
        case "string": if case .string = v { return true } else { return false }
        case "number":
            switch v { case .int, .double, .bool: return true; default: return false }
        case "integer": if case .int = v { return true } else { return false }
        case "float": if case .double = v { return true } else { return false }
        case "boolean": if case .bool = v { return true } else { return false }
        case "true": if case .bool(true) = v { return true } else { return false }
        case "false": if case .bool(false) = v { return true } else { return false }
        case "mapping": if case .dict = v { return true } else { return false }
        case "iterable":
            switch v { case .undefined, .string, .array, .tuple, .dict, .iterator, .view: return true; default: return false }
        case "sequence":
            switch v { case .undefined, .string, .array, .tuple, .dict: return true; default: return false }
        case "callable":
            switch v { case .macro, .builtin, .method: return true; default: return false }
        case "even", "odd", "divisibleby":
            guard let i = intValue(v) else { throw operandError("unsupported operand type(s) for %: '\(v.typeName)' and 'int'", v, offset) }
            if name == "divisibleby" {
                guard let n = intValue(try arg()), n != 0 else { throw fail("integer division or modulo by zero", offset) }
                return i % n == 0
            }
            return (i & 1 == 0) == (name == "even")
        case "lower": if case let .string(s) = v { return s == s.lowercased() } else { return false }
        case "upper": if case let .string(s) = v { return s == s.uppercased() } else { return false }
        case "eq", "equalto", "==": return pyEquals(v, try arg())
        case "ne", "!=": return !pyEquals(v, try arg())
        case "lt", "lessthan", "<": return try compare("<", v, try arg(), offset: offset)
        case "le", "<=": return try compare("<=", v, try arg(), offset: offset)
        case "gt", "greaterthan", ">": return try compare(">", v, try arg(), offset: offset)
        case "ge", ">=": return try compare(">=", v, try arg(), offset: offset)
        case "in": return try contains(try arg(), v, offset: offset)
        case "sameas":
            let other = try arg()
            switch (v, other) {
            case (.none, .none), (.undefined, .undefined): return true
            case let (.bool(a), .bool(b)): return a == b
            case let (.namespace(a), .namespace(b)): return a === b
            case let (.int(a), .int(b)): return a == b && a >= -5 && a <= 256 // CPython's small-int cache
            default: return false
            }
        case "escaped": return false
        case "filter": if case let .string(s) = v { return Builtins.filters.contains(s) } else { return false }
        case "test": if case let .string(s) = v { return Builtins.tests.contains(s) } else { return false }
        default: throw fail("No test named '\(name)'.", offset)
        }
    }
}

/// jinja2 rejects unknown filters and tests when compiling, except inside `if` blocks and inline
/// conditionals, where the error waits until the expression runs (jinja2's "soft" frames).
struct NameChecker {
    let source: String

    func fail(_ m: String, _ offset: Int) -> TemplateError {
        let (l, c) = lineColumn(source, offset)
        return .syntax(message: m, line: l, column: c)
    }

    mutating func check(_ nodes: [Node], soft: Bool) throws(TemplateError) {
        for n in nodes { try check(n, soft: soft) }
    }

    mutating func check(_ n: Node, soft: Bool) throws(TemplateError) {
        switch n.kind {
        case .text, .breakLoop, .continueLoop: break
        case let .output(e): try check(e, soft: soft)
        case let .ifBlock(branches, otherwise):
            for (t, b) in branches { try check(t, soft: true); try check(b, soft: true) }
            try check(otherwise, soft: true)
        case let .forLoop(_, iterable, condition, body, otherwise, _):
            try check(iterable, soft: soft)
            if let condition { try check(condition, soft: false) }
            try check(body, soft: false)
            try check(otherwise, soft: false)
        case let .set(_, e): try check(e, soft: soft)
        case let .setBlock(_, filters, body):
            try checkFilters(filters, soft: soft)
            try check(body, soft: false)
        case let .macro(def):
            for p in def.parameters { if let d = p.defaultValue { try check(d, soft: false) } }
            try check(def.body, soft: false)
        case let .callBlock(call, params, body):
            try check(call, soft: soft)
            for p in params { if let d = p.defaultValue { try check(d, soft: false) } }
            try check(body, soft: false)
        case let .filterBlock(filters, body):
            try checkFilters(filters, soft: soft)
            try check(body, soft: soft)
        case let .generation(body): try check(body, soft: soft)
        }
    }

    private func checkFilters(_ filters: [FilterCall], soft: Bool) throws(TemplateError) {
        for f in filters where !soft && !Builtins.filters.contains(f.name) {
            throw fail("No filter named '\(f.name)'.", f.offset)
        }
    }

    private mutating func check(_ args: [Argument], soft: Bool) throws(TemplateError) {
        for a in args { try check(a.value, soft: soft) }
    }

    mutating func check(_ e: Expr, soft: Bool) throws(TemplateError) {
        switch e.kind {
        case .literal, .name: break
        case let .list(items), let .tuple(items), let .concat(items):
            for i in items { try check(i, soft: soft) }
        case let .dict(pairs):
            for (k, v) in pairs { try check(k, soft: soft); try check(v, soft: soft) }
        case let .attribute(t, _): try check(t, soft: soft)
        case let .item(t, i): try check(t, soft: soft); try check(i, soft: soft)
        case let .slice(t, a, b, c):
            try check(t, soft: soft)
            for x in [a, b, c] { if let x { try check(x, soft: soft) } }
        case let .call(c, args): try check(c, soft: soft); try check(args, soft: soft)
        case let .filter(input, name, args):
            if !soft, !Builtins.filters.contains(name) { throw fail("No filter named '\(name)'.", e.offset) }
            try check(input, soft: soft); try check(args, soft: soft)
        case let .test(input, name, args, _):
            if !soft, !Builtins.tests.contains(name) { throw fail("No test named '\(name)'.", e.offset) }
            try check(input, soft: soft); try check(args, soft: soft)
        case let .negate(x), let .plus(x), let .not(x): try check(x, soft: soft)
        case let .binary(_, a, b), let .and(a, b), let .or(a, b): try check(a, soft: soft); try check(b, soft: soft)
        case let .compare(first, ops):
            try check(first, soft: soft)
            for (_, x) in ops { try check(x, soft: soft) }
        case let .conditional(then, test, otherwise):
            try check(then, soft: true); try check(test, soft: true)
            if let otherwise { try check(otherwise, soft: true) }
        }
    }
}
