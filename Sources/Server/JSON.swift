import Foundation
import JSON

// Request fields whose shape varies (`format`, `stop`, `keep_alive`) and every response body are
// JSONValues: responses keep their keys in a fixed order (as Ollama and OpenAI write them) with
// explicit `null`s where the protocols want one, and are written compactly, one per line (NDJSON and
// SSE need that).

extension JSONValue {
    /// Serialized bytes, the form response bodies take.
    package var data: Data { Data(serialized.utf8) }
}

/// Builds a JSON object literal, leaving out the pairs whose value is nil.
package func object(_ pairs: (String, JSONValue?)...) -> JSONValue {
    .object(pairs.compactMap { key, value in value.map { (key, $0) } })
}

extension JSONValue {
    static func float(_ f: Float) -> JSONValue { .double(Double(f)) }
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

    /// The first key that appears twice in one object of `bytes` (as written, escapes kept), which
    /// the typed decoder has already accepted as JSON; nil when there is none.
    package static func firstDuplicateKey(_ bytes: [UInt8]) -> String? {
        do throws(JSONError) {
            _ = try JSONParser.parse(bytes, options: .init(allowsByteOrderMark: true, rejectsDuplicateKeys: true))
            return nil
        } catch {
            if case let .duplicateKey(key, _) = error { return key }
            // A text Foundation accepts but the strict parser does not has no duplicate it can name.
            return nil
        }
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
