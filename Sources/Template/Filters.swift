// jinja2's built-in filters, with transformers' `tojson` (json.dumps with ensure_ascii=False).

enum Builtins {
    /// Every filter jinja2 defines; those SwiftLM lacks fail when used, naming themselves.
    static let filters: Set<String> = [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
        "filesizeformat", "first", "float", "forceescape", "format", "groupby", "indent", "int", "items", "join", "last",
        "length", "list", "lower", "map", "max", "min", "pprint", "random", "reject", "rejectattr", "replace", "reverse",
        "round", "safe", "select", "selectattr", "slice", "sort", "string", "striptags", "sum", "title", "tojson",
        "trim", "truncate", "unique", "upper", "urlencode", "urlize", "wordcount", "wordwrap", "xmlattr",
    ]
    static let tests: Set<String> = [
        "!=", "<", "<=", "==", ">", ">=", "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "escaped",
        "even", "false", "filter", "float", "ge", "greaterthan", "gt", "in", "integer", "iterable", "le", "lessthan",
        "lower", "lt", "mapping", "ne", "none", "number", "odd", "sameas", "sequence", "string", "test", "true",
        "undefined", "upper",
    ]
}

extension Interpreter {
    func applyFilter(_ name: String, _ value: Value, _ argExprs: [Argument], _ frame: Frame, offset: Int) throws(TemplateError) -> Value {
        let args = try evalArguments(argExprs, frame)
        return try filter(name, value, args, offset: offset)
    }

