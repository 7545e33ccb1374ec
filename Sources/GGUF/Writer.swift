import Foundation

/// Little-endian GGUF encoding into a byte array: scalars, strings, metadata values and arrays,
/// exactly as ``GGUFFile`` reads them. ``GGUFStreamWriter`` builds headers with it; tests use it to
/// hand-craft (possibly broken) files.
public struct GGUFEncoder: Sendable {
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

    public mutating func append(string: String) {
        append(UInt64(string.utf8.count))
        bytes.append(contentsOf: string.utf8)
    }

    public mutating func append(raw: [UInt8]) { bytes.append(contentsOf: raw) }

    /// Zero bytes up to the next multiple of `alignment`.
    public mutating func pad(to alignment: Int) {
        let rem = bytes.count % alignment
        if rem != 0 { bytes.append(contentsOf: repeatElement(0, count: alignment - rem)) }
    }

    /// One metadata entry: key, value type id, value.
    public mutating func append(key: String, value: GGUFValue) {
        append(string: key)
        append(Self.typeID(value))
        append(value: value)
    }

    /// A metadata value without its type id (see ``typeID(_:)``).
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
        append(Self.elementTypeID(array))
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

    /// The type id of an array's elements.
    public static func elementTypeID(_ array: GGUFArray) -> UInt32 {
        switch array {
        case let .integers(_, type), let .floats(_, type): return type
        case .unsigned64: return 10
        case .bools: return 7
        case .strings: return 8
        case .arrays: return 9
        }
    }
}

/// Writes a GGUF v3 file with the tensor data streamed in, so a converter never holds more than one
/// tensor (or one chunk of it) in memory.
///
/// The header (metadata and every tensor's name, shape, type and offset) is written at `init`, since
/// sizes follow from shapes and types. Then the caller hands over each tensor's bytes in header order
/// through ``write(_:)``, in as many pieces as it likes; padding to the alignment goes in between.
/// ``finish()`` checks that every byte arrived and syncs the file. Not thread-safe: one owner.
public final class GGUFStreamWriter {
    /// One tensor of the file, in ggml order (`dimensions[0]` is the contiguous axis).
    public struct Tensor: Sendable, Equatable {
        public var name: String
        public var dimensions: [Int]
        public var type: GGMLType

        public init(name: String, dimensions: [Int], type: GGMLType) {
            self.name = name
            self.dimensions = dimensions
            self.type = type
        }

        /// Encoded size; nil when the contiguous axis is not a whole number of blocks.
        public var byteCount: Int? {
            guard let first = dimensions.first, first % type.blockSize == 0 else { return dimensions.isEmpty ? type.typeSize : nil }
            return type.byteCount(elements: dimensions.reduce(1, *))
        }
    }

    public let path: String
    public let tensors: [Tensor]
    public let alignment: Int
    /// Bytes handed to the file so far (header, padding and data).
    public private(set) var bytesWritten: Int64 = 0

    private var fd: Int32
    private let sizes: [Int]
    private var current = 0
    private var writtenInCurrent = 0
    private var buffer: [UInt8] = []
    private static let bufferLimit = 4 << 20

    /// Creates (truncates) `path` and writes the header.
    ///
    /// - Parameter alignment: data alignment; written as `general.alignment` only when it is not the
    ///   default 32, as llama.cpp does.
    public init(path: String, metadata: [(key: String, value: GGUFValue)], tensors: [Tensor],
                alignment: Int = GGUFFile.defaultAlignment) throws(GGUFError) {
        var seenKeys = Set<String>(), seenTensors = Set<String>()
        for (key, _) in metadata where !seenKeys.insert(key).inserted { throw .duplicateKey(key) }
        var sizes: [Int] = []
        for t in tensors {
            guard seenTensors.insert(t.name).inserted else { throw .duplicateTensor(t.name) }
            guard let size = t.byteCount else { throw .badTensorShape(tensor: t.name, dimensions: t.dimensions.map { UInt64($0) }) }
            sizes.append(size)
        }
        guard alignment > 0, alignment & (alignment - 1) == 0 else { throw .badAlignment(UInt64(alignment)) }
        self.path = path
        self.tensors = tensors
        self.alignment = alignment
        self.sizes = sizes
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw .cannotWrite(path: path, reason: String(cString: strerror(errno))) }

