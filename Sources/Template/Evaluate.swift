// Expression evaluation: names, attribute and item lookup (jinja2's sandboxed getattr/getitem),
// calls, and Python's operator semantics.

extension Interpreter {
    func eval(_ e: Expr, _ frame: Frame) throws(TemplateError) -> Value {
        switch e.kind {
        case let .literal(l):
            switch l {
            case .none: return .none
            case let .bool(b): return .bool(b)
            case let .int(i): return .int(i)
            case let .double(d): return .double(d)
            case let .string(s): return .string(s)
            }
        case let .name(n):
            return frame.lookup(n) ?? .undefined(hint: "'\(n)' is undefined")
        case let .list(items):
            var out: [Value] = []
            for i in items { out.append(try eval(i, frame)) }
            return .array(out)
        case let .tuple(items):
            var out: [Value] = []
            for i in items { out.append(try eval(i, frame)) }
            return .tuple(out)
        case let .dict(pairs):
            var d = Dict()
            for (k, v) in pairs { d[value: try eval(k, frame)] = try eval(v, frame) }
            return .dict(d)
        case let .attribute(target, name):
            return try getAttribute(try eval(target, frame), name, offset: e.offset)
        case let .item(target, index):
            return try getItem(try eval(target, frame), try eval(index, frame), offset: e.offset)
        case let .slice(target, a, b, c):
            let v = try eval(target, frame)
            let start = try a.map { (x) throws(TemplateError) in try eval(x, frame) }
            let stop = try b.map { (x) throws(TemplateError) in try eval(x, frame) }
            let step = try c.map { (x) throws(TemplateError) in try eval(x, frame) }
            return try slice(v, start, stop, step, offset: e.offset)
        case let .call(callee, args):
            return try call(try eval(callee, frame), try evalArguments(args, frame), offset: e.offset)
        case let .filter(input, name, args):
            return try applyFilter(name, try eval(input, frame), args, frame, offset: e.offset)
        case let .test(input, name, args, negated):
            let r = try applyTest(name, try eval(input, frame), try evalArguments(args, frame), offset: e.offset)
            return .bool(r != negated)
        case let .negate(x):
            let v = try eval(x, frame)
            switch v {
            case let .int(i): return i == .min ? .double(-Double(i)) : .int(-i)
            case let .bool(b): return .int(b ? -1 : 0)
            case let .double(d): return .double(-d)
            default: throw operandError("bad operand type for unary -: '\(v.typeName)'", v, e.offset)
            }
        case let .plus(x):
            let v = try eval(x, frame)
            switch v {
            case .int, .double: return v
            case let .bool(b): return .int(b ? 1 : 0)
            default: throw operandError("bad operand type for unary +: '\(v.typeName)'", v, e.offset)
            }
        case let .not(x):
            return .bool(!(try eval(x, frame).truthy))
        case let .and(a, b):
            let l = try eval(a, frame)
            return l.truthy ? try eval(b, frame) : l
        case let .or(a, b):
            let l = try eval(a, frame)
            return l.truthy ? l : try eval(b, frame)
        case let .binary(op, a, b):
            let l = try eval(a, frame), r = try eval(b, frame)
            if op == "+", case let .string(x) = l, case let .string(y) = r {
                // markupsafe: Markup + str escapes the plain side (`"'"|safe + tool | tojson`).
                switch (isMarkup(a), isMarkup(b)) {
                case (true, false): return .string(x + htmlEscaped(y))
                case (false, true): return .string(htmlEscaped(x) + y)
                default: return .string(x + y)
                }
            }
            return try binary(op, l, r, offset: e.offset)
        case let .compare(first, ops):
            var left = try eval(first, frame)
            for (op, rhs) in ops {
                let right = try eval(rhs, frame)
                guard try compare(op, left, right, offset: e.offset) else { return .bool(false) }
                left = right
            }
            return .bool(true)
        case let .concat(items):
            var s = ""
            for i in items { s += try eval(i, frame).pyStr }
            return .string(s)
        case let .conditional(then, test, otherwise):
            if try eval(test, frame).truthy { return try eval(then, frame) }
            guard let otherwise else { return .undefined(hint: "the inline if-expression evaluated to false and no else section was defined") }
            return try eval(otherwise, frame)
        }
    }

    /// Whether an expression yields markupsafe's `Markup` (autoescape is off, so only `safe` and
    /// `escape` make one, and `+` keeps it).
    private func isMarkup(_ e: Expr) -> Bool {
        switch e.kind {
        case let .filter(_, name, _): return ["safe", "e", "escape", "forceescape"].contains(name)
        case let .binary("+", a, b): return isMarkup(a) || isMarkup(b)
        default: return false
        }
    }

    func evalArguments(_ args: [Argument], _ frame: Frame) throws(TemplateError) -> CallArguments {
        var out = CallArguments()
        for a in args {
            let v = try eval(a.value, frame)
            if let n = a.name { out.named[n] = v } else { out.positional.append(v) }
        }
        return out
    }

    /// Using an Undefined in an operation is an error naming what was undefined.
    func operandError(_ message: String, _ operands: Value..., offset: Int) -> TemplateError {
        for case let .undefined(hint) in operands { return fail(hint, offset) }
        return fail(message, offset)
    }

    func operandError(_ message: String, _ v: Value, _ offset: Int) -> TemplateError {
        if case let .undefined(hint) = v { return fail(hint, offset) }
        return fail(message, offset)
    }

    // MARK: - Lookup

