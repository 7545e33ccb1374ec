/// One tensor's description from the GGUF header.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// ggml order: `dimensions[0]` is the innermost (contiguous) axis, i.e. a weight of shape
    /// [in, out] stores `out` rows of `in` values.
    public let dimensions: [Int]
    /// The tensor type; files with ids ggml does not define are rejected at open (`unknownTensorType`).
    public let type: GGMLType
    /// Byte offset relative to the start of the tensor data section.
    public let offset: Int
    public let elementCount: Int
    public let byteCount: Int

    /// Number of rows (product of every axis but the first).
    public var rowCount: Int { dimensions.isEmpty ? 1 : elementCount / max(dimensions[0], 1) }
}

/// A parsed, memory-mapped GGUF file (versions 2 and 3). Opening reads only the header;
/// tensor data stays in the mapping until a kernel touches it.
public final class GGUFFile: Sendable {
    public static let magic: UInt32 = 0x4655_4747 // "GGUF" little-endian
    public static let defaultAlignment = 32

    public let mapping: MappedFile
    public let version: UInt32
    /// Metadata in file order.
    public let metadata: [(key: String, value: GGUFValue)]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Absolute file offset of the tensor data section.
    public let dataOffset: Int

    private let metadataIndex: [String: Int]
    private let tensorIndex: [String: Int]

    public var path: String { mapping.path }
    public var fileSize: Int { mapping.size }

    /// Opens and validates `path`. Throws `GGUFError` for anything malformed.
    public convenience init(path: String) throws(GGUFError) {
        try self.init(mapping: MappedFile(path: path))
    }

    public init(mapping: MappedFile) throws(GGUFError) {
        self.mapping = mapping
        var r = ByteReader(bytes: mapping.bytes)
        let magic = try r.read(UInt32.self)
        guard magic == Self.magic else { throw .badMagic(found: magic) }
        version = try r.read(UInt32.self)
        guard version == 2 || version == 3 else { throw .unsupportedVersion(version) }

        // Minimum encoded sizes bound the counts before anything is allocated.
        let tensorCount = try r.readCount("tensor", minElementSize: 8 + 4 + 4 + 8)
        let kvCount = try r.readCount("metadata key-value", minElementSize: 8 + 4 + 1)

        var metadata: [(key: String, value: GGUFValue)] = []
        metadata.reserveCapacity(kvCount)
        var metadataIndex: [String: Int] = [:]
        for _ in 0 ..< kvCount {
            let key = try r.readString()
            let type = try r.read(UInt32.self)
            let value = try Self.readValue(type: type, &r)
            guard metadataIndex[key] == nil else { throw .duplicateKey(key) }
            metadataIndex[key] = metadata.count
            metadata.append((key, value))
        }

        var alignment = Self.defaultAlignment
        if let i = metadataIndex[GGUFKey.alignment] {
            guard let a = metadata[i].value.intValue, a > 0, a & (a - 1) == 0, a <= 1 << 20 else {
                throw .badAlignment(UInt64(clamping: metadata[i].value.intValue ?? 0))
            }
            alignment = a
        }

        var rawInfos: [(name: String, dims: [Int], type: GGMLType, offset: UInt64, elements: Int, bytes: Int)] = []
        rawInfos.reserveCapacity(tensorCount)
        var tensorIndex: [String: Int] = [:]
        for _ in 0 ..< tensorCount {
            let name = try r.readString()
            let nDims = try r.read(UInt32.self)
            guard nDims <= 4 else { throw .badTensorShape(tensor: name, dimensions: []) }
            var rawDims: [UInt64] = []
            for _ in 0 ..< nDims { rawDims.append(try r.read(UInt64.self)) }
            let typeID = try r.read(UInt32.self)
            let offset = try r.read(UInt64.self)
            guard let type = GGMLType(rawValue: typeID) else { throw .unknownTensorType(tensor: name, type: typeID) }
            var elements = 1
            var dims: [Int] = []
            for d in rawDims {
                guard d <= UInt64(Int64.max) else { throw .badTensorShape(tensor: name, dimensions: rawDims) }
                let (p, o) = elements.multipliedReportingOverflow(by: Int(d))
                guard !o else { throw .badTensorShape(tensor: name, dimensions: rawDims) }
                elements = p
                dims.append(Int(d))
            }
            // Blocks run along the innermost axis, so it must hold whole blocks.
            guard (dims.first ?? 1) % type.blockSize == 0, let bytes = type.byteCount(elements: elements) else {
                throw .badTensorShape(tensor: name, dimensions: rawDims)
            }
            guard tensorIndex[name] == nil else { throw .duplicateTensor(name) }
            tensorIndex[name] = rawInfos.count
            rawInfos.append((name, dims, type, offset, elements, bytes))
        }

        // The data section starts at the next multiple of the alignment after the header.
        let headerEnd = r.offset
        let (padded, o) = headerEnd.addingReportingOverflow(alignment - 1)
        guard !o else { throw .truncated(offset: headerEnd, needed: alignment, fileSize: mapping.size) }
        let dataOffset = padded / alignment * alignment
        let available = UInt64(max(mapping.size - dataOffset, 0))
        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(rawInfos.count)
        for t in rawInfos {
            guard t.offset % UInt64(alignment) == 0 else {
                throw .misalignedTensor(tensor: t.name, offset: t.offset, alignment: alignment)
            }
            guard t.offset <= available, UInt64(t.bytes) <= available - t.offset else {
                throw .tensorOutOfBounds(tensor: t.name, offset: t.offset, size: UInt64(t.bytes), available: available)
            }
            tensors.append(GGUFTensorInfo(name: t.name, dimensions: t.dims, type: t.type, offset: Int(t.offset),
                                          elementCount: t.elements, byteCount: t.bytes))
        }
        if tensors.isEmpty == false, dataOffset > mapping.size {
            throw .truncated(offset: headerEnd, needed: dataOffset - headerEnd, fileSize: mapping.size)
        }

        self.metadata = metadata
        self.metadataIndex = metadataIndex
        self.tensors = tensors
        self.tensorIndex = tensorIndex
        self.alignment = alignment
        self.dataOffset = dataOffset
    }

