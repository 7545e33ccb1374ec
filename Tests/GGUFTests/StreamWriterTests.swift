import Foundation
import GGUF
import Testing
import TestSupport

/// The streaming writer `swiftlm create` uses: what it writes, the reader reads back exactly, however
/// the data is chunked; feeding it the wrong number of bytes is an error, not a corrupt file.
@Suite struct StreamWriterTests {
    @Test func roundTripsMetadataAndChunkedTensors() throws {
        let (dir, cleanup) = try makeTemporaryDirectory()
        defer { cleanup() }
        let path = dir + "/w.gguf"
        let metadata: [(key: String, value: GGUFValue)] = [
            (GGUFKey.architecture, .string("llama")),
            ("x.count", .uint32(7)),
            ("x.tokens", .array(.strings(["a", "▁b", ""]))),
            ("x.scores", .array(.floats([0.5, -1], type: 6))),
        ]
        let tensors = [GGUFStreamWriter.Tensor(name: "a", dimensions: [3], type: .f32),
                       GGUFStreamWriter.Tensor(name: "b", dimensions: [32, 2], type: .q8_0),
                       GGUFStreamWriter.Tensor(name: "c", dimensions: [5], type: .f16)]
        let a = (0 ..< 12).map { UInt8($0) }, b = (0 ..< 68).map { UInt8($0 &* 3) }, c = (0 ..< 10).map { UInt8(200 + $0) }
        let writer = try GGUFStreamWriter(path: path, metadata: metadata, tensors: tensors)
        try writer.write(Array(a[..<5]))
        try writer.write(Array(a[5...]))
        for chunk in stride(from: 0, to: b.count, by: 17) { try writer.write(Array(b[chunk ..< min(chunk + 17, b.count)])) }
        try writer.write(c)
        try writer.finish()

        let file = try GGUFFile(path: path)
        #expect(file.metadata.map(\.key) == metadata.map(\.key))
        for (key, value) in metadata { #expect(file[key] == value) }
        #expect(file.tensors.map(\.name) == ["a", "b", "c"])
        #expect(file.tensors.map(\.type) == [.f32, .q8_0, .f16])
        for (info, bytes) in zip(file.tensors, [a, b, c]) {
            #expect(info.offset % 32 == 0)
            let stored = [UInt8](UnsafeRawBufferPointer(start: file.mapping.base + file.dataOffset + info.offset, count: info.byteCount))
            #expect(stored == bytes, "\(info.name)")
        }
        #expect(Int64(file.fileSize) == writer.bytesWritten)
    }

    @Test func wrongSizesAreRefused() throws {
        let (dir, cleanup) = try makeTemporaryDirectory()
        defer { cleanup() }
        let tensors = [GGUFStreamWriter.Tensor(name: "a", dimensions: [4], type: .f32)]
        let tooMuch = try GGUFStreamWriter(path: dir + "/1.gguf", metadata: [], tensors: tensors)
        #expect(throws: GGUFError.self) { try tooMuch.write([UInt8](repeating: 0, count: 17)) }
        let tooLittle = try GGUFStreamWriter(path: dir + "/2.gguf", metadata: [], tensors: tensors)
        try tooLittle.write([UInt8](repeating: 0, count: 8))
        #expect(throws: GGUFError.self) { try tooLittle.finish() }
        #expect(throws: GGUFError.badTensorShape(tensor: "q", dimensions: [33])) {
            try GGUFStreamWriter(path: dir + "/3.gguf", metadata: [], tensors: [.init(name: "q", dimensions: [33], type: .q8_0)])
        }
        #expect(throws: GGUFError.duplicateKey("k")) {
            try GGUFStreamWriter(path: dir + "/4.gguf", metadata: [("k", .bool(true)), ("k", .bool(false))], tensors: [])
        }
    }
}