    func getAttribute(_ v: Value, _ name: String, offset: Int) throws(TemplateError) -> Value {
        switch v {
        case let .undefined(hint):
            throw fail(hint, offset)
        case let .dict(d):
            if Methods.dict.contains(name) { return .method(v, name) }
            return d[name] ?? .undefined(hint: "'dict object' has no attribute '\(name)'")
        case let .namespace(ns):
            return ns.attributes[name] ?? .undefined(hint: "'Namespace' object has no attribute '\(name)'")
        case let .loop(l):
            return loopAttribute(l, name)
        case .string:
            if Methods.string.contains(name) { return .method(v, name) }
        case let .tuple(t) where t.count == 2 && (name == "grouper" || name == "list"):
            return t[name == "grouper" ? 0 : 1] // groupby's named tuples
        case .array, .tuple:
            if Methods.list.contains(name) { return .method(v, name) }
        case .macro where name == "name":
            if case let .macro(m) = v { return .string(m.definition.name) }
        default:
            break
        }
        return .undefined(hint: "'\(v.typeName) object' has no attribute '\(name)'")
    }

    private func loopAttribute(_ l: LoopState, _ name: String) -> Value {
        let n = l.items.count
        switch name {
        case "index": return .int(l.index0 + 1)
        case "index0": return .int(l.index0)
        case "revindex": return .int(n - l.index0)
        case "revindex0": return .int(n - l.index0 - 1)
        case "first": return .bool(l.index0 == 0)
        case "last": return .bool(l.index0 == n - 1)
        case "length": return .int(n)
        case "depth": return .int(l.depth0 + 1)
        case "depth0": return .int(l.depth0)
        case "previtem": return l.index0 > 0 ? l.items[l.index0 - 1] : .undefined(hint: "there is no previous item")
        case "nextitem": return l.index0 + 1 < n ? l.items[l.index0 + 1] : .undefined(hint: "there is no next item")
        case "cycle", "changed": return .method(.loop(l), name)
        default: return .undefined(hint: "'LoopContext object' has no attribute '\(name)'")
        }
    }

    func getItem(_ v: Value, _ key: Value, offset: Int) throws(TemplateError) -> Value {
        switch (v, key) {
        case let (.undefined(hint), _):
            throw fail(hint, offset)
        case let (.dict(d), _):
            if let x = d[value: key] { return x }
            if case let .string(k) = key, Methods.dict.contains(k) { return .method(v, k) }
            return .undefined(hint: "'dict object' has no attribute \(key.pyRepr)")
        case let (.array(a), _), let (.tuple(a), _):
            guard let i = intValue(key) else {
                if case let .string(k) = key { return try getAttribute(v, k, offset: offset) }
                throw fail("list indices must be integers or slices, not \(key.typeName)", offset)
            }
            let j = i < 0 ? i + a.count : i
            return j >= 0 && j < a.count ? a[j] : .undefined(hint: "'list object' has no element \(i)")
        case let (.string(s), _):
            guard let i = intValue(key) else {
                if case let .string(k) = key { return try getAttribute(v, k, offset: offset) }
                throw fail("string indices must be integers, not '\(key.typeName)'", offset)
            }
            let u = Array(s.unicodeScalars)
            let j = i < 0 ? i + u.count : i
            return j >= 0 && j < u.count ? .string(String(u[j])) : .undefined(hint: "'str object' has no element \(i)")
        case let (_, .string(k)):
            return try getAttribute(v, k, offset: offset)
        default:
            return .undefined(hint: "'\(v.typeName) object' has no element \(key.pyRepr)")
        }
    }

    func intValue(_ v: Value) -> Int? {
        switch v {
        case let .int(i): return i
        case let .bool(b): return b ? 1 : 0
        default: return nil
        }
    }

    private func slice(_ v: Value, _ start: Value?, _ stop: Value?, _ step: Value?, offset: Int) throws(TemplateError) -> Value {
        func bound(_ x: Value?) throws(TemplateError) -> Int? {
            guard let x, !(x.isNone) else { return nil }
            guard let i = intValue(x) else { throw fail("slice indices must be integers or None", offset) }
            return i
        }
        let st = try bound(step) ?? 1
        guard st != 0 else { throw fail("slice step cannot be zero", offset) }
        let a = try bound(start), b = try bound(stop)
        switch v {
        case let .undefined(hint): throw fail(hint, offset)
        case let .array(items): return .array(pySliceIndices(items.count, a, b, st).map { items[$0] })
        case let .tuple(items): return .tuple(pySliceIndices(items.count, a, b, st).map { items[$0] })
        case let .string(s):
            let u = Array(s.unicodeScalars)
            var out = String.UnicodeScalarView()
            for i in pySliceIndices(u.count, a, b, st) { out.append(u[i]) }
            return .string(String(out))
        default: throw fail("'\(v.typeName)' object is not subscriptable", offset)
        }
    }

    // MARK: - Calls

    func call(_ callee: Value, _ args: CallArguments, offset: Int) throws(TemplateError) -> Value {
        switch callee {
        case let .macro(m): return try callMacro(m, args, offset: offset)
        case let .builtin(name): return try callGlobal(name, args, offset: offset)
        case let .method(receiver, name): return try callMethod(receiver, name, args, offset: offset)
        case let .undefined(hint): throw fail(hint, offset)
        case let .loop(l):
            guard let recursion = l.recursion else { throw fail("loop() can only be called in a recursive for loop", offset) }
            guard let children = args.positional.first else { throw fail("loop() takes one argument", offset) }
            var out = ""
            try enterCall(offset: offset)
            defer { callDepth -= 1 }
            _ = try runLoop(recursion, children, depth0: l.depth0 + 1, &out, offset: offset)
            return .string(out)
        default: throw fail("'\(callee.typeName)' object is not callable", offset)
        }
    }
}

extension Value {
    var isNone: Bool {
        if case .none = self { return true }
        return false
    }
}