    private static func readValue(type: UInt32, _ r: inout ByteReader) throws(GGUFError) -> GGUFValue {
        switch type {
        case 0: return .uint8(try r.read(UInt8.self))
        case 1: return .int8(try r.read(Int8.self))
        case 2: return .uint16(try r.read(UInt16.self))
        case 3: return .int16(try r.read(Int16.self))
        case 4: return .uint32(try r.read(UInt32.self))
        case 5: return .int32(try r.read(Int32.self))
        case 6: return .float32(try r.readFloat())
        case 7:
            let b = try r.read(UInt8.self)
            return .bool(b != 0)
        case 8: return .string(try r.readString())
        case 9: return .array(try readArray(&r, depth: 0))
        case 10: return .uint64(try r.read(UInt64.self))
        case 11: return .int64(try r.read(Int64.self))
        case 12: return .float64(try r.readDouble())
        default: throw .unknownValueType(type, offset: r.offset - 4)
        }
    }

    private static let scalarSizes: [UInt32: Int] = [0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8]

    private static func readArray(_ r: inout ByteReader, depth: Int) throws(GGUFError) -> GGUFArray {
        let typeOffset = r.offset
        let type = try r.read(UInt32.self)
        // Nesting deeper than this is certainly corrupt and would otherwise recurse without bound.
        guard depth < 16 else { throw .unknownValueType(type, offset: typeOffset) }
        switch type {
        case 8:
            let n = try r.readCount("string array element", minElementSize: 8)
            var out: [String] = []
            out.reserveCapacity(n)
            for _ in 0 ..< n { out.append(try r.readString()) }
            return .strings(out)
        case 9:
            let n = try r.readCount("nested array element", minElementSize: 12)
            var out: [GGUFArray] = []
            out.reserveCapacity(n)
            for _ in 0 ..< n { out.append(try readArray(&r, depth: depth + 1)) }
            return .arrays(out)
        case 7:
            let n = try r.readCount("bool array element", minElementSize: 1)
            let out = (0 ..< n).map { r.bytes[r.offset + $0] != 0 }
            r.offset += n
            return .bools(out)
        case 6, 12:
            let size = scalarSizes[type]!
            let n = try r.readCount("float array element", minElementSize: size)
            var out: [Double] = []
            out.reserveCapacity(n)
            for _ in 0 ..< n { out.append(type == 6 ? Double(try r.readFloat()) : try r.readDouble()) }
            return .floats(out, type: type)
        case 10:
            let n = try r.readCount("integer array element", minElementSize: 8)
            var out: [UInt64] = []
            out.reserveCapacity(n)
            for _ in 0 ..< n { out.append(try r.read(UInt64.self)) }
            return .unsigned64(out)
        case 0, 1, 2, 3, 4, 5, 11:
            let size = scalarSizes[type]!
            let n = try r.readCount("integer array element", minElementSize: size)
            var out: [Int64] = []
            out.reserveCapacity(n)
            for _ in 0 ..< n {
                switch type {
                case 0: out.append(Int64(try r.read(UInt8.self)))
                case 1: out.append(Int64(try r.read(Int8.self)))
                case 2: out.append(Int64(try r.read(UInt16.self)))
                case 3: out.append(Int64(try r.read(Int16.self)))
                case 4: out.append(Int64(try r.read(UInt32.self)))
                case 5: out.append(Int64(try r.read(Int32.self)))
                default: out.append(try r.read(Int64.self))
                }
            }
            return .integers(out, type: type)
        default:
            throw .unknownValueType(type, offset: typeOffset)
        }
    }

