import Foundation
import JSON

/// JSON Schema → GBNF, so `format`, `response_format` and `--schema` all run on the one grammar engine.
///
/// Covers the keywords llama.cpp's converter handles: `type` (or a list of types), `properties`,
/// `required`, `additionalProperties`, `items`, `prefixItems` (and draft-4 tuple `items`), `minItems` /
/// `maxItems`, `enum`, `const`, `anyOf` / `oneOf` / `allOf`, `$ref` into the same document (`$defs`,
/// `definitions`, any JSON pointer, recursion included), `pattern` (the regular-expression subset below),
/// `format` (date, time, date-time, uuid, plus email, hostname, ipv4 and uri as safe subsets),
/// `minLength` / `maxLength`, `minimum` / `maximum` / `exclusiveMinimum` / `exclusiveMaximum` (whole-number
/// bounds). Annotations (`title`, `description`, `default`, `examples`, `$schema`, `$id`, `$comment`...)
/// and unknown keywords are ignored, as validators ignore them. Validation keywords it cannot enforce
/// (`not`, `if`, `uniqueItems: true`, `patternProperties`, `multipleOf`...) throw
/// ``GrammarError/unsupportedSchema(keyword:path:reason:)`` naming the keyword: never silently looser.
///
/// Choices that make outputs a valid subset rather than the full set:
/// - Objects list their declared properties in schema order, required ones always, optional ones
///   optionally; extra keys appear only when `additionalProperties` is a schema or true and no
///   `properties` are declared (when properties are declared and `additionalProperties` is absent, no
///   extra keys are generated: still valid, and it keeps small models on task).
/// - `oneOf` is generated as `anyOf` (as llama.cpp does): a grammar cannot express "exactly one".
/// - Pattern strings never contain characters that need JSON escapes beyond `\"` `\\` and `\n`.
public enum JSONSchemaGrammar {
    /// Any JSON value with an object at the top: Ollama's `format: "json"` and OpenAI's `json_object`.
    public static let anyJSONObject: String = {
        var c = SchemaConverter(root: .object([]))
        let object = c.anyObject()
        c.rules.insert(("root", object), at: 0)
        return c.text
    }()

    /// The GBNF grammar of a schema given as JSON text.
    public static func gbnf(schema text: String) throws(GrammarError) -> String {
        try gbnf(schema: try parse(text))
    }

    /// Parses a schema's JSON text, keeping its property order (which decides the output's) and its
    /// numbers as written (a `const` or `enum` number is generated exactly as the schema spells it).
    public static func parse(_ text: String) throws(GrammarError) -> JSONValue {
        do throws(JSONError) { return try JSONParser.parse(text) } catch { throw GrammarError(error) }
    }

    /// The GBNF grammar of a parsed schema.
    public static func gbnf(schema: JSONValue) throws(GrammarError) -> String {
        var c = SchemaConverter(root: schema)
        let body = try c.visit(schema, name: "root", path: "")
        c.rules.insert(("root", body), at: 0)
        return c.text
    }

    /// The grammar of text that is one of `alternatives` (a literal `lead`, then JSON matching its
    /// `schema`), then the literal `trailer`: the rest of a forced tool call, such as
    /// `get_weather", "arguments": {...}}</tool_call>`, one alternative per tool. Each schema's `$ref`s
    /// resolve inside that schema.
    public static func gbnf(alternatives: [(lead: String, schema: JSONValue)], trailer: String) throws(GrammarError) -> String {
        precondition(!alternatives.isEmpty, "a choice of nothing")
        var c = SchemaConverter(root: .object([]))
        var options: [String] = []
        for (i, alternative) in alternatives.enumerated() {
            c.startDocument(alternative.schema)
            let body = try c.visit(alternative.schema, name: "alternative-\(i)", path: "")
            options.append(alternative.lead.isEmpty ? "(\(body))" : "\(SchemaConverter.literal(alternative.lead)) (\(body))")
        }
        let tail = trailer.isEmpty ? "" : " " + SchemaConverter.literal(trailer)
        c.rules.insert(("root", "(" + options.joined(separator: " | ") + ")" + tail), at: 0)
        return c.text
    }
}