    func filter(_ name: String, _ v: Value, _ args: CallArguments, offset: Int) throws(TemplateError) -> Value {
        func items() throws(TemplateError) -> [Value] {
            guard let s = v.iterated else { throw fail("'\(v.typeName)' object is not iterable", offset) }
            return s
        }
        func flag(_ i: Int, _ n: String) -> Bool { args.get(i, n)?.truthy ?? false }
        switch name {
        case "length", "count":
            switch v {
            case .undefined: return .int(0)
            case let .string(s): return .int(s.unicodeScalars.count)
            case let .array(a), let .tuple(a), let .view(_, a): return .int(a.count)
            case let .dict(d): return .int(d.count)
            case let .namespace(n): return .int(n.attributes.count)
            default: throw fail("object of type '\(v.typeName)' has no len()", offset)
            }
        case "first":
            return try items().first ?? .undefined(hint: "No first item, sequence was empty.")
        case "last":
            if case .iterator = v { throw fail("'generator' object is not reversible", offset) }
            return try items().last ?? .undefined(hint: "No last item, sequence was empty.")
        case "join":
            var seq = try items()
            if let attr = args.get(1, "attribute") { seq = try seq.map { (x) throws(TemplateError) in try attribute(x, attr, offset: offset) } }
            return .string(seq.map(\.pyStr).joined(separator: args.get(0, "d")?.pyStr ?? ""))
        case "default", "d":
            let fallback = args.get(0, "default_value") ?? .string("")
            if v.isUndefined || (flag(1, "boolean") && !v.truthy) { return fallback }
            return v
        case "trim":
            let chars = args.get(0, "chars").flatMap { $0.isNone ? nil : $0.pyStr }
            return .string(PyString.strip(v.pyStr, chars, leading: true, trailing: true))
        case "upper": return .string(v.pyStr.uppercased())
        case "lower": return .string(v.pyStr.lowercased())
        case "capitalize": return .string(PyString.capitalize(v.pyStr))
        case "title": return .string(jinjaTitle(v.pyStr))
        case "replace":
            guard let old = args.get(0, "old"), let new = args.get(1, "new") else { throw fail("replace needs two arguments", offset) }
            let count = args.get(2, "count").flatMap { intValue($0) } ?? -1
            return .string(PyString.replace(v.pyStr, old.pyStr, new.pyStr, count))
        case "tojson": return try toJSON(v, args, offset: offset)
        case "string": return .string(v.pyStr)
        case "int": return toInt(v, args)
        case "float": return toFloat(v, args)
        case "list": return .array(try items())
        case "abs":
            switch v {
            case let .int(i): return i == .min ? .double(-Double(i)) : .int(abs(i))
            case let .bool(b): return .int(b ? 1 : 0)
            case let .double(d): return .double(abs(d))
            default: throw operandError("bad operand type for abs(): '\(v.typeName)'", v, offset)
            }
        case "round": return try round(v, args, offset: offset)
        case "map", "select", "reject", "selectattr", "rejectattr":
            // jinja2 maps and selects lazily, and only `if value`: falsy input gives an empty generator.
            return .iterator(v.truthy ? try mapSelect(name, try items(), args, offset: offset) : [])
        case "items":
            switch v {
            case .undefined: return .iterator([])
            case let .dict(d): return .iterator(d.pairs.map { .tuple([$0.0, $0.1]) })
            default: throw fail("Can only get item pairs from a mapping.", offset)
            }
        case "dictsort":
            guard case let .dict(d) = v else { throw fail("dictsort filter needs a mapping", offset) }
            let caseSensitive = flag(0, "case_sensitive")
            let byValue = args.get(1, "by")?.pyStr == "value"
            let reverse = flag(2, "reverse")
            var pairs = d.pairs.map { Value.tuple([$0.0, $0.1]) }
            try sortValues(&pairs, caseSensitive: caseSensitive, reverse: reverse, offset: offset) { (x) in
                if case let .tuple(t) = x { return t[byValue ? 1 : 0] }
                return x
            }
            return .array(pairs)
        case "unique":
            let caseSensitive = flag(0, "case_sensitive")
            let attr = args.get(1, "attribute")
            var seen: [Value] = []
            var out: [Value] = []
            for x in try items() {
                var key = attr.map { try? attribute(x, $0, offset: offset) } ?? x
                if !caseSensitive, case let .string(s)? = key { key = .string(s.lowercased()) }
                let k = key ?? .none
                if !seen.contains(where: { pyEquals($0, k) }) { seen.append(k); out.append(x) }
            }
            return .iterator(out)
        case "reverse":
            if case let .string(s) = v { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .iterator(try items().reversed())
        case "sort":
            var seq = try items()
            let attr = args.get(2, "attribute")
            try sortValues(&seq, caseSensitive: flag(1, "case_sensitive"), reverse: flag(0, "reverse"), offset: offset) { (x) in
                guard let attr else { return x }
                return (try? self.attribute(x, attr, offset: offset)) ?? .undefined(hint: "missing attribute")
            }
            return .array(seq)
        case "min", "max":
            var seq = try items()
            guard !seq.isEmpty else { return .undefined(hint: "No aggregated item, sequence was empty.") }
            let attr = args.get(1, "attribute")
            try sortValues(&seq, caseSensitive: flag(0, "case_sensitive"), reverse: name == "max", offset: offset) { (x) in
                guard let attr else { return x }
                return (try? self.attribute(x, attr, offset: offset)) ?? .undefined(hint: "missing attribute")
            }
            return seq[0]
        case "sum":
            var total = args.get(1, "start") ?? .int(0)
            for x in try items() {
                let item = try args.get(0, "attribute").map { (a) throws(TemplateError) in try attribute(x, a, offset: offset) } ?? x
                total = try binary("+", total, item, offset: offset)
            }
            return total
        case "safe": return v
        case "e", "escape", "forceescape":
            return .string(htmlEscaped(v.pyStr))
        case "indent": return .string(indent(v.pyStr, args))
        case "wordcount":
            var n = 0
            var inWord = false
            for u in v.pyStr.unicodeScalars {
                let w = PyString.isWordChar(u)
                if w, !inWord { n += 1 }
                inWord = w
            }
            return .int(n)
        case "batch":
            guard let size = args.get(0, "linecount").flatMap({ intValue($0) }), size > 0 else { throw fail("batch needs a positive size", offset) }
            let fill = args.get(1, "fill_with")
            var out: [Value] = []
            var cur: [Value] = []
            for x in try items() {
                cur.append(x)
                if cur.count == size { out.append(.array(cur)); cur = [] }
            }
            if !cur.isEmpty {
                if let fill, !fill.isNone { while cur.count < size { cur.append(fill) } }
                out.append(.array(cur))
            }
            return .iterator(out)
        case "center":
            let width = args.get(0, "width").flatMap { intValue($0) } ?? 80
            return try callMethod(.string(v.pyStr), "center", CallArguments(positional: [.int(width)]), offset: offset)
        case "format":
            var a = args
            let fmt = v.pyStr
            if a.positional.count == 1 { return .string(try percentFormat(fmt, a.positional[0], offset: offset)) }
            a.named = Dict()
            return .string(try percentFormat(fmt, .tuple(a.positional), offset: offset))
        case "attr":
            guard case let .string(n)? = args.get(0, "name") else { throw fail("attr needs a name", offset) }
            // Python getattr only: a dict's keys are not attributes.
            if case .dict = v, !Methods.dict.contains(n) { return .undefined(hint: "'dict object' has no attribute '\(n)'") }
            return try getAttribute(v, n, offset: offset)
        case "groupby":
            return try groupBy(try items(), args, offset: offset)
        default:
            throw fail(Builtins.filters.contains(name) ? "the '\(name)' filter is not supported by SwiftLM" : "No filter named '\(name)'.", offset)
        }
    }

    /// jinja2's `attribute='a.b.0'` lookups, as in `map(attribute=...)` and `selectattr`.
    func attribute(_ v: Value, _ path: Value, offset: Int) throws(TemplateError) -> Value {
        var x = v
        for part in path.pyStr.split(separator: ".", omittingEmptySubsequences: false) {
            let key: Value = Int(part).map(Value.int) ?? .string(String(part))
            x = try getItem(x, key, offset: offset)
        }
        return x
    }

    private func mapSelect(_ name: String, _ seq: [Value], _ args: CallArguments, offset: Int) throws(TemplateError) -> [Value] {
        if name == "map" {
            if let attr = args.named["attribute"] {
                let fallback = args.named["default"]
                return try seq.map { (x) throws(TemplateError) in
                    let r = try attribute(x, attr, offset: offset)
                    if r.isUndefined, let fallback { return fallback }
                    return r
                }
            }
            guard case let .string(f)? = args.positional.first else { throw fail("map requires a filter name or attribute", offset) }
            let rest = CallArguments(positional: Array(args.positional.dropFirst()), named: args.named)
            return try seq.map { (x) throws(TemplateError) in try filter(f, x, rest, offset: offset) }
        }
        let byAttribute = name.hasSuffix("attr")
        let keep = name.hasPrefix("select")
        var positional = args.positional
        var attr: Value?
        if byAttribute {
            guard !positional.isEmpty else { throw fail("\(name) needs an attribute name", offset) }
            attr = positional.removeFirst()
        }
        let testName = positional.isEmpty ? nil : positional.removeFirst().pyStr
        let testArgs = CallArguments(positional: positional, named: Dict())
        var out: [Value] = []
        for x in seq {
            let subject = try attr.map { (a) throws(TemplateError) in try attribute(x, a, offset: offset) } ?? x
            let r = try testName.map { (t) throws(TemplateError) in try applyTest(t, subject, testArgs, offset: offset) } ?? subject.truthy
            if r == keep { out.append(x) }
        }
        return out
    }

    func sortValues(_ seq: inout [Value], caseSensitive: Bool, reverse: Bool, offset: Int,
                            key: (Value) throws(TemplateError) -> Value) throws(TemplateError)
    {
        var keyed: [(Value, Value)] = []
        for x in seq {
            var k = try key(x)
            if !caseSensitive, case let .string(s) = k { k = .string(s.lowercased()) }
            keyed.append((k, x))
        }
        for i in keyed.indices.dropFirst() where pyOrder(keyed[i - 1].0, keyed[i].0) == nil {
            throw fail("'<' not supported between instances of '\(keyed[i].0.typeName)' and '\(keyed[i - 1].0.typeName)'", offset)
        }
        // Python's sort is stable, also when reversed.
        let indexed = keyed.enumerated().map { ($0.offset, $0.element) }
        let sorted = indexed.sorted { a, b in
            let o = pyOrder(a.1.0, b.1.0) ?? 0
            if o == 0 { return a.0 < b.0 }
            return reverse ? o > 0 : o < 0
        }
        seq = sorted.map(\.1.1)
    }
}
