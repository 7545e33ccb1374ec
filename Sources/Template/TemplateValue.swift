import JSON

/// A template variable: the JSON-like data that `apply_chat_template` passes to a chat template.
///
/// Objects keep their key order, because templates print them (`tools | tojson`) and the order
/// must match what the model was trained on.
public indirect enum TemplateValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([TemplateValue])
    case object(TemplateObject)
}

/// An insertion-ordered string-keyed dictionary of ``TemplateValue``s.
public struct TemplateObject: Sendable, Equatable, ExpressibleByDictionaryLiteral, Sequence {
    /// The keys in insertion order.
    public private(set) var keys: [String] = []
    private var storage: [String: TemplateValue] = [:]

    public init() {}
    /// Keys keep the literal's order.
    public init(dictionaryLiteral elements: (String, TemplateValue)...) {
        for (k, v) in elements { self[k] = v }
    }
    /// Keys keep the order of `pairs`; a repeated key keeps its first position and its last value.
    public init(_ pairs: [(String, TemplateValue)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public var count: Int { keys.count }

    /// Setting an existing key keeps its position (as Python dicts do); setting nil removes it.
    public subscript(key: String) -> TemplateValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    /// Iterates `(key, value)` pairs in insertion order.
    public func makeIterator() -> AnyIterator<(key: String, value: TemplateValue)> {
        var i = 0
        return AnyIterator {
            guard i < keys.count else { return nil }
            defer { i += 1 }
            return (keys[i], storage[keys[i]]!)
        }
    }

    public static func == (a: TemplateObject, b: TemplateObject) -> Bool {
        a.keys == b.keys && a.storage == b.storage
    }
}

extension TemplateValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: TemplateValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, TemplateValue)...) {
        var o = TemplateObject()
        for (k, v) in elements { o[k] = v }
        self = .object(o)
    }
}

extension TemplateValue {
    /// Parses JSON text, keeping object key order (Foundation's JSONSerialization would lose it).
    public init(json: String) throws(TemplateError) {
        self = try Self.parseJSON(Array(json.utf8))
    }

    /// Parses UTF-8 JSON bytes, keeping object key order.
    public init(jsonData bytes: [UInt8]) throws(TemplateError) {
        self = try Self.parseJSON(bytes)
    }

    /// Compact JSON as Python's `json.dumps(x, ensure_ascii=False)` writes it.
    public var jsonString: String { JSONValue(self).serialized(.python()) }

    /// The member `key` of an object; nil for other values or a missing key.
    public subscript(key: String) -> TemplateValue? {
        if case let .object(o) = self { return o[key] }
        return nil
    }

    /// The text of a `.string`; nil for other values.
    public var stringValue: String? {
        if case let .string(s) = self { return s }
        return nil
    }
}

extension TemplateValue: Codable {
    private struct JSONKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decoding through `Codable` cannot see key order (Foundation's decoders drop it); use
    /// ``init(json:)`` where the order of object keys matters.
    public init(from decoder: any Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: JSONKey.self) {
            var o = TemplateObject()
            for k in keyed.allKeys { o[k.stringValue] = try keyed.decode(TemplateValue.self, forKey: k) }
            self = .object(o)
            return
        }
        if var list = try? decoder.unkeyedContainer() {
            var items: [TemplateValue] = []
            while !list.isAtEnd { items.append(try list.decode(TemplateValue.self)) }
            self = .array(items)
            return
        }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else { self = .string(try c.decode(String.self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var c = encoder.singleValueContainer()
            try c.encodeNil()
        case let .bool(b):
            var c = encoder.singleValueContainer()
            try c.encode(b)
        case let .int(i):
            var c = encoder.singleValueContainer()
            try c.encode(i)
        case let .double(d):
            var c = encoder.singleValueContainer()
            try c.encode(d)
        case let .string(s):
            var c = encoder.singleValueContainer()
            try c.encode(s)
        case let .array(a):
            var c = encoder.unkeyedContainer()
            for v in a { try c.encode(v) }
        case let .object(o):
            var c = encoder.container(keyedBy: JSONKey.self)
            for (k, v) in o { try c.encode(v, forKey: JSONKey(stringValue: k)) }
        }
    }
}
