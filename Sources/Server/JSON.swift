import Foundation

/// A JSON value, for request fields whose shape varies (`format`, `stop`, `keep_alive`) and for
/// responses, which are written with their keys in a fixed order (as Ollama and OpenAI write them)
/// and with explicit `null`s where the protocols want one.
package enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    /// Keys keep their order.
    case object([(String, JSONValue)])

    package static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x.map(\.0) == y.map(\.0) && x.map(\.1) == y.map(\.1)
        default: return false
        }
    }

    /// The value under `key` of an object (nil for other values or a missing key).
    subscript(key: String) -> JSONValue? {
        if case let .object(pairs) = self { return pairs.first { $0.0 == key }?.1 }
        return nil
    }

    var isNull: Bool { self == .null }

    /// Serialized compactly, on one line (NDJSON and SSE need that).
    package var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    package var serialized: String {
        var out = ""
        write(into: &out)
        return out
    }

    /// Serialized bytes, the form response bodies take.
    package var data: Data { Data(serialized.utf8) }

    private func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .int(i): out += String(i)
        case let .double(d):
            if !d.isFinite {
                out += "null"
            } else if d == d.rounded(), abs(d) < 1e15 {
                out += String(Int(d))
            } else {
                out += String(d)
            }
        case let .string(s): Self.writeString(s, into: &out)
        case let .array(items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case let .object(pairs):
            out += "{"
            for (i, (key, value)) in pairs.enumerated() {
                if i > 0 { out += "," }
                Self.writeString(key, into: &out)
                out += ":"
                value.write(into: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

extension JSONValue: Decodable {
    package init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else if let o = try? c.decode([String: JSONValue].self) {
            self = .object(o.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a JSON value")
        }
    }
}

/// Builds a JSON object literal, leaving out the pairs whose value is nil.
package func object(_ pairs: (String, JSONValue?)...) -> JSONValue {
    .object(pairs.compactMap { key, value in value.map { (key, $0) } })
}

extension JSONValue {
    static func number(_ f: Float) -> JSONValue { .double(Double(f)) }
    static func strings(_ items: [String]) -> JSONValue { .array(items.map(JSONValue.string)) }
    static func ints(_ items: [Int]) -> JSONValue { .array(items.map(JSONValue.int)) }
}

/// A string or a list of strings: Ollama's and OpenAI's `stop`, OpenAI's `prompt`, embeddings' `input`.
struct StringOrStrings: Decodable, Sendable, Equatable {
    var values: [String]

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            values = [s]
        } else {
            values = try c.decode([String].self)
        }
    }
}

/// Decodes request bodies. The messages name the field at fault, the way a user fixes a request.
package enum RequestDecoding {
    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws(ServerError) -> T {
        if data.isEmpty || data.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }) {
            throw .badRequest("missing request body")
        }
        do {
            let value = try JSONDecoder().decode(T.self, from: data)
            // Decoders disagree on repeated keys (Go and Python keep the last, Foundation the first), so a
            // proxy that checked the body could see another request than the one run: refuse them.
            if let key = firstDuplicateKey(Array(data)) { throw ServerError.badRequest("duplicate field '\(key)'") }
            return value
        } catch let error as ServerError {
            throw error
        } catch let error as DecodingError {
            throw .badRequest(describe(error))
        } catch {
            throw .badRequest("invalid JSON: \(error.localizedDescription)")
        }
    }

    /// The first key that appears twice in one object of `bytes`, which must be valid JSON.
    package static func firstDuplicateKey(_ bytes: [UInt8]) -> String? {
        // One entry per open container: the keys seen so far for objects, nil for arrays.
        var stack: [Set<[UInt8]>?] = []
        var expectKey = false
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "{"):
                stack.append(Set())
                expectKey = true
            case UInt8(ascii: "["):
                stack.append(nil)
                expectKey = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = stack.popLast()
                expectKey = false
            case UInt8(ascii: ","):
                if let top = stack.last { expectKey = top != nil }
            case UInt8(ascii: ":"):
                expectKey = false
            case UInt8(ascii: "\""):
                let start = i + 1
                i += 1
                while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                    if bytes[i] == UInt8(ascii: "\\") { i += 1 }
                    i += 1
                }
                if expectKey, var keys = stack.last ?? nil {
                    let key = Array(bytes[start..<min(i, bytes.count)])
                    if keys.contains(key) { return String(decoding: key, as: UTF8.self) }
                    keys.insert(key)
                    stack[stack.count - 1] = keys
                    expectKey = false
                }
            default:
                break
            }
            i += 1
        }
        return nil
    }

    static func path(_ codingPath: [any CodingKey]) -> String {
        var out = ""
        for key in codingPath {
            if let index = key.intValue {
                out += "[\(index)]"
            } else {
                out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return out
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case let .typeMismatch(type, context):
            let field = path(context.codingPath)
            return field.isEmpty ? "invalid JSON: expected \(typeName(type)) at the top level"
                : "invalid value for field '\(field)': expected \(typeName(type))"
        case let .valueNotFound(type, context):
            return "field '\(path(context.codingPath))' is null, expected \(typeName(type))"
        case let .keyNotFound(key, context):
            let parent = path(context.codingPath)
            return "missing field '\(parent.isEmpty ? key.stringValue : parent + "." + key.stringValue)'"
        case let .dataCorrupted(context):
            let field = path(context.codingPath)
            if field.isEmpty {
                let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
                return "invalid JSON: \(underlying ?? context.debugDescription)"
            }
            return "invalid value for field '\(field)': \(context.debugDescription)"
        @unknown default:
            return "invalid JSON"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt64.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "an object"
        }
    }
}
