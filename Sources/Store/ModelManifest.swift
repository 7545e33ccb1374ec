import Foundation

/// The small JSON record that registers a model name in the store. Written only after its blob is
/// complete and verified, so a manifest always points at a whole, checked file.
public struct ModelManifest: Codable, Sendable, Equatable {
    /// `model:tag`.
    public var name: String
    /// `sha256:<hex>`: the blob's content address.
    public var digest: String
    public var size: Int64
    /// Where the bytes came from: `pypi:pkg==ver` or the URL.
    public var source: String
    public var pulledAt: Date
    public var architecture: String
    public var quantization: String

    public init(name: String, digest: String, size: Int64, source: String, pulledAt: Date,
                architecture: String, quantization: String) {
        self.name = name
        self.digest = digest
        self.size = size
        self.source = source
        self.pulledAt = pulledAt
        self.architecture = architecture
        self.quantization = quantization
    }

    /// The lowercase hex sha256 from `digest`.
    public var sha256: String {
        digest.hasPrefix("sha256:") ? String(digest.dropFirst("sha256:".count)) : digest
    }

    /// The current time in whole seconds, the precision the JSON keeps (so a manifest read back equals the one written).
    static func now() -> Date { Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)) }

    static func decode(_ data: Data, path: String) throws(StoreError) -> ModelManifest {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            let manifest = try decoder.decode(ModelManifest.self, from: data)
            guard Digest.isSHA256Hex(manifest.sha256) else {
                throw StoreError.corruptManifest(path: path, reason: "bad digest '\(manifest.digest)'")
            }
            return manifest
        } catch let error as StoreError {
            throw error
        } catch {
            throw .corruptManifest(path: path, reason: "\(error)")
        }
    }

    func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Encoding a struct of strings, integers and a date cannot fail.
        return (try? encoder.encode(self)) ?? Data()
    }
}

enum Digest {
    static func isSHA256Hex(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// Accepts `sha256:<hex>` or bare hex, any case; returns lowercase hex.
    static func normalize(_ s: String) throws(StoreError) -> String {
        var hex = s.lowercased()
        if hex.hasPrefix("sha256:") { hex.removeFirst("sha256:".count) }
        guard isSHA256Hex(hex) else { throw .invalidChecksum(s) }
        return hex
    }
}
