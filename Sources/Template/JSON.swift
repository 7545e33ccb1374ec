import JSON

// Templates read JSON contexts and write `tojson` with the shared JSON module. Writing follows
// Python's json.dumps, because transformers' `tojson` filter is json.dumps(x, ensure_ascii=False, ...).

extension TemplateValue {
    /// The template's view of a JSON value: key order kept; a repeated key keeps its first position
    /// and its last value, as a Python dict built from the pairs does.
    public init(_ json: JSONValue) {
        switch json {
        case .null: self = .null
        case let .bool(b): self = .bool(b)
        case let .number(n):
            switch n.value {
            case let .int(i): self = .int(i)
            case let .double(d): self = .double(d)
            }
        case let .string(s): self = .string(s)
        case let .array(a): self = .array(a.map(TemplateValue.init))
        case let .object(pairs): self = .object(TemplateObject(pairs.map { ($0.0, TemplateValue($0.1)) }))
        }
    }

    static func parseJSON(_ bytes: [UInt8]) throws(TemplateError) -> TemplateValue {
        do throws(JSONError) {
            // A UTF-8 byte order mark is harmless in a context file; skip it.
            return TemplateValue(try JSONParser.parse(bytes, options: .init(allowsByteOrderMark: true)))
        } catch {
            throw .invalidJSON(message: error.message, offset: error.offset)
        }
    }
}

extension JSONValue {
    /// A template value as JSON, keeping key order.
    public init(_ value: TemplateValue) {
        switch value {
        case .null: self = .null
        case let .bool(b): self = .bool(b)
        case let .int(i): self = .int(i)
        case let .double(d): self = .double(d)
        case let .string(s): self = .string(s)
        case let .array(a): self = .array(a.map(JSONValue.init))
        case let .object(o): self = .object(o.map { ($0.key, JSONValue($0.value)) })
        }
    }

    /// A rendering-time value as `json.dumps` sees it: tuples are arrays, namespaces are objects and
    /// non-string keys become text. Nil when the value holds something JSON cannot express
    /// (Undefined, a macro...). With `sortKeys`, members are sorted by their original keys (so `2`
    /// precedes `10`), as `sort_keys=True` sorts before converting them.
    init?(_ v: Value, sortKeys: Bool) {
        switch v {
        case .none: self = .null
        case let .bool(b): self = .bool(b)
        case let .int(i): self = .int(i)
        case let .double(d): self = .double(d)
        case let .string(s): self = .string(s)
        case let .array(a), let .tuple(a):
            var items: [JSONValue] = []
            for x in a {
                guard let item = JSONValue(x, sortKeys: sortKeys) else { return nil }
                items.append(item)
            }
            self = .array(items)
        case .dict, .namespace:
            var pairs: [(Value, Value)]
            if case let .dict(d) = v { pairs = d.pairs } else if case let .namespace(n) = v { pairs = n.attributes.pairs } else { pairs = [] }
            if sortKeys { pairs.sort { pyOrder($0.0, $1.0) ?? 0 < 0 } }
            var members: [(String, JSONValue)] = []
            for (k, x) in pairs {
                guard let member = JSONValue(x, sortKeys: sortKeys) else { return nil }
                members.append((Self.key(k), member))
            }
            self = .object(members)
        default: return nil
        }
    }

    /// json.dumps turns non-string keys into text: numbers as written, true / false / null.
    private static func key(_ k: Value) -> String {
        switch k {
        case let .bool(b): return b ? "true" : "false"
        case .none: return "null"
        default: return k.pyStr
        }
    }
}