    // MARK: - Metadata access

    public subscript(key: String) -> GGUFValue? {
        metadataIndex[key].map { metadata[$0].value }
    }

    public func string(_ key: String) -> String? { self[key]?.stringValue }
    public func int(_ key: String) -> Int? { self[key]?.intValue }
    public func double(_ key: String) -> Double? { self[key]?.doubleValue }
    public func float(_ key: String) -> Float? { self[key]?.doubleValue.map(Float.init) }
    public func bool(_ key: String) -> Bool? { self[key]?.boolValue }
    public func array(_ key: String) -> GGUFArray? { self[key]?.arrayValue }

    public func requireString(_ key: String) throws(GGUFError) -> String {
        guard let v = self[key] else { throw .missingKey(key) }
        guard let s = v.stringValue else { throw .wrongValueType(key: key, expected: "a string") }
        return s
    }

    public func requireInt(_ key: String) throws(GGUFError) -> Int {
        guard let v = self[key] else { throw .missingKey(key) }
        guard let i = v.intValue else { throw .wrongValueType(key: key, expected: "an integer") }
        return i
    }

    /// `general.architecture`, the key that selects the model implementation.
    public var architecture: String? { string(GGUFKey.architecture) }

    // MARK: - Tensors

    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    public func requireTensor(_ name: String) throws(GGUFError) -> GGUFTensorInfo {
        guard let t = tensor(named: name) else { throw .missingTensor(name) }
        return t
    }

    /// The tensor's bytes inside the mapping (bounds were checked at open).
    public func data(for tensor: GGUFTensorInfo) -> UnsafeRawPointer {
        mapping.base + dataOffset + tensor.offset
    }

    /// Total element count over all tensors: the model's exact parameter count.
    /// Saturates rather than trapping: a crafted file can declare many overlapping huge tensors.
    public var parameterCount: Int {
        tensors.reduce(0) { sum, t in
            let (total, overflow) = sum.addingReportingOverflow(t.elementCount)
            return overflow ? .max : total
        }
    }
}

extension GGUFArray {
    /// Elements as `Int`s for any integer-typed array.
    public var ints: [Int]? {
        switch self {
        case let .integers(v, _): return v.map { Int($0) }
        case let .unsigned64(v): return v.map { Int(clamping: $0) }
        case let .bools(v): return v.map { $0 ? 1 : 0 }
        default: return nil
        }
    }

    public var floats: [Float]? {
        switch self {
        case let .floats(v, _): return v.map { Float($0) }
        case let .integers(v, _): return v.map { Float($0) }
        default: return nil
        }
    }

    public var strings: [String]? {
        if case let .strings(v) = self { return v }
        return nil
    }
}

extension GGUFFile {
    /// Parses GGUF bytes held in memory (a copy is made), e.g. a download being checked before it is
    /// stored. `name` stands in for the path in error messages.
    public convenience init(copying bytes: some Collection<UInt8>, name: String = "<memory>") throws(GGUFError) {
        try self.init(mapping: MappedFile(copying: bytes, name: name))
    }
}