struct SchemaConverter {
    /// The document `$ref`s resolve in.
    private(set) var root: JSONValue
    var rules: [(String, String)] = []
    private var used: Set<String> = ["root"]
    private var refRules: [String: String] = [:]

    init(root: JSONValue) { self.root = root }

    /// Makes `document` the one `$ref`s resolve in (rules already made stay; their names stay taken).
    mutating func startDocument(_ document: JSONValue) {
        root = document
        refRules = [:]
    }

    var text: String { rules.map { "\($0.0) ::= \($0.1)" }.joined(separator: "\n") + "\n" }

    // MARK: rules

    /// Adds a rule (unique name from `name`) and returns its name.
    mutating func rule(_ name: String, _ body: String) -> String {
        var base = String(name.map { $0.isLetter || $0.isNumber ? $0 : "-" }.prefix(40))
        if base.isEmpty || !base.allSatisfy(\.isASCII) { base = "r" }
        var n = base, k = 1
        while used.contains(n) { k += 1; n = "\(base)-\(k)" }
        used.insert(n)
        rules.append((n, body))
        return n
    }

    /// A primitive shared by name (added once).
    mutating func primitive(_ name: String) -> String {
        if rules.contains(where: { $0.0 == name }) { return name }
        let bodies: [String: String] = [
            "space": #"| " " | "\n" [ ]{0,12}"#,
            "char": #"[^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})"#,
            "string": #""\"" char* "\"" space"#,
            "integral-part": #"[0] | [1-9] [0-9]{0,15}"#,
            "number": #"("-"? integral-part) ("." [0-9]{1,15})? ([eE] [-+]? [0-9]{1,15})? space"#,
            "integer": #"("-"? integral-part) space"#,
            "boolean": #"("true" | "false") space"#,
            "null": #""null" space"#,
            "value": #"object | array | string | number | boolean | null"#,
            "object": #""{" space ( string ":" space value ("," space string ":" space value)* )? "}" space"#,
            "array": #""[" space ( value ("," space value)* )? "]" space"#,
            "frac": #""." [0-9]{1,15}"#,
            "frac-nonzero": #""." [0-9]{0,7} [1-9] [0-9]{0,7}"#,
        ]
        let deps: [String: [String]] = [
            "string": ["char", "space"], "number": ["integral-part", "space"], "integer": ["integral-part", "space"],
            "boolean": ["space"], "null": ["space"], "value": ["object", "array", "string", "number", "boolean", "null"],
            "object": ["space", "string", "value"], "array": ["space", "value"],
        ]
        used.insert(name)
        rules.append((name, bodies[name]!))
        for d in deps[name] ?? [] { _ = primitive(d) }
        return name
    }

    mutating func anyObject() -> String { primitive("object") }

