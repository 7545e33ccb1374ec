import Foundation
import GGUF

/// Little-endian byte sink for hand-crafting GGUF files, including deliberately broken ones.
public struct GGUFBytes: Sendable {
    public var bytes: [UInt8] = []

    public init() {}

    public var count: Int { bytes.count }

    public mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func append(float value: Float) { append(value.bitPattern) }
    public mutating func append(double value: Double) { append(value.bitPattern) }

    /// A GGUF string: u64 byte length, then the bytes (which need not be valid UTF-8).
    public mutating func append(stringBytes raw: [UInt8]) {
        append(UInt64(raw.count))
        bytes.append(contentsOf: raw)
    }

    public mutating func append(string: String) { append(stringBytes: Array(string.utf8)) }

    public mutating func append(raw: [UInt8]) { bytes.append(contentsOf: raw) }

    /// Zero bytes up to the next multiple of `alignment`.
    public mutating func pad(to alignment: Int) {
        let rem = bytes.count % alignment
        if rem != 0 { bytes.append(contentsOf: repeatElement(0, count: alignment - rem)) }
    }

    /// A metadata value without its type id (the caller writes the id; see `GGUFWriter.typeID`).
    public mutating func append(value: GGUFValue) {
        switch value {
        case let .uint8(v): append(v)
        case let .int8(v): append(v)
        case let .uint16(v): append(v)
        case let .int16(v): append(v)
        case let .uint32(v): append(v)
        case let .int32(v): append(v)
        case let .float32(v): append(float: v)
        case let .bool(v): append(UInt8(v ? 1 : 0))
        case let .string(v): append(string: v)
        case let .uint64(v): append(v)
        case let .int64(v): append(v)
        case let .float64(v): append(double: v)
        case let .array(a): append(array: a)
        }
    }

    /// An array value: element type id, u64 count, elements. Nested arrays repeat this per element.
    public mutating func append(array: GGUFArray) {
        append(GGUFWriter.elementTypeID(array))
        append(UInt64(array.count))
        switch array {
        case let .integers(values, type):
            for v in values {
                switch type {
                case 0: append(UInt8(truncatingIfNeeded: v))
                case 1: append(Int8(truncatingIfNeeded: v))
                case 2: append(UInt16(truncatingIfNeeded: v))
                case 3: append(Int16(truncatingIfNeeded: v))
                case 4: append(UInt32(truncatingIfNeeded: v))
                case 5: append(Int32(truncatingIfNeeded: v))
                default: append(v)
                }
            }
        case let .unsigned64(values): for v in values { append(v) }
        case let .floats(values, type):
            for v in values { if type == 6 { append(float: Float(v)) } else { append(double: v) } }
        case let .bools(values): for v in values { append(UInt8(v ? 1 : 0)) }
        case let .strings(values): for v in values { append(string: v) }
        case let .arrays(values): for v in values { append(array: v) }
        }
    }
}

/// Builds GGUF files (versions 2 and 3 share one layout: u64 counts, little-endian) for tests.
///
/// Tensor data is laid out in order, each tensor starting at a multiple of the alignment, which is
/// taken from a `general.alignment` metadata entry when present (as readers do) unless overridden.
public struct GGUFWriter: Sendable {
    public struct Tensor: Sendable {
        public var name: String
        /// ggml order, innermost axis first.
        public var dimensions: [UInt64]
        /// Raw type id, so tests can write ids ggml does not define.
        public var typeID: UInt32
        /// Tensor bytes; nil means zeros of the size the type and shape imply.
        public var data: [UInt8]?
        /// Overrides the computed data offset (for misaligned / out-of-bounds files).
        public var offset: UInt64?

        public init(name: String, dimensions: [Int], type: GGMLType, data: [UInt8]? = nil, offset: UInt64? = nil) {
            self.init(name: name, rawDimensions: dimensions.map { UInt64($0) }, typeID: type.rawValue, data: data, offset: offset)
        }

        public init(name: String, rawDimensions: [UInt64], typeID: UInt32, data: [UInt8]? = nil, offset: UInt64? = nil) {
            self.name = name
            self.dimensions = rawDimensions
            self.typeID = typeID
            self.data = data
            self.offset = offset
        }

        /// Bytes the reader will expect for this tensor (0 when the type or shape is invalid).
        public var expectedByteCount: Int {
            guard let type = GGMLType(rawValue: typeID) else { return 0 }
            var elements = 1
            for d in dimensions {
                guard d <= UInt64(Int.max) else { return 0 }
                let (p, o) = elements.multipliedReportingOverflow(by: Int(d))
                if o { return 0 }
                elements = p
            }
            return type.byteCount(elements: elements) ?? 0
        }
    }

