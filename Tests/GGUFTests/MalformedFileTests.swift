import Foundation
import GGUF
import Testing
import TestSupport

/// The error `bytes` produce, or nil if they parse.
func parseError(_ bytes: [UInt8]) -> GGUFError? {
    do {
        _ = try GGUFFile(copying: bytes)
        return nil
    } catch {
        return error
    }
}

/// A header up to (and including) the counts, for hand-built bodies.
func header(version: UInt32 = 3, tensors: UInt64 = 0, kvs: UInt64 = 0) -> GGUFBytes {
    var b = GGUFBytes()
    b.append(GGUFFile.magic)
    b.append(version)
    b.append(tensors)
    b.append(kvs)
    return b
}

/// A small but complete file: metadata of several types and three tensors, the last ending at EOF.
let sampleWriter = GGUFWriter(metadata: [
    (GGUFKey.architecture, .string("llama")), ("n", .uint32(7)),
    ("toks", .array(.strings(["<s>", "a", "b"]))), ("nested", .array(.arrays([.integers([1], type: 4)]))),
], tensors: [
    .init(name: "w", dimensions: [32, 2], type: .q8_0),
    .init(name: "x", dimensions: [3], type: .f32),
    .init(name: "y", dimensions: [2], type: .f16),
])

@Suite struct MalformedFileTests {
    @Test func emptyFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.path + "/empty.gguf"
        _ = FileManager.default.createFile(atPath: path, contents: Data())
        #expect(throws: GGUFError.emptyFile(path: path)) { try GGUFFile(path: path) }
        #expect(parseError([]) == .emptyFile(path: "<memory>"))
    }

    @Test func missingFileAndDirectory() throws {
        let dir = try makeTemporaryDirectory()
        defer { dir.cleanup() }
        for path in [dir.path + "/nope.gguf", dir.path] {
            do {
                _ = try GGUFFile(path: path)
                Issue.record("\(path) opened")
            } catch {
                guard case let .cannotOpen(p, reason) = error else { Issue.record("\(error)"); continue }
                #expect(p == path && !reason.isEmpty)
            }
        }
    }

    @Test func badMagic() {
        var b = sampleWriter.bytes()
        b[3] = UInt8(ascii: "G")
        #expect(parseError(b) == .badMagic(found: 0x4755_4747))
        #expect(parseError(Array("PK\u{3}\u{4}rest of a zip file".utf8)) == .badMagic(found: 0x0403_4B50))
        #expect(GGUFError.badMagic(found: 0x0403_4B50).description.contains("0x04034B50"))
    }

    @Test(arguments: [UInt32(0), 1, 4, .max])
    func unsupportedVersion(version: UInt32) {
        var w = sampleWriter
        w.version = version
        #expect(parseError(w.bytes()) == .unsupportedVersion(version))
    }

    @Test func bigEndianFilesAreNamed() {
        var w = sampleWriter
        w.version = UInt32(3).byteSwapped
        #expect(parseError(w.bytes())?.description.contains("big-endian") == true)
    }

    /// Every strict prefix of a valid file is rejected with a GGUFError, never accepted or crashed on.
    @Test func truncatedAtEveryByte() {
        let (bytes, layout) = sampleWriter.build()
        #expect(parseError(bytes) == nil)
        for n in 1 ..< bytes.count {
            let error = parseError(Array(bytes[..<n]))
            switch error {
            case .truncated?, .countTooLarge?:
                #expect(n < layout.headerEnd, "prefix \(n)")
            case .tensorOutOfBounds?:
                #expect(n >= layout.headerEnd, "prefix \(n)")
            default:
                Issue.record("prefix \(n) of \(bytes.count): \(String(describing: error))")
            }
        }
        #expect(parseError(Array(bytes[..<3])) == .truncated(offset: 0, needed: 4, fileSize: 3))
    }

    @Test func countsThatExceedTheFile() {
        var b = header(tensors: .max)
        #expect(parseError(b.bytes) == .countTooLarge(what: "tensor", count: .max))
        b = header(kvs: 1 << 62)
        #expect(parseError(b.bytes) == .countTooLarge(what: "metadata key-value", count: 1 << 62))
        // Array counts: huge, and merely one more than the bytes that follow.
        for (type, count, what) in [(UInt32(8), UInt64.max, "string array element"), (9, 1 << 40, "nested array element"),
                                    (7, 5, "bool array element"), (6, 2, "float array element"),
                                    (10, 2, "integer array element"), (0, 1 << 63, "integer array element")] {
            b = header(kvs: 1)
            b.append(string: "k")
            b.append(UInt32(9))
            b.append(type)
            b.append(count)
            b.append(raw: [1, 2, 3, 4])
            #expect(parseError(b.bytes) == .countTooLarge(what: what, count: count), "type \(type)")
        }
    }

    @Test func stringLengthsBeyondTheFile() {
        for length in [UInt64.max, 1 << 63, 100] {
            var b = header(kvs: 1)
            b.append(length)
            b.append(raw: Array(repeating: UInt8(ascii: "k"), count: 64))
            guard case .truncated? = parseError(b.bytes) else { Issue.record("length \(length)"); continue }
        }
    }

    @Test func invalidUTF8() {
        for bad: [UInt8] in [[0xFF], [0x61, 0xC3], [0xED, 0xA0, 0x80], [0xC0, 0xAF]] {
            var b = header(kvs: 1)
            b.append(stringBytes: bad) // key
            b.append(UInt32(8))
            b.append(string: "v")
            #expect(parseError(b.bytes) == .invalidUTF8(offset: 24), "key \(bad)")

            b = header(kvs: 1)
            b.append(string: "k")
            b.append(UInt32(8))
            b.append(stringBytes: bad) // value
            #expect(parseError(b.bytes) == .invalidUTF8(offset: 37), "value \(bad)")

            b = header(tensors: 1)
            b.append(stringBytes: bad) // tensor name
            b.append(UInt32(1))
            b.append(UInt64(1))
            b.append(UInt32(0))
            b.append(UInt64(0))
            #expect(parseError(b.bytes) == .invalidUTF8(offset: 24), "tensor name \(bad)")
        }
    }

    @Test(arguments: [UInt32(13), 255, .max])
    func unknownValueTypes(type: UInt32) {
        var b = header(kvs: 1)
        b.append(string: "k")
        b.append(type)
        b.append(raw: [0, 0, 0, 0])
        #expect(parseError(b.bytes) == .unknownValueType(type, offset: 33))
        b = header(kvs: 1)
        b.append(string: "k")
        b.append(UInt32(9))
        b.append(type) // array element type
        b.append(UInt64(0))
        #expect(parseError(b.bytes) == .unknownValueType(type, offset: 37))
    }

    @Test func absurdArrayNestingIsRejected() {
        var b = header(kvs: 1)
        b.append(string: "k")
        b.append(UInt32(9))
        for _ in 0 ..< 100 {
            b.append(UInt32(9))
            b.append(UInt64(1))
        }
        b.append(UInt32(0))
        b.append(UInt64(0))
        guard case .unknownValueType? = parseError(b.bytes) else { Issue.record("deep nesting accepted"); return }
    }

    @Test func duplicates() {
        var w = sampleWriter
        w.metadata.append(("n", .string("again")))
        #expect(parseError(w.bytes()) == .duplicateKey("n"))
        w = sampleWriter
        w.tensors.append(.init(name: "x", dimensions: [1], type: .f32))
        #expect(parseError(w.bytes()) == .duplicateTensor("x"))
    }

    @Test(arguments: [GGUFValue.uint32(0), .uint32(3), .uint32(48), .uint64(1 << 40), .int32(-32), .string("32"), .float32(32)])
    func badAlignment(value: GGUFValue) {
        var w = GGUFWriter(metadata: [(GGUFKey.alignment, value)], tensors: [.init(name: "a", dimensions: [1], type: .f32)])
        w.alignment = 32
        guard case .badAlignment? = parseError(w.bytes()) else { Issue.record("\(value) accepted"); return }
    }

    @Test(arguments: [UInt32(4), 5, 31, 99, .max])
    func unknownTensorTypes(id: UInt32) {
        let w = GGUFWriter(tensors: [.init(name: "t", rawDimensions: [32], typeID: id, data: [])])
        #expect(parseError(w.bytes()) == .unknownTensorType(tensor: "t", type: id))
    }

    @Test func badTensorShapes() {
        let cases: [(dims: [UInt64], type: GGMLType)] = [
            ([1, 1, 1, 1, 1], .f32), // more than GGML_MAX_DIMS
            ([1 << 32, 1 << 32], .f32), // element count overflows
            ([UInt64.max], .f32), // beyond Int64
            ([1 << 62, 4], .f32),
            ([100], .q4_K), // not whole blocks
            ([32, 3], .q4_K),
            ([1 << 61], .f64), // bytes overflow
        ]
        for c in cases {
            let w = GGUFWriter(tensors: [.init(name: "t", rawDimensions: c.dims, typeID: c.type.rawValue, data: [])])
            guard case .badTensorShape(let name, _)? = parseError(w.bytes()), name == "t" else {
                Issue.record("\(c.dims) \(c.type): \(String(describing: parseError(w.bytes())))")
                continue
            }
        }
    }

    @Test func tensorsOutOfBounds() {
        // Data cut short: the last tensor runs past EOF.
        let bytes = sampleWriter.bytes()
        #expect(parseError(Array(bytes.dropLast())) == .tensorOutOfBounds(tensor: "y", offset: 128, size: 4, available: 131))
        // Offsets pointing past the end, including ones that would overflow offset + size.
        let offsets: [UInt64] = [1 << 20, UInt64.max - 31, UInt64(Int64.max) + 1 - 32]
        for offset in offsets {
            var w = sampleWriter
            w.tensors[1].offset = offset
            let (bytes, layout) = w.build()
            let available = UInt64(bytes.count - layout.dataOffset)
            #expect(parseError(bytes) == .tensorOutOfBounds(tensor: "x", offset: offset, size: 12, available: available))
        }
        // Header promises tensors but the file ends before the data section starts.
        let (full, layout) = sampleWriter.build()
        guard case .tensorOutOfBounds? = parseError(Array(full[..<layout.headerEnd])) else {
            Issue.record("header-only file accepted")
            return
        }
    }

    @Test func misalignedTensor() {
        var w = sampleWriter
        w.tensors[1].offset = 80
        #expect(parseError(w.bytes()) == .misalignedTensor(tensor: "x", offset: 80, alignment: 32))
        w.metadata.append((GGUFKey.alignment, .uint32(16)))
        w.tensors[1].offset = 72
        #expect(parseError(w.bytes()) == .misalignedTensor(tensor: "x", offset: 72, alignment: 16))
    }

    @Test func lookupErrors() throws {
        let file = try GGUFFile(copying: sampleWriter.bytes())
        #expect(throws: GGUFError.missingKey("nope")) { try file.requireString("nope") }
        #expect(throws: GGUFError.wrongValueType(key: "n", expected: "a string")) { try file.requireString("n") }
        #expect(throws: GGUFError.wrongValueType(key: "toks", expected: "an integer")) { try file.requireInt("toks") }
        #expect(throws: GGUFError.missingTensor("z")) { try file.requireTensor("z") }
    }

    /// Messages are one line (the CLI prints them as `error: ...`) and name what is wrong.
    @Test func messagesAreSingleLines() {
        let all: [GGUFError] = [
            .cannotOpen(path: "/p", reason: "No such file or directory"), .emptyFile(path: "/p"), .badMagic(found: 0),
            .unsupportedVersion(9), .truncated(offset: 1, needed: 2, fileSize: 3), .countTooLarge(what: "tensor", count: 9),
            .invalidUTF8(offset: 5), .unknownValueType(13, offset: 1), .duplicateKey("k"), .duplicateTensor("t"),
            .badAlignment(3), .unknownTensorType(tensor: "t", type: 99), .badTensorShape(tensor: "t", dimensions: [1]),
            .tensorOutOfBounds(tensor: "t", offset: 1, size: 2, available: 0),
            .misalignedTensor(tensor: "t", offset: 1, alignment: 32), .missingKey("k"),
            .wrongValueType(key: "k", expected: "a string"), .missingTensor("t"), .unsupportedTensorType(tensor: "t", type: .iq1_s),
        ]
        for e in all {
            #expect(!e.description.isEmpty && !e.description.contains("\n"), "\(e)")
        }
        #expect(GGUFError.truncated(offset: 1, needed: 2, fileSize: 3).description.contains("truncated"))
        // Names come from the file: control characters are escaped and long names cut.
        let hostile = GGUFError.duplicateKey("a\nb\r\u{1B}[31m" + String(repeating: "x", count: 10_000))
        #expect(!hostile.description.contains("\n") && !hostile.description.contains("\u{1B}"))
        #expect(hostile.description.contains("a\\nb") && hostile.description.count < 300)
        #expect(GGUFError.unsupportedTensorType(tensor: "t", type: .iq1_s).description.contains("IQ1_S"))
    }
}
