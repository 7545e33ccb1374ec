import Foundation
import GGUF

/// Byte sink for hand-crafting GGUF files, including deliberately broken ones: the GGUF module's
/// own encoder, so tests and `swiftlm create` encode values one way.
public typealias GGUFBytes = GGUFEncoder

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
    public static func typeID(_ value: GGUFValue) -> UInt32 { GGUFEncoder.typeID(value) }
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
