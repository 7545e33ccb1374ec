import GGUF
import Testing
import TestSupport

/// One metadata entry of every value type, with extreme values where the type has them.
let everyValueType: [(key: String, value: GGUFValue)] = [
    ("t.u8", .uint8(.max)), ("t.i8", .int8(.min)), ("t.u16", .uint16(.max)), ("t.i16", .int16(.min)),
    ("t.u32", .uint32(.max)), ("t.i32", .int32(.min)), ("t.f32", .float32(-1.5e-7)), ("t.bool.true", .bool(true)),
    ("t.bool.false", .bool(false)), ("t.string", .string("héllo, 世界 🦙")), ("t.string.empty", .string("")),
    ("t.u64", .uint64(.max)), ("t.i64", .int64(.min)), ("t.f64", .float64(.pi)),
    ("a.u8", .array(.integers([0, 1, 255], type: 0))), ("a.i8", .array(.integers([-128, 0, 127], type: 1))),
    ("a.u16", .array(.integers([0, 65535], type: 2))), ("a.i16", .array(.integers([-32768, 32767], type: 3))),
    ("a.u32", .array(.integers([0, 4_294_967_295], type: 4))), ("a.i32", .array(.integers([-2_147_483_648, 7], type: 5))),
    ("a.i64", .array(.integers([.min, -1, .max], type: 11))), ("a.u64", .array(.unsigned64([0, .max]))),
    ("a.f32", .array(.floats([0.5, -2, 0x1p100], type: 6))), ("a.f64", .array(.floats([.pi, -.infinity, 1e-300], type: 12))),
    ("a.bool", .array(.bools([true, false, true]))), ("a.string", .array(.strings(["a", "", "ü", "<0xFF>"]))),
    ("a.empty", .array(.strings([]))), ("a.empty.u8", .array(.integers([], type: 0))),
    ("a.nested", .array(.arrays([.strings(["x", "y"]), .integers([1, 2, 3], type: 5), .arrays([.bools([true])]), .floats([], type: 6)]))),
]

@Suite struct RoundTripTests {
    @Test(arguments: [UInt32(2), 3])
    func everyValueTypeRoundTrips(version: UInt32) throws {
        let file = try GGUFFile(copying: GGUFWriter(version: version, metadata: everyValueType).bytes())
        #expect(file.version == version)
        #expect(file.metadata.map(\.key) == everyValueType.map(\.key), "metadata keeps file order")
        for (key, value) in everyValueType {
            #expect(file[key] == value, "\(key)")
        }
        #expect(file.tensors.isEmpty)
    }

    @Test func accessorsConvertTypes() throws {
        let file = try GGUFFile(copying: GGUFWriter(metadata: everyValueType).bytes())
        #expect(file.int("t.u32") == 4_294_967_295)
        #expect(file.int("t.i8") == -128)
        #expect(file.int("t.u64") == nil, "u64 max does not fit in Int")
        #expect(file.int("t.string") == nil)
        #expect(file.double("t.f64") == .pi)
        #expect(file.float("t.f32") == -1.5e-7)
        #expect(file.bool("t.bool.true") == true)
        #expect(file.string("t.string.empty") == "")
        #expect(file.array("a.string")?.strings == ["a", "", "ü", "<0xFF>"])
        #expect(file.array("a.u8")?.ints == [0, 1, 255])
        #expect(file.array("a.f32")?.floats == [0.5, -2, 0x1p100])
        #expect(file.array("a.nested")?.count == 4)
        #expect(file["no.such.key"] == nil)
        #expect(try file.requireString("t.string") == "héllo, 世界 🦙")
        #expect(try file.requireInt("t.u16") == 65535)
        #expect(file["a.nested"]?.typeName == "ARRAY[ARRAY]")
    }

    @Test(arguments: [UInt32(2), 3])
    func tensorsAndDataRoundTrip(version: UInt32) throws {
        let weights = (0 ..< 64).map { UInt8($0) }
        let q8 = (0 ..< 68).map { UInt8(255 - $0) } // two Q8_0 blocks
        let writer = GGUFWriter(version: version, metadata: [(GGUFKey.architecture, .string("llama"))], tensors: [
            .init(name: "a", dimensions: [4, 4], type: .f32, data: weights),
            .init(name: "b", dimensions: [64], type: .q8_0, data: q8),
            .init(name: "c", dimensions: [3], type: .i8, data: [1, 2, 3]),
            .init(name: "d", dimensions: [256, 2, 1, 1], type: .q4_K),
        ])
        let (bytes, layout) = writer.build()
        let file = try GGUFFile(copying: bytes)
        #expect(file.tensors.map(\.name) == ["a", "b", "c", "d"])
        #expect(file.dataOffset == layout.dataOffset)
        #expect(file.dataOffset % 32 == 0)
        let a = try file.requireTensor("a")
        #expect(a.dimensions == [4, 4] && a.type == .f32 && a.elementCount == 16 && a.byteCount == 64 && a.rowCount == 4)
        #expect(Array(UnsafeRawBufferPointer(start: file.data(for: a), count: a.byteCount)) == weights)
        let b = try file.requireTensor("b")
        #expect(b.type == .q8_0 && b.byteCount == 68 && b.offset == 64)
        #expect(Array(UnsafeRawBufferPointer(start: file.data(for: b), count: b.byteCount)) == q8)
        let c = try file.requireTensor("c")
        #expect(c.offset == 160, "each tensor starts on the 32-byte alignment")
        #expect(Array(UnsafeRawBufferPointer(start: file.data(for: c), count: 3)) == [1, 2, 3])
        let d = try file.requireTensor("d")
        #expect(d.byteCount == 2 * 144 && d.rowCount == 2)
        #expect(file.parameterCount == 16 + 64 + 3 + 512)
        #expect(file.architecture == "llama")
        #expect(file.tensor(named: "missing") == nil)
    }

