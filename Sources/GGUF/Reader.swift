#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A bounds-checked little-endian cursor over the mapped bytes. Every read checks the remaining
/// length first, so a corrupt or truncated file becomes a `GGUFError`, never an out-of-bounds read.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var offset: Int = 0

    var remaining: Int { bytes.count - offset }

    mutating func need(_ n: Int) throws(GGUFError) {
        guard n >= 0, n <= remaining else { throw .truncated(offset: offset, needed: n, fileSize: bytes.count) }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type) throws(GGUFError) -> T {
        try need(MemoryLayout<T>.size)
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    mutating func readFloat() throws(GGUFError) -> Float { Float(bitPattern: try read(UInt32.self)) }
    mutating func readDouble() throws(GGUFError) -> Double { Double(bitPattern: try read(UInt64.self)) }

    /// A count that must fit in what is left of the file given each element's minimum size.
    mutating func readCount(_ what: String, minElementSize: Int) throws(GGUFError) -> Int {
        let raw = try read(UInt64.self)
        guard raw <= UInt64(remaining / max(minElementSize, 1)) else { throw .countTooLarge(what: what, count: raw) }
        return Int(raw)
    }

    mutating func readString() throws(GGUFError) -> String {
        let start = offset
        let len = try read(UInt64.self)
        guard len <= UInt64(remaining) else { throw .truncated(offset: offset, needed: Int(clamping: len), fileSize: bytes.count) }
        let n = Int(len)
        guard n > 0 else { return "" }
        let utf8 = UnsafeBufferPointer(start: (bytes.baseAddress! + offset).assumingMemoryBound(to: UInt8.self), count: n)
        // `String(validating:as:)` goes through an unspecialized generic path that instantiates type
        // metadata per call (15% of opening a 262k-token vocabulary). Decoding takes the stdlib's
        // specialized UTF-8 path instead; it repairs invalid input, and any repair changes the bytes,
        // so byte-equality with the input is exactly "the input was valid UTF-8".
        var s = String(decoding: utf8, as: UTF8.self)
        let valid = s.utf8.count == n && s.withUTF8 { memcmp($0.baseAddress!, utf8.baseAddress!, n) == 0 }
        guard valid else { throw .invalidUTF8(offset: start) }
        offset += n
        return s
    }
}
