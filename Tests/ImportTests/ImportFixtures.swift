import Crypto
import Foundation
import GGUF
import Testing

/// The committed fixtures of scripts/make-import-fixtures.py.
enum ImportFixtures {
    static func url(_ name: String) throws -> URL {
        try #require(Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil), "fixture \(name)")
    }

    static func json(_ name: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(contentsOf: url(name))) as? [String: Any])
    }

    static func sha256(_ bytes: UnsafeRawBufferPointer) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    static func sha256(of tensor: GGUFTensorInfo, in file: GGUFFile) -> String {
        sha256(UnsafeRawBufferPointer(start: file.mapping.base + file.dataOffset + tensor.offset, count: tensor.byteCount))
    }

    /// A scratch directory removed when the closure returns.
    static func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlm-import-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try body(dir)
    }
}
