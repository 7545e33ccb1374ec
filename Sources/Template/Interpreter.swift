// Executes a parsed template. Scoping follows jinja2: each for-loop iteration and each macro call
// gets its own frame (assignments there do not leak out), `if` blocks share their parent's frame,
// and macros see the frame they were defined in, not the caller's.

final class Frame {
    var vars: [String: Value] = [:]
    let parent: Frame?

    init(parent: Frame?) { self.parent = parent }

    func lookup(_ name: String) -> Value? {
        var f: Frame? = self
        while let frame = f {
            if let v = frame.vars[name] { return v }
            f = frame.parent
        }
        return nil
    }
}

enum Flow { case normal, breakLoop, continueLoop }

final class Interpreter {
    let source: String
    let root: Frame
    /// Unix time used by `strftime_now`; nil means the clock.
    let fixedTime: Double?
    /// Macro and recursive-loop calls in progress; bounded like Python's recursion limit.
    var callDepth = 0
    static let maxCallDepth = 100

    /// Largest string or list a single operation may build (`'x' * n`, padding, indents): a template
    /// must not be able to exhaust memory.
    static let maxSize = 1 << 26

    func checkSize(_ count: Int, offset: Int) throws(TemplateError) -> Int {
        guard count <= Self.maxSize else { throw fail("result too large (\(count) items)", offset) }
        return max(count, 0)
    }

    /// Python's int(x) of a float; nil when it does not fit (Python would need a big integer).
    func truncatedInt(_ d: Double) -> Int? {
        guard d.isFinite else { return nil }
        return Int(exactly: d.rounded(.towardZero))
    }

    func enterCall(offset: Int) throws(TemplateError) {
        callDepth += 1
        guard callDepth <= Self.maxCallDepth else { throw fail("maximum recursion depth exceeded", offset) }
    }

    init(source: String, globals: [String: Value], fixedTime: Double? = nil) {
        self.source = source
        self.fixedTime = fixedTime
        let builtins = Frame(parent: nil)
        for name in ["range", "namespace", "dict", "raise_exception", "strftime_now", "joiner", "cycler", "lipsum"] {
            builtins.vars[name] = .builtin(name)
        }
        root = Frame(parent: builtins)
        root.vars = globals
    }

    func fail(_ message: String, _ offset: Int) -> TemplateError {
        let (l, c) = lineColumn(source, offset)
        return .runtime(message: message, line: l, column: c)
    }

    func run(_ program: [Node]) throws(TemplateError) -> String {
        var out = ""
        _ = try exec(program, root, &out)
        return out
    }

