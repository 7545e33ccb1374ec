/// A JSON value whose objects keep their keys in document order.
///
/// Order matters to every user of this type: a schema's property order decides the order in which a
/// constrained model writes them, chat templates print tool definitions as the model saw them in
/// training, and the server writes responses with their keys in the order Ollama and OpenAI use.
/// Repeated keys are kept as written (``subscript(_:)`` finds the first); callers that must refuse
/// them parse with ``JSONParser/Options/rejectsDuplicateKeys``.
public indirect enum JSONValue: Sendable, Equatable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number; build one in code with ``int(_:)`` or ``double(_:)``.
    case number(JSONNumber)
    /// A string (any Unicode text; the serializer escapes what JSON requires).
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object. Keys keep their order, repeats included.
    case object([(String, JSONValue)])

    /// An integer number.
    public static func int(_ value: Int) -> JSONValue { .number(JSONNumber(value)) }

    /// A binary floating-point number (how it is written, non-finite values included, is up to the
    /// ``JSONFormat``).
    public static func double(_ value: Double) -> JSONValue { .number(JSONNumber(value)) }

    /// Numbers compare by value (`1` equals `1.0`), objects by their keys and values in order.
    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The value of the first `key` of an object; nil for other values or a missing key.
    public subscript(key: String) -> JSONValue? {
        if case let .object(pairs) = self { return pairs.first { $0.0 == key }?.1 }
        return nil
    }

    /// True for `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// True for an object.
    public var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    /// The key-value pairs of an object in order; empty for other values.
    public var objectPairs: [(String, JSONValue)] {
        if case let .object(pairs) = self { return pairs }
        return []
    }
}

/// A JSON number: an `Int` when the text is an integer that fits one, otherwise a `Double`, plus the
/// text it was parsed from.
///
/// The literal lets a caller reproduce a document's number exactly (a schema's `"const": 1.50` must
/// be generated as `1.50`, not `1.5`); values built in code have none.
public struct JSONNumber: Sendable, Equatable, CustomStringConvertible {
    /// The number's value.
    public enum Value: Sendable, Equatable {
        case int(Int)
        case double(Double)
    }

    /// The value: `.int` for integer literals (no fraction or exponent) within `Int`'s range.
    public let value: Value
    /// The text as written in the parsed document; nil for numbers built in code.
    public let literal: String?

    /// An integer.
    public init(_ value: Int) {
        self.value = .int(value)
        literal = nil
    }

    /// A floating-point number.
    public init(_ value: Double) {
        self.value = .double(value)
        literal = nil
    }

    /// A parsed number, with the text it came from.
    public init(_ value: Value, literal: String?) {
        self.value = value
        self.literal = literal
    }

    /// The value as a `Double` (integers beyond 2^53 round).
    public var doubleValue: Double {
        switch value {
        case let .int(i): return Double(i)
        case let .double(d): return d
        }
    }

    /// Equal values are equal numbers whatever their spelling: `1`, `1.0` and `1e0`.
    public static func == (a: JSONNumber, b: JSONNumber) -> Bool {
        if case let .int(x) = a.value, case let .int(y) = b.value { return x == y }
        return a.doubleValue == b.doubleValue
    }

    /// The literal when there is one, else the value as Swift prints it.
    public var description: String {
        if let literal { return literal }
        switch value {
        case let .int(i): return String(i)
        case let .double(d): return String(d)
        }
    }
}