    /// Where things ended up in the last `bytes()` output, for tests that corrupt specific fields.
    public struct Layout: Sendable {
        /// Offset of each metadata entry's key length field.
        public var metadataOffsets: [Int] = []
        /// Offset of each tensor info's name length field.
        public var tensorInfoOffsets: [Int] = []
        public var headerEnd = 0
        public var dataOffset = 0
        /// Absolute offset of each tensor's data.
        public var tensorDataOffsets: [Int] = []
    }

    public var magic: UInt32 = GGUFFile.magic
    public var version: UInt32
    public var metadata: [(key: String, value: GGUFValue)]
    public var tensors: [Tensor]
    /// Alignment used to lay out the data section; nil means `general.alignment` or the default 32.
    public var alignment: Int?

    public init(version: UInt32 = 3, metadata: [(key: String, value: GGUFValue)] = [], tensors: [Tensor] = []) {
        self.version = version
        self.metadata = metadata
        self.tensors = tensors
    }

    public var effectiveAlignment: Int {
        if let alignment { return alignment }
        if let v = metadata.first(where: { $0.key == GGUFKey.alignment })?.value.intValue, v > 0 { return v }
        return GGUFFile.defaultAlignment
    }

    public func bytes() -> [UInt8] { build().bytes }

    public func build() -> (bytes: [UInt8], layout: Layout) {
        var out = GGUFBytes()
        var layout = Layout()
        out.append(magic)
        out.append(version)
        out.append(UInt64(tensors.count))
        out.append(UInt64(metadata.count))
        for (key, value) in metadata {
            layout.metadataOffsets.append(out.count)
            out.append(string: key)
            out.append(Self.typeID(value))
            out.append(value: value)
        }
        let alignment = effectiveAlignment
        var next = 0
        var offsets: [Int] = []
        for t in tensors {
            let size = t.data?.count ?? t.expectedByteCount
            let offset = t.offset.map { Int(clamping: $0) } ?? next
            offsets.append(offset)
            if t.offset == nil { next = (offset + size + alignment - 1) / alignment * alignment }
        }
        for (i, t) in tensors.enumerated() {
            layout.tensorInfoOffsets.append(out.count)
            out.append(string: t.name)
            out.append(UInt32(t.dimensions.count))
            for d in t.dimensions { out.append(d) }
            out.append(t.typeID)
            out.append(t.offset ?? UInt64(offsets[i]))
        }
        layout.headerEnd = out.count
        out.pad(to: alignment)
        layout.dataOffset = out.count
        // Tensors with overridden offsets are not written (their offset may be anywhere); the data
        // section spans the laid-out ones.
        for (i, t) in tensors.enumerated() where t.offset == nil {
            let data = t.data ?? [UInt8](repeating: 0, count: t.expectedByteCount)
            let start = layout.dataOffset + offsets[i]
            if out.count < start { out.append(raw: [UInt8](repeating: 0, count: start - out.count)) }
            out.append(raw: data)
        }
        layout.tensorDataOffsets = offsets.map { layout.dataOffset &+ $0 }
        return (out.bytes, layout)
    }

    /// Writes the file and returns its path.
    @discardableResult
    public func write(to path: String) throws -> String {
        try Data(bytes()).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The GGUF value type id of `value` (0 u8 ... 12 f64).
    public static func typeID(_ value: GGUFValue) -> UInt32 {
        switch value {
        case .uint8: return 0
        case .int8: return 1
        case .uint16: return 2
        case .int16: return 3
        case .uint32: return 4
        case .int32: return 5
        case .float32: return 6
        case .bool: return 7
        case .string: return 8
        case .array: return 9
        case .uint64: return 10
        case .int64: return 11
        case .float64: return 12
        }
    }

    static func elementTypeID(_ array: GGUFArray) -> UInt32 {
        switch array {
        case let .integers(_, type), let .floats(_, type): return type
        case .unsigned64: return 10
        case .bools: return 7
        case .strings: return 8
        case .arrays: return 9
        }
    }
}

/// A fresh temporary directory for one test, removed by the caller (`defer { cleanup() }`).
public func makeTemporaryDirectory(_ prefix: String = "swiftlm-test") throws -> (path: String, cleanup: () -> Void) {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return (url.path, { try? FileManager.default.removeItem(at: url) })
}

/// A tiny seeded generator (SplitMix64) so random test inputs and fuzz cases are reproducible
/// from their seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
