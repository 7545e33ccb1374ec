import Foundation
import GGUF
import Store
import TestSupport

/// A small but real GGUF file (llama, Q4_K_M label, one 1 MiB F32 tensor) to serve over HTTP.
func sampleGGUF(seed: UInt8 = 1, floats: Int = 262_144) -> [UInt8] {
    var data = [UInt8](repeating: 0, count: floats * 4)
    var x = UInt32(seed) &* 2_654_435_761
    for i in 0..<data.count {
        x = x &* 1_664_525 &+ 1_013_904_223
        data[i] = UInt8(truncatingIfNeeded: x >> 24)
    }
    let writer = GGUFWriter(
        metadata: [(GGUFKey.architecture, .string("llama")), (GGUFKey.fileType, .uint32(15))],
        tensors: [.init(name: GGUFTensorName.tokenEmbedding, dimensions: [floats], type: .f32, data: data)])
    return writer.bytes()
}

func sha256Hex(_ bytes: [UInt8]) -> String {
    sha256Hex(Data(bytes))
}

func sha256Hex(_ data: Data) -> String {
    // Independent of the store's own hashing path: shell out to the system tool.
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("sha-\(UUID().uuidString)")
    try? data.write(to: tmp)
    defer { try? FileManager.default.removeItem(at: tmp) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["sha256sum", tmp.path]
    let pipe = Pipe()
    process.standardOutput = pipe
    try? process.run()
    let out = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: out, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
}

/// A temporary store plus a loopback server serving `body` at /model.gguf.
struct HTTPFixture {
    let store: ModelStore
    let server: LoopbackHTTPServer
    let body: [UInt8]
    let cleanup: () -> Void
    var url: String { server.baseURL + "/model.gguf" }

    init(body: [UInt8] = sampleGGUF()) throws {
        let dir = try makeTemporaryDirectory("swiftlm-store")
        store = ModelStore(root: dir.path + "/models")
        server = try LoopbackHTTPServer()
        server.setFile("/model.gguf", body: body)
        self.body = body
        let server = self.server
        cleanup = {
            server.stop()
            dir.cleanup()
        }
    }

    func files(_ sub: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: store.root + "/" + sub)) ?? []).sorted()
    }
}
