/// Everything that can be wrong with a GGUF file. Messages name the offending thing and the file
/// offset where it helps, so a user can tell a truncated download from a foreign file.
public enum GGUFError: Error, Equatable, Sendable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case emptyFile(path: String)
    case badMagic(found: UInt32)
    case unsupportedVersion(UInt32)
    case truncated(offset: Int, needed: Int, fileSize: Int)
    case countTooLarge(what: String, count: UInt64)
    case invalidUTF8(offset: Int)
    case unknownValueType(UInt32, offset: Int)
    case duplicateKey(String)
    case duplicateTensor(String)
    case badAlignment(UInt64)
    case unknownTensorType(tensor: String, type: UInt32)
    case badTensorShape(tensor: String, dimensions: [UInt64])
    case tensorOutOfBounds(tensor: String, offset: UInt64, size: UInt64, available: UInt64)
    case misalignedTensor(tensor: String, offset: UInt64, alignment: Int)
    case missingKey(String)
    case wrongValueType(key: String, expected: String)
    case missingTensor(String)
    case unsupportedTensorType(tensor: String, type: GGMLType)
    /// Writing a GGUF file failed (disk full, permissions).
    case cannotWrite(path: String, reason: String)
    /// A writer was fed data that does not match the header it wrote (a bug in the caller).
    case writerMisuse(String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "cannot open \(printable(path)): \(reason)"
        case let .emptyFile(path): return "\(printable(path)) is empty: not a GGUF model file"
        case let .badMagic(found):
            let hex = String(found, radix: 16, uppercase: true)
            return "not a GGUF file (magic 0x\(String(repeating: "0", count: max(0, 8 - hex.count)) + hex), expected 0x46554747 'GGUF')"
        case let .unsupportedVersion(v):
            if v.byteSwapped == 2 || v.byteSwapped == 3 {
                return "big-endian GGUF file (version \(v.byteSwapped)): SwiftLM reads little-endian GGUF files only"
            }
            return "unsupported GGUF version \(v) (this reader supports versions 2 and 3)"
        case let .truncated(offset, needed, size):
            return "GGUF file is truncated: needed \(needed) bytes at offset \(offset) but the file has \(size) bytes (incomplete download?)"
        case let .countTooLarge(what, count):
            return "GGUF file is truncated or corrupt: \(what) count \(count) is more than the rest of the file could hold (incomplete download?)"
        case let .invalidUTF8(offset): return "corrupt GGUF file: string at offset \(offset) is not valid UTF-8"
        case let .unknownValueType(t, offset): return "corrupt GGUF file: unknown metadata value type \(t) at offset \(offset)"
        case let .duplicateKey(k): return "corrupt GGUF file: metadata key '\(printable(k))' appears twice"
        case let .duplicateTensor(n): return "corrupt GGUF file: tensor '\(printable(n))' appears twice"
        case let .badAlignment(a): return "corrupt GGUF file: general.alignment \(a) is not a power of two"
        case let .unknownTensorType(n, t): return "corrupt GGUF file: tensor '\(printable(n))' has unknown ggml type id \(t)"
        case let .badTensorShape(n, dims): return "corrupt GGUF file: tensor '\(printable(n))' has invalid shape \(dims)"
        case let .tensorOutOfBounds(n, off, size, avail):
            return "GGUF tensor '\(printable(n))' (\(size) bytes at data offset \(off)) extends beyond the end of the file (\(avail) bytes of tensor data): truncated file?"
        case let .misalignedTensor(n, off, a): return "corrupt GGUF file: tensor '\(printable(n))' data offset \(off) is not a multiple of the alignment \(a)"
        case let .missingKey(k): return "GGUF metadata key '\(printable(k))' is missing"
        case let .wrongValueType(k, expected): return "GGUF metadata key '\(printable(k))' is not \(expected)"
        case let .missingTensor(n): return "GGUF tensor '\(printable(n))' is missing"
        case let .unsupportedTensorType(n, t): return "tensor '\(printable(n))' has type \(t.name), which SwiftLM cannot compute yet"
        case let .cannotWrite(path, reason): return "cannot write \(printable(path)): \(reason)"
        case let .writerMisuse(detail): return "internal error writing a GGUF file: \(detail)"
        }
    }
}

/// Names in messages come from the file itself, so a corrupt file could smuggle in newlines,
/// terminal escapes or megabytes of text: escape control characters and cap the length so every
/// message stays one readable line.
func printable(_ s: String, limit: Int = 120) -> String {
    var out = ""
    for scalar in s.unicodeScalars.prefix(limit) {
        if scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}" {
            out += scalar.escaped(asASCII: true)
        } else {
            out.unicodeScalars.append(scalar)
        }
    }
    return s.unicodeScalars.count > limit ? out + "..." : out
}
