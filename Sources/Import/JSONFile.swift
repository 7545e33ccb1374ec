import Foundation

/// A parsed JSON object from one of the model folder's files, with typed lookups whose failures
/// name the file and key.
struct JSONFile {
    let path: String
    let object: [String: Any]

    init(path: String) throws(ImportError) {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .missingFile(path: path, hint: "the folder must be a Hugging Face model folder")
        }
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ImportError.badJSON(path: path, reason: "the top level is not an object")
            }
            self.object = object
        } catch let error as ImportError {
            throw error
        } catch {
            throw .badJSON(path: path, reason: error.localizedDescription)
        }
    }

    /// Nil when the file does not exist.
    static func optional(_ path: String) throws(ImportError) -> JSONFile? {
        FileManager.default.fileExists(atPath: path) ? try JSONFile(path: path) : nil
    }

    subscript(key: String) -> Any? { object[key] }

    func int(_ key: String) -> Int? { Self.int(object[key]) }
    func double(_ key: String) -> Double? { Self.double(object[key]) }
    func string(_ key: String) -> String? { object[key] as? String }
    func bool(_ key: String) -> Bool? { Self.bool(object[key]) }

    func requireInt(_ key: String) throws(ImportError) -> Int {
        guard let v = int(key) else { throw .missingConfigValue(path: path, key: key) }
        return v
    }

    /// The first key present, as llama.cpp's `find_hparam` looks up alternative spellings.
    func int(anyOf keys: [String]) -> Int? { keys.lazy.compactMap { self.int($0) }.first }
    func double(anyOf keys: [String]) -> Double? { keys.lazy.compactMap { self.double($0) }.first }

    /// JSON booleans arrive as NSNumber too (a boolean subclass); only real booleans count, so a
    /// `1` is never read as `true` or a `true` as `1`.
    static func bool(_ value: Any?) -> Bool? {
        guard let n = value as? NSNumber, type(of: n) == booleanType else { return nil }
        return n.boolValue
    }

    private static let booleanType = type(of: NSNumber(value: true))

    static func double(_ value: Any?) -> Double? {
        guard let n = value as? NSNumber, bool(value) == nil else { return nil }
        return n.doubleValue
    }

    static func int(_ value: Any?) -> Int? {
        guard let n = value as? NSNumber, bool(value) == nil else { return nil }
        let d = n.doubleValue
        guard d == d.rounded(), abs(d) < 9e15 else { return nil }
        return n.intValue
    }
}