    func exec(_ nodes: [Node], _ frame: Frame, _ out: inout String) throws(TemplateError) -> Flow {
        for node in nodes {
            let flow = try exec(node, frame, &out)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func exec(_ node: Node, _ frame: Frame, _ out: inout String) throws(TemplateError) -> Flow {
        switch node.kind {
        case let .text(s):
            out += s
        case let .output(e):
            out += try eval(e, frame).pyStr
        case let .ifBlock(branches, otherwise):
            for (test, body) in branches where try eval(test, frame).truthy {
                return try exec(body, frame, &out)
            }
            return try exec(otherwise, frame, &out)
        case let .forLoop(target, iterable, condition, body, otherwise, recursive):
            let seq = try eval(iterable, frame)
            let loop = ForLoop(target: target, condition: condition, body: body, otherwise: otherwise, frame: frame,
                               recursive: recursive, offset: node.offset)
            return try runLoop(loop, seq, depth0: 0, &out, offset: iterable.offset)
        case let .set(target, e):
            try assign(target, try eval(e, frame), frame, offset: node.offset)
        case let .setBlock(target, filters, body):
            var text = ""
            _ = try exec(body, frame, &text)
            var v = Value.string(text)
            for f in filters { v = try applyFilter(f.name, v, f.arguments, frame, offset: f.offset) }
            try assign(target, v, frame, offset: node.offset)
        case let .macro(def):
            frame.vars[def.name] = .macro(Macro(definition: def, closure: frame))
        case let .callBlock(call, params, body):
            guard case let .call(calleeExpr, args) = call.kind else { return .normal }
            let callee = try eval(calleeExpr, frame)
            guard case let .macro(m) = callee else { throw fail("{% call %} needs a macro, got \(callee.typeName)", call.offset) }
            let caller = Macro(definition: MacroDefinition(name: "caller", parameters: params, body: body), closure: frame)
            let bound = Macro(definition: m.definition, closure: m.closure, caller: caller)
            out += try callMacro(bound, try evalArguments(args, frame), offset: call.offset).pyStr
        case let .filterBlock(filters, body):
            var text = ""
            _ = try exec(body, frame, &text)
            var v = Value.string(text)
            for f in filters { v = try applyFilter(f.name, v, f.arguments, frame, offset: f.offset) }
            out += v.pyStr
        case let .generation(body):
            return try exec(body, frame, &out)
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        }
        return .normal
    }

    /// Runs a for loop over `seq`; a recursive loop's body calls `loop(children)`, which comes back
    /// here one level deeper.
    func runLoop(_ loop: ForLoop, _ seq: Value, depth0: Int, _ out: inout String, offset: Int) throws(TemplateError) -> Flow {
        let frame = loop.frame
        guard var items = seq.iterated else { throw fail("'\(seq.typeName)' object is not iterable", offset) }
        if let condition = loop.condition {
            var kept: [Value] = []
            for item in items {
                let f = Frame(parent: frame)
                try bind(loop.target, item, f, offset: loop.offset)
                if try eval(condition, f).truthy { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty { return try exec(loop.otherwise, frame, &out) }
        for (i, item) in items.enumerated() {
            let f = Frame(parent: frame)
            f.vars["loop"] = .loop(LoopState(items: items, index0: i, depth0: depth0, recursion: loop.recursive ? loop : nil))
            try bind(loop.target, item, f, offset: loop.offset)
            if try exec(loop.body, f, &out) == .breakLoop { break }
        }
        return .normal
    }

    /// Binds loop variables; tuples unpack like Python (`for k, v in d.items()`).
    private func bind(_ target: Target, _ v: Value, _ frame: Frame, offset: Int) throws(TemplateError) {
        switch target {
        case let .name(n): frame.vars[n] = v
        case let .tuple(names):
            guard let parts = v.iterated, !v.isUndefined || names.isEmpty else {
                throw fail("cannot unpack non-iterable \(v.typeName) object", offset)
            }
            guard parts.count == names.count else {
                throw fail(parts.count < names.count
                    ? "not enough values to unpack (expected \(names.count), got \(parts.count))"
                    : "too many values to unpack (expected \(names.count))", offset)
            }
            for (n, p) in zip(names, parts) { frame.vars[n] = p }
        case .attribute:
            throw fail("cannot assign to an attribute here", offset)
        }
    }

    private func assign(_ target: Target, _ v: Value, _ frame: Frame, offset: Int) throws(TemplateError) {
        if case let .attribute(obj, attr) = target {
            guard case let .namespace(ns)? = frame.lookup(obj) else {
                throw fail("cannot assign attribute on non-namespace object", offset)
            }
            ns.attributes[attr] = v
            return
        }
        try bind(target, v, frame, offset: offset)
    }

    func callMacro(_ m: Macro, _ args: CallArguments, offset: Int) throws(TemplateError) -> Value {
        let def = m.definition
        try enterCall(offset: offset)
        defer { callDepth -= 1 }
        let f = Frame(parent: m.closure)
        guard args.positional.count <= def.parameters.count else {
            throw fail("macro '\(def.name)' takes not more than \(def.parameters.count) argument(s)", offset)
        }
        for (i, p) in def.parameters.enumerated() {
            if i < args.positional.count {
                f.vars[p.name] = args.positional[i]
            } else if let v = args.named[p.name] {
                f.vars[p.name] = v
            } else if let d = p.defaultValue {
                f.vars[p.name] = try eval(d, f)
            } else {
                f.vars[p.name] = .undefined(hint: "parameter '\(p.name)' was not provided")
            }
        }
        for (k, _) in args.named.stringPairs where !def.parameters.contains(where: { $0.name == k }) {
            throw fail("macro '\(def.name)' takes no keyword argument '\(k)'", offset)
        }
        if let caller = m.caller { f.vars["caller"] = .macro(caller) }
        var out = ""
        _ = try exec(def.body, f, &out)
        return .string(out)
    }
}

/// Evaluated call arguments: positional first, then keywords in order.
struct CallArguments {
    var positional: [Value] = []
    var named = Dict()

    /// The argument at `index` or named `name`, if given.
    func get(_ index: Int, _ name: String) -> Value? {
        index < positional.count ? positional[index] : named[name]
    }
}