    static func literal(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F { out += String(format: "\\x%02X", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    // MARK: schemas

    static let annotations: Set<String> = [
        "title", "description", "default", "examples", "$schema", "$id", "id", "$comment", "readOnly", "writeOnly",
        "deprecated", "$defs", "definitions", "$anchor", "contentMediaType", "contentEncoding", "example", "nullable",
    ]
    static let unsupported: [String: String] = [
        "not": "negation cannot be generated by a grammar",
        "if": "conditional schemas are not supported", "then": "conditional schemas are not supported",
        "else": "conditional schemas are not supported",
        "patternProperties": "keys matched by patterns are not supported; list the properties",
        "propertyNames": "constraints on key names are not supported",
        "minProperties": "counting properties is not supported; use required",
        "maxProperties": "counting properties is not supported",
        "dependencies": "property dependencies are not supported", "dependentRequired": "property dependencies are not supported",
        "dependentSchemas": "property dependencies are not supported",
        "contains": "'contains' is not supported", "minContains": "'contains' is not supported", "maxContains": "'contains' is not supported",
        "multipleOf": "'multipleOf' is not supported",
        "unevaluatedProperties": "'unevaluatedProperties' is not supported", "unevaluatedItems": "'unevaluatedItems' is not supported",
        "$dynamicRef": "dynamic references are not supported", "$recursiveRef": "dynamic references are not supported",
    ]

    func fail(_ keyword: String, _ path: String, _ reason: String) -> GrammarError {
        .unsupportedSchema(keyword: keyword, path: path, reason: reason)
    }

    /// A GBNF expression for `schema` (a rule name, or an inline expression for simple cases).
    mutating func visit(_ schema: JSONValue, name: String, path: String) throws(GrammarError) -> String {
        switch schema {
        case .bool(true): return primitive("value")
        case .bool(false): throw .invalidSchema(path: path, reason: "the schema 'false' matches nothing")
        case .object: break
        default: throw .invalidSchema(path: path, reason: "a schema must be an object or a boolean")
        }
        guard case let .object(pairs) = schema else { fatalError("checked above") }
        for (k, v) in pairs {
            if let why = Self.unsupported[k] { throw fail(k, path, why) }
            if k == "uniqueItems", v != .bool(false) { throw fail(k, path, "unique array items cannot be enforced by a grammar") }
            if k == "additionalItems", schema["prefixItems"] == nil, schema["items"].map({ if case .array = $0 { return false } else { return true } }) ?? true {
                continue
            }
        }
        if let ref = schema["$ref"] {
            guard case let .string(r) = ref else { throw .invalidSchema(path: path, reason: "'$ref' must be a string") }
            let siblings = pairs.filter { !Self.annotations.contains($0.0) && $0.0 != "$ref" }
            let target = try refRule(r, path: path)
            if siblings.isEmpty { return target }
            // $ref beside other keywords (draft 2019+): both apply.
            let resolved = try resolve(r, path: path)
            return try visit(try merge([resolved, .object(siblings)], path: path), name: name, path: path)
        }
        if let c = schema["const"] { return "\(Self.literal(c.serialized)) \(primitive("space"))" }
        if let e = schema["enum"] {
            guard case let .array(values) = e, !values.isEmpty else { throw .invalidSchema(path: path + "/enum", reason: "'enum' must be a non-empty array") }
            return "(" + values.map { Self.literal($0.serialized) }.joined(separator: " | ") + ") \(primitive("space"))"
        }
        let siblings = pairs.filter { !["anyOf", "oneOf", "allOf"].contains($0.0) && !Self.annotations.contains($0.0) }
        if let all = schema["allOf"] {
            guard case let .array(parts) = all else { throw .invalidSchema(path: path + "/allOf", reason: "'allOf' must be an array") }
            var resolved: [JSONValue] = []
            for (i, p) in parts.enumerated() {
                if case let .string(r)? = p["$ref"] { resolved.append(try resolve(r, path: "\(path)/allOf/\(i)")) } else { resolved.append(p) }
            }
            var rest = pairs.filter { $0.0 != "allOf" }
            if rest.contains(where: { $0.0 == "anyOf" || $0.0 == "oneOf" }) == false { rest = siblings }
            return try visit(try merge(resolved + [.object(rest)], path: path), name: name, path: path)
        }
        for key in ["anyOf", "oneOf"] {
            guard let any = schema[key] else { continue }
            guard case let .array(options) = any, !options.isEmpty else { throw .invalidSchema(path: "\(path)/\(key)", reason: "'\(key)' must be a non-empty array") }
            var alts: [String] = []
            for (i, o) in options.enumerated() {
                let option = siblings.isEmpty ? o : try merge([.object(siblings), o], path: "\(path)/\(key)/\(i)")
                alts.append(try visit(option, name: "\(name)-\(i)", path: "\(path)/\(key)/\(i)"))
            }
            return rule(name, alts.joined(separator: " | "))
        }
        if case let .array(types)? = schema["type"] {
            var alts: [String] = []
            for t in types {
                let single = JSONValue.object(pairs.map { $0.0 == "type" ? ("type", t) : $0 })
                guard case let .string(tn) = t else { throw .invalidSchema(path: path + "/type", reason: "types must be strings") }
                alts.append(try visit(single, name: "\(name)-\(tn)", path: path))
            }
            return rule(name, alts.joined(separator: " | "))
        }
        var type: String?
        if let t = schema["type"] {
            guard case let .string(s) = t else { throw .invalidSchema(path: path + "/type", reason: "'type' must be a string or an array of strings") }
            type = s
        } else if schema["properties"] != nil || schema["additionalProperties"] != nil || schema["required"] != nil {
            type = "object"
        } else if schema["items"] != nil || schema["prefixItems"] != nil || schema["minItems"] != nil || schema["maxItems"] != nil {
            type = "array"
        } else if schema["pattern"] != nil || schema["format"] != nil || schema["minLength"] != nil || schema["maxLength"] != nil {
            type = "string"
        } else if schema["minimum"] != nil || schema["maximum"] != nil || schema["exclusiveMinimum"] != nil || schema["exclusiveMaximum"] != nil {
            type = "number"
        }
        switch type {
        case nil: return primitive("value")
        case "object": return try object(schema, name: name, path: path)
        case "array": return try array(schema, name: name, path: path)
        case "string": return try string(schema, name: name, path: path)
        case "number", "integer": return try number(schema, integer: type == "integer", name: name, path: path)
        case "boolean": return primitive("boolean")
        case "null": return primitive("null")
        default: throw .invalidSchema(path: path + "/type", reason: "unknown type '\(type!)'")
        }
    }

    // MARK: $ref and allOf

    mutating func refRule(_ ref: String, path: String) throws(GrammarError) -> String {
        if let r = refRules[ref] { return r }
        let target = try resolve(ref, path: path)
        // Reserve the name first so recursive schemas refer to it.
        let name = rule("ref-" + (ref.split(separator: "/").last.map(String.init) ?? "root"), "")
        refRules[ref] = name
        let body = try visit(target, name: name + "-def", path: String(ref.dropFirst()))
        let index = rules.firstIndex { $0.0 == name }!
        rules[index].1 = body
        return name
    }

    func resolve(_ ref: String, path: String) throws(GrammarError) -> JSONValue {
        guard ref.hasPrefix("#") else { throw fail("$ref", path, "only references inside the schema ('#/...') are supported, not '\(ref)'") }
        var node = root
        for raw in ref.dropFirst().split(separator: "/", omittingEmptySubsequences: true) {
            let key = String(raw).replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
                .removingPercentEncoding ?? String(raw)
            switch node {
            case .object: guard let n = node[key] else { throw .invalidSchema(path: path, reason: "'$ref' \(ref) points nowhere") }; node = n
            case let .array(items): guard let i = Int(key), items.indices.contains(i) else { throw .invalidSchema(path: path, reason: "'$ref' \(ref) points nowhere") }; node = items[i]
            default: throw .invalidSchema(path: path, reason: "'$ref' \(ref) points nowhere")
            }
        }
        return node
    }

    /// Combines schemas that must all hold: properties and required lists join; other keywords must agree.
    func merge(_ parts: [JSONValue], path: String) throws(GrammarError) -> JSONValue {
        var out: [(String, JSONValue)] = []
        func set(_ k: String, _ v: JSONValue) { if let i = out.firstIndex(where: { $0.0 == k }) { out[i].1 = v } else { out.append((k, v)) } }
        for part in parts {
            var p = part
            if case let .string(r)? = part["$ref"] { p = try merge([try resolve(r, path: path), .object(part.objectPairs.filter { $0.0 != "$ref" })], path: path) }
            if case .bool(true) = p { continue }
            guard case let .object(pairs) = p else { throw .invalidSchema(path: path + "/allOf", reason: "each part must be a schema object") }
            for (k, v) in pairs {
                let existing = out.first { $0.0 == k }?.1
                switch (k, existing, v) {
                case ("properties", .object(let a)?, .object(let b)):
                    set(k, .object(a + b.filter { kv in !a.contains { $0.0 == kv.0 } }))
                case ("required", .array(let a)?, .array(let b)):
                    set(k, .array(a + b.filter { !a.contains($0) }))
                case (_, nil, _):
                    set(k, v)
                case (_, let e?, _) where e == v || Self.annotations.contains(k):
                    break
                default:
                    if ["minimum", "minLength", "minItems", "exclusiveMinimum"].contains(k), case let .number(a)? = existing, case let .number(b) = v {
                        set(k, a.doubleValue >= b.doubleValue ? existing! : v)
                    } else if ["maximum", "maxLength", "maxItems", "exclusiveMaximum"].contains(k), case let .number(a)? = existing, case let .number(b) = v {
                        set(k, a.doubleValue <= b.doubleValue ? existing! : v)
                    } else {
                        throw fail("allOf", path, "the parts disagree on '\(k)'")
                    }
                }
            }
        }
        return .object(out)
    }

    // MARK: objects and arrays

    mutating func object(_ schema: JSONValue, name: String, path: String) throws(GrammarError) -> String {
        let space = primitive("space")
        var properties: [(String, JSONValue)] = []
        if let p = schema["properties"] {
            guard case let .object(pairs) = p else { throw .invalidSchema(path: path + "/properties", reason: "'properties' must be an object") }
            properties = pairs
        }
        var required: [String] = []
        if let r = schema["required"] {
            guard case let .array(items) = r else { throw .invalidSchema(path: path + "/required", reason: "'required' must be an array") }
            for item in items {
                guard case let .string(s) = item else { throw .invalidSchema(path: path + "/required", reason: "'required' must list strings") }
                required.append(s)
            }
        }
        for r in required where !properties.contains(where: { $0.0 == r }) { properties.append((r, .bool(true))) }
        let additional = schema["additionalProperties"]
        var kvs: [(key: String, rule: String, required: Bool)] = []
        for (i, (key, sub)) in properties.enumerated() {
            let value = try visit(sub, name: "\(name)-\(key)", path: "\(path)/properties/\(key)")
            let kv = rule("\(name)-\(key)-kv", "\(Self.literal(JSONValue.quote(key))) \(space) \":\" \(space) \(value)")
            kvs.append((key, kv, required.contains(key)))
            _ = i
        }
        // Extra keys: only when asked for and nothing is declared (see the type's documentation).
        var extra: String?
        if properties.isEmpty {
            switch additional {
            case nil, .bool(true)?: extra = "\(primitive("string")) \":\" \(space) \(primitive("value"))"
            case .bool(false)?: extra = nil
            case let a?: extra = "\(primitive("string")) \":\" \(space) \(try visit(a, name: "\(name)-additional", path: path + "/additionalProperties"))"
            }
        }
        if let extra {
            let kv = rule("\(name)-extra-kv", extra)
            return rule(name, "\"{\" \(space) (\(kv) (\",\" \(space) \(kv))*)? \"}\" \(space)")
        }
        // Required keys in order; optional ones may appear in order between and after them. For simplicity
        // (and like llama.cpp) optional keys come after all required ones.
        let req = kvs.filter(\.required).map(\.rule)
        let opt = kvs.filter { !$0.required }.map(\.rule)
        var body = "\"{\" \(space) "
        body += req.enumerated().map { $0.offset == 0 ? $0.element : "\",\" \(space) \($0.element)" }.joined(separator: " ")
        if !opt.isEmpty {
            // rest(i): optional keys i..., each optionally, comma-separated.
            var restNames: [String] = Array(repeating: "", count: opt.count)
            for i in (0..<opt.count).reversed() {
                let tail = i + 1 < opt.count ? " (\",\" \(space) \(restNames[i + 1]))?" : ""
                var alts = ["\(opt[i])\(tail)"]
                if i + 1 < opt.count { alts.append(restNames[i + 1]) }
                restNames[i] = rule("\(name)-opt\(i)", alts.joined(separator: " | "))
            }
            body += req.isEmpty ? " (\(restNames[0]))?" : " (\",\" \(space) \(restNames[0]))?"
        }
        body += " \"}\" \(space)"
        return rule(name, body)
    }

    mutating func array(_ schema: JSONValue, name: String, path: String) throws(GrammarError) -> String {
        let space = primitive("space")
        let minItems = try count(schema, "minItems", path) ?? 0
        let maxItems = try count(schema, "maxItems", path)
        var prefix: [JSONValue] = []
        var items: JSONValue? = schema["items"]
        if case let .array(p)? = schema["prefixItems"] { prefix = p }
        if case let .array(p)? = items { prefix = p; items = schema["additionalItems"] }
        var parts: [String] = []
        for (i, p) in prefix.enumerated() { parts.append(try visit(p, name: "\(name)-\(i)", path: "\(path)/prefixItems/\(i)")) }
        if !prefix.isEmpty {
            // A tuple: the listed items, then more only if `items` allows them.
            if case .bool(true)? = items {} else if items != nil, items != .bool(false) {
                throw fail("items", path, "items after prefixItems are not supported")
            }
            guard minItems <= prefix.count else { throw fail("minItems", path, "more items than the tuple lists") }
            let body = "\"[\" \(space) " + parts.enumerated().map { $0.offset == 0 ? $0.element : "\",\" \(space) \($0.element)" }.joined(separator: " ") + " \"]\" \(space)"
            return rule(name, body)
        }
        let item = try items.map { j throws(GrammarError) in try visit(j, name: "\(name)-item", path: path + "/items") } ?? primitive("value")
        if let maxItems, maxItems < minItems { throw .invalidSchema(path: path, reason: "maxItems is below minItems") }
        let body: String
        if maxItems == 0 {
            body = "\"[\" \(space) \"]\" \(space)"
        } else {
            let more = "(\",\" \(space) \(item))"
            let lo = max(minItems - 1, 0)
            let rep = maxItems.map { "\(more){\(lo),\($0 - 1)}" } ?? "\(more){\(lo),}"
            let list = "\(item) \(rep)"
            body = "\"[\" \(space) " + (minItems > 0 ? list : "(\(list))?") + " \"]\" \(space)"
        }
        return rule(name, body)
    }

    func count(_ schema: JSONValue, _ key: String, _ path: String) throws(GrammarError) -> Int? {
        guard let v = schema[key] else { return nil }
        guard case let .number(n) = v, case let d = n.doubleValue, d >= 0, d == d.rounded(), d < 1e6 else {
            throw .invalidSchema(path: "\(path)/\(key)", reason: "'\(key)' must be a non-negative integer")
        }
        return Int(d)
    }

    // MARK: strings

    mutating func string(_ schema: JSONValue, name: String, path: String) throws(GrammarError) -> String {
        let space = primitive("space")
        let minLength = try count(schema, "minLength", path)
        let maxLength = try count(schema, "maxLength", path)
        if let p = schema["pattern"] {
            guard case let .string(pattern) = p else { throw .invalidSchema(path: path + "/pattern", reason: "'pattern' must be a string") }
            if minLength != nil || maxLength != nil { throw fail("pattern", path, "'pattern' together with minLength/maxLength is not supported") }
            var regex = RegexTranslator(pattern, path: path + "/pattern")
            let inner = try regex.translate()
            let body = rule(name + "-pattern", inner)
            return rule(name, "\"\\\"\" \(body) \"\\\"\" \(space)")
        }
        if let f = schema["format"] {
            guard case let .string(format) = f else { throw .invalidSchema(path: path + "/format", reason: "'format' must be a string") }
            guard let inner = try formatRule(format, path: path) else { return primitive("string") }
            return rule(name, "\"\\\"\" \(inner) \"\\\"\" \(space)")
        }
        if minLength == nil, maxLength == nil { return primitive("string") }
        let char = primitive("char")
        let lo = minLength ?? 0
        if let maxLength, maxLength < lo { throw .invalidSchema(path: path, reason: "maxLength is below minLength") }
        let rep = maxLength.map { "{\(lo),\($0)}" } ?? "{\(lo),}"
        return rule(name, "\"\\\"\" \(char)\(rep) \"\\\"\" \(space)")
    }

    mutating func formatRule(_ format: String, path: String) throws(GrammarError) -> String? {
        let defs: [String: String] = [
            "date": #"[0-9]{4} "-" ( ("0" [13578] | "1" [02]) "-" ("0" [1-9] | [12] [0-9] | "3" [01]) | ("0" [469] | "11") "-" ("0" [1-9] | [12] [0-9] | "30") | "02-" ("0" [1-9] | "1" [0-9] | "2" [0-8]) )"#,
            "time": #"([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,6})? ("Z" | [+-] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9])"#,
            "uuid": #"[0-9a-f]{8} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{12}"#,
            "email": #"[a-z0-9] [a-z0-9._+-]{0,30} "@" [a-z0-9] [a-z0-9-]{0,20} ("." [a-z]{2,8}){1,2}"#,
            "hostname": #"[a-z0-9] [a-z0-9-]{0,20} ("." [a-z0-9] [a-z0-9-]{0,20}){0,3}"#,
            "ipv4": #"ipv4-octet "." ipv4-octet "." ipv4-octet "." ipv4-octet"#,
            "uri": #"("https" | "http") "://" [a-z0-9] [a-z0-9-]{0,20} ("." [a-z0-9-]{1,20}){1,3} ("/" [a-zA-Z0-9._~-]{0,20}){0,5}"#,
        ]
        switch format {
        case "date-time":
            let date = rule("date", defs["date"]!)
            let time = rule("time", defs["time"]!)
            return "\(date) \"T\" \(time)"
        case "ipv4":
            if !rules.contains(where: { $0.0 == "ipv4-octet" }) {
                used.insert("ipv4-octet")
                rules.append(("ipv4-octet", #""25" [0-5] | "2" [0-4] [0-9] | "1" [0-9] [0-9] | [1-9] [0-9] | [0-9]"#))
            }
            return rule(format, defs[format]!)
        default:
            guard let d = defs[format] else {
                throw fail("format", path, "format '\(format)' is not supported (supported: date, time, date-time, uuid, email, hostname, ipv4, uri)")
            }
            return rule(format, d)
        }
    }

    // MARK: numbers

    mutating func number(_ schema: JSONValue, integer: Bool, name: String, path: String) throws(GrammarError) -> String {
        let space = primitive("space")
        func bound(_ key: String) throws(GrammarError) -> Int? {
            guard let v = schema[key] else { return nil }
            guard case let .number(n) = v else {
                if case .bool = v { return nil } // draft-4 boolean exclusive flags, read below
                throw .invalidSchema(path: "\(path)/\(key)", reason: "'\(key)' must be a number")
            }
            let d = n.doubleValue
            guard d == d.rounded(), abs(d) < 1e15 else { throw fail(key, path, "only whole-number bounds are supported, not \(d)") }
            return Int(d)
        }
        var lo: (Int, Bool)? = try bound("minimum").map { ($0, false) }
        var hi: (Int, Bool)? = try bound("maximum").map { ($0, false) }
        if let e = try bound("exclusiveMinimum") { lo = lo.map { $0.0 > e ? $0 : (e, true) } ?? (e, true) }
        if let e = try bound("exclusiveMaximum") { hi = hi.map { $0.0 < e ? $0 : (e, true) } ?? (e, true) }
        if case .bool(true)? = schema["exclusiveMinimum"], let l = lo { lo = (l.0, true) }
        if case .bool(true)? = schema["exclusiveMaximum"], let h = hi { hi = (h.0, true) }
        if lo == nil, hi == nil { return primitive(integer ? "integer" : "number") }
        if integer {
            // Whole numbers: exclusive bounds are inclusive ones moved by one.
            let a = lo.map { $0.1 ? $0.0 + 1 : $0.0 }, b = hi.map { $0.1 ? $0.0 - 1 : $0.0 }
            if let a, let b, a > b { throw .invalidSchema(path: path, reason: "no integer lies between the bounds") }
            var alts: [String] = []
            if b == nil || b! >= 0 { alts += IntegerRange.nonNegative(max(a ?? 0, 0), b) }
            if a == nil || a! < 0 { alts += IntegerRange.nonNegative(max(1, -(b ?? -1)), a.map { -$0 }).map { "\"-\" \($0)" } }
            return rule(name, "(" + alts.joined(separator: " | ") + ") \(space)")
        }
        let frac = primitive("frac"), nonzero = primitive("frac-nonzero")
        var alts: [String] = []
        // v >= 0: magnitude between max(lo, 0) and hi.
        if hi == nil || hi!.0 > 0 || (hi!.0 == 0 && !hi!.1) {
            let low: (Int, Bool) = (lo.map { $0.0 >= 0 } ?? false) ? lo! : (0, false)
            alts += IntegerRange.magnitude(low: low, high: hi, frac: frac, nonzero: nonzero)
        }
        // v < 0: magnitude above max(-hi, 0) (strictly above 0) and up to -lo.
        if lo == nil || lo!.0 < 0 {
            let low: (Int, Bool) = (hi.map { $0.0 < 0 } ?? false) ? (-hi!.0, hi!.1) : (0, true)
            let high: (Int, Bool)? = lo.map { (-$0.0, $0.1) }
            alts += IntegerRange.magnitude(low: low, high: high, frac: frac, nonzero: nonzero).map { "\"-\" (\($0))" }
        }
        if alts.isEmpty { throw .invalidSchema(path: path, reason: "no number lies between the bounds") }
        return rule(name, "(" + alts.joined(separator: " | ") + ") \(space)")
    }
}

/// GBNF for ranges of whole numbers written without leading zeros (the classic digit-by-digit split).
enum IntegerRange {
    /// Alternatives matching every integer in `a...b` (`b == nil`: unbounded), `a >= 0`.
    static func nonNegative(_ a: Int, _ b: Int?) -> [String] {
        if let b, a > b { return [] }
        let la = String(a).count
        var alts: [String] = []
        let lastLength = b.map { String($0).count } ?? la
        for n in la...lastLength {
            let lo = max(a, n == 1 ? 0 : pow10(n - 1))
            let hi = min(b ?? Int.max, pow10(n) - 1)
            if lo <= hi { alts += sameLength(Array(String(lo)), Array(String(hi))) }
        }
        if b == nil { alts.append("[1-9] [0-9]{\(lastLength),15}") }
        return alts
    }

    static func pow10(_ n: Int) -> Int { (0..<n).reduce(1) { r, _ in r * 10 } }

    static func sameLength(_ x: [Character], _ y: [Character]) -> [String] {
        if x.isEmpty { return [""] }
        if x == y { return ["\"\(String(x))\""] }
        let rest = x.count - 1
        let digits = rest > 0 ? " [0-9]{\(rest)}" : ""
        if x[0] == y[0] { return sameLength(Array(x.dropFirst()), Array(y.dropFirst())).map { "\"\(x[0])\" \($0)" } }
        if x.dropFirst().allSatisfy({ $0 == "0" }), y.dropFirst().allSatisfy({ $0 == "9" }) { return ["[\(x[0])-\(y[0])]\(digits)"] }
        var alts = sameLength(Array(x.dropFirst()), Array(repeating: "9", count: rest)).map { "\"\(x[0])\" \($0)" }
        let x1 = x[0].wholeNumberValue! + 1, y1 = y[0].wholeNumberValue! - 1
        if x1 <= y1 { alts.append("[\(x1)-\(y1)]\(digits)") }
        alts += sameLength(Array(repeating: "0", count: rest), Array(y.dropFirst())).map { "\"\(y[0])\" \($0)" }
        return alts
    }

    /// Non-negative decimals m (integer part, optional fraction) with low ≤ m ≤ high (flags: exclusive).
    static func magnitude(low: (Int, Bool), high: (Int, Bool)?, frac: String, nonzero: String) -> [String] {
        var alts: [String] = []
        let a = low.1 ? low.0 + 1 : low.0
        let anyTop = high.map { $0.0 - 1 }
        if anyTop == nil || a <= anyTop! {
            alts += nonNegative(a, anyTop).map { "\($0) \(frac)?" }
        }
        if low.1, high == nil || low.0 < high!.0 { alts.append("\"\(low.0)\" \(nonzero)") }
        if let high, !high.1, high.0 > low.0 || (high.0 == low.0 && !low.1) { alts.append("\"\(high.0)\"") }
        return alts
    }
}