        var header = GGUFEncoder()
        header.append(GGUFFile.magic)
        header.append(UInt32(3))
        header.append(UInt64(tensors.count))
        let writesAlignment = alignment != GGUFFile.defaultAlignment && !seenKeys.contains(GGUFKey.alignment)
        header.append(UInt64(metadata.count + (writesAlignment ? 1 : 0)))
        for (key, value) in metadata { header.append(key: key, value: value) }
        if writesAlignment { header.append(key: GGUFKey.alignment, value: .uint32(UInt32(alignment))) }
        var offset = 0
        for (t, size) in zip(tensors, sizes) {
            header.append(string: t.name)
            header.append(UInt32(t.dimensions.count))
            for d in t.dimensions { header.append(UInt64(d)) }
            header.append(t.type.rawValue)
            header.append(UInt64(offset))
            offset = (offset + size + alignment - 1) / alignment * alignment
        }
        header.pad(to: alignment)
        buffer = header.bytes
        try flushIfNeeded(force: true)
    }

    deinit { if fd >= 0 { close(fd) } }

    /// The tensor the next ``write(_:)`` call feeds, or nil once all are complete.
    public var nextTensor: Tensor? { current < tensors.count ? tensors[current] : nil }

    /// Appends bytes to the current tensor; a chunk may not run past the tensor's end.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(GGUFError) {
        guard current < tensors.count else { throw .writerMisuse("data written after the last tensor") }
        let remaining = sizes[current] - writtenInCurrent
        guard bytes.count <= remaining else {
            throw .writerMisuse("tensor '\(tensors[current].name)' got \(writtenInCurrent + bytes.count) bytes, its shape and type make \(sizes[current])")
        }
        buffer.append(contentsOf: bytes)
        writtenInCurrent += bytes.count
        if writtenInCurrent == sizes[current] {
            current += 1
            writtenInCurrent = 0
            // Pad to the next tensor's aligned offset (none after the last).
            if current < tensors.count {
                let rem = sizes[current - 1] % alignment
                if rem != 0 { buffer.append(contentsOf: repeatElement(0, count: alignment - rem)) }
            }
        }
        try flushIfNeeded(force: false)
    }

    public func write(_ bytes: [UInt8]) throws(GGUFError) {
        // withUnsafeBytes rethrows untyped errors: carry the typed one out in a Result.
        let result: Result<Void, GGUFError> = bytes.withUnsafeBytes { raw in
            do throws(GGUFError) { try write(raw); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }

    /// Checks every tensor is complete, flushes, fsyncs and closes the file.
    public func finish() throws(GGUFError) {
        guard current == tensors.count else {
            throw .writerMisuse("finished with tensor '\(tensors[current].name)' incomplete (\(writtenInCurrent) of \(sizes[current]) bytes)")
        }
        try flushIfNeeded(force: true)
        guard fsync(fd) == 0 else { throw .cannotWrite(path: path, reason: String(cString: strerror(errno))) }
        let status = close(fd)
        fd = -1
        guard status == 0 else { throw .cannotWrite(path: path, reason: String(cString: strerror(errno))) }
    }

    private func flushIfNeeded(force: Bool) throws(GGUFError) {
        guard force || buffer.count >= Self.bufferLimit, !buffer.isEmpty else { return }
        let failure: String? = buffer.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
                done += n
            }
            return nil
        }
        if let failure { throw .cannotWrite(path: path, reason: failure) }
        bytesWritten += Int64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }
}