    @Test(arguments: [(GGUFValue.uint32(64), 64), (.uint32(1), 1), (.uint64(4096), 4096), (.int32(8), 8)])
    func generalAlignmentIsHonoured(value: GGUFValue, alignment: Int) throws {
        let writer = GGUFWriter(metadata: [("x", .string("abc")), (GGUFKey.alignment, value)], tensors: [
            .init(name: "a", dimensions: [3], type: .f32, data: Array(repeating: 7, count: 12)),
            .init(name: "b", dimensions: [5], type: .f32, data: Array(repeating: 9, count: 20)),
        ])
        let (bytes, layout) = writer.build()
        let file = try GGUFFile(copying: bytes)
        #expect(file.alignment == alignment)
        #expect(file.dataOffset == layout.dataOffset && file.dataOffset % alignment == 0)
        let b = try file.requireTensor("b")
        #expect(b.offset % alignment == 0 && b.offset >= 12)
        #expect(Array(UnsafeRawBufferPointer(start: file.data(for: b), count: 20)) == Array(repeating: 9, count: 20))
    }

    @Test func defaultAlignmentIs32() throws {
        let file = try GGUFFile(copying: GGUFWriter(tensors: [.init(name: "a", dimensions: [1], type: .f32)]).bytes())
        #expect(file.alignment == 32 && file.dataOffset % 32 == 0)
    }

    @Test func readsFromDisk() throws {
        let dir = try makeTemporaryDirectory()
        defer { dir.cleanup() }
        let path = try GGUFWriter(metadata: everyValueType, tensors: [.init(name: "t", dimensions: [2, 2], type: .f16)])
            .write(to: dir.path + "/tiny.gguf")
        let file = try GGUFFile(path: path)
        #expect(file.path == path)
        #expect(file.fileSize == file.dataOffset + 8)
        #expect(file["a.nested"] == everyValueType.last!.value)
    }

    @Test func zeroSizedTensorsAndScalars() throws {
        let file = try GGUFFile(copying: GGUFWriter(tensors: [
            .init(name: "empty", dimensions: [0, 4], type: .q4_0),
            .init(name: "scalar", dimensions: [], type: .f32, data: [0, 0, 128, 63]),
        ]).bytes())
        #expect(file.tensors[0].elementCount == 0 && file.tensors[0].byteCount == 0)
        #expect(file.tensors[1].elementCount == 1 && file.tensors[1].rowCount == 1)
    }

    /// Every type's block size and byte size against ggml's `type_traits` (spot values from ggml-common.h).
    @Test func typeSizesMatchGGML() {
        let expected: [GGMLType: (Int, Int)] = [
            .f32: (1, 4), .f16: (1, 2), .bf16: (1, 2), .q4_0: (32, 18), .q4_1: (32, 20), .q5_0: (32, 22),
            .q5_1: (32, 24), .q8_0: (32, 34), .q8_1: (32, 36), .q2_K: (256, 84), .q3_K: (256, 110),
            .q4_K: (256, 144), .q5_K: (256, 176), .q6_K: (256, 210), .q8_K: (256, 292), .iq4_nl: (32, 18),
            .iq4_xs: (256, 136), .i8: (1, 1), .i64: (1, 8), .f64: (1, 8),
        ]
        for (type, (block, size)) in expected {
            #expect(type.blockSize == block && type.typeSize == size, "\(type)")
        }
        #expect(GGMLType.q4_K.byteCount(elements: 512) == 288)
        #expect(GGMLType.q4_K.byteCount(elements: 100) == nil)
        #expect(GGMLType.f32.byteCount(elements: .max) == nil, "overflow is reported, not trapped")
        #expect(Set(GGMLType.allCases.map(\.name)).count == GGMLType.allCases.count)
        #expect(GGUFFileType.name(15) == "Q4_K_M" && GGUFFileType.name(3) == "Q4_1")
    }
}

@Suite struct ModelSummaryTests {
    func summary(elements: [Int]) throws -> ModelSummary {
        let tensors = elements.enumerated().map { GGUFWriter.Tensor(name: "t\($0.offset)", dimensions: [$0.element], type: .i8) }
        return ModelSummary(try GGUFFile(copying: GGUFWriter(tensors: tensors).bytes()))
    }

    @Test func parameterLabelsRound() throws {
        #expect(try summary(elements: [949]).parameterLabel == "949")
        #expect(try summary(elements: [999]).parameterLabel == "1.0K")
        #expect(try summary(elements: [1000, 500]).parameterLabel == "1.5K")
        #expect(try summary(elements: [999_950]).parameterLabel == "1.0M")
        #expect(try summary(elements: [494_032]).parameterLabel == "494.0K")
        #expect(try summary(elements: []).parameterLabel == "0")
    }

    @Test func perLayerHeadCountsAndFallbacks() throws {
        let file = try GGUFFile(copying: GGUFWriter(metadata: [
            (GGUFKey.architecture, .string("openelm")),
            (GGUFKey.headCount("openelm"), .array(.integers([12, 16, 20], type: 5))),
            (GGUFKey.headCountKV("openelm"), .uint32(4)),
            (GGUFKey.vocabSize("openelm"), .uint32(32000)),
            (GGUFKey.tokens, .array(.strings(["a"]))),
            (GGUFKey.fileType, .uint32(999)),
        ]).bytes())
        let s = ModelSummary(file)
        #expect(s.headCount == 20 && s.headCountKV == 4)
        #expect(s.vocabSize == 32000, "<arch>.vocab_size wins over the token list")
        #expect(s.fileType == "unknown (999)")
        #expect(s.contextLength == nil && s.chatTemplate == nil && s.tokenizer == nil)
    }
}
