import Foundation
import GGUF
import TestSupport

/// A starting file for mutation, with the offsets of its u64 length / count fields so mutations can
/// corrupt exactly the fields a reader must distrust.
struct FuzzSeed {
    var bytes: [UInt8]
    var lengthFields: [Int]
    var isFullHeader: Bool

    /// Two seeds per real model: its first bytes as they are (header plus a little tensor data), and a
    /// compact rewrite with every key and tensor info but arrays cut to 256 entries.
    static func fromRealModel(path: String) throws -> [FuzzSeed] {
        let file = try GGUFFile(path: path)
        let prefix = min(file.fileSize, file.dataOffset + 4096)
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let head = [UInt8](try handle.read(upToCount: prefix) ?? Data())
        let full = FuzzSeed(bytes: head, lengthFields: [8, 16, 24], isFullHeader: true)

        var writer = GGUFWriter(version: file.version)
        writer.metadata = file.metadata.map { ($0.key, trimmed($0.value)) }
        writer.tensors = file.tensors.map {
            .init(name: $0.name, dimensions: $0.dimensions, type: $0.type, offset: UInt64($0.offset))
        }
        return [full, layoutSeed(writer, isFullHeader: false)]
    }

    /// Small valid files (v2 and v3, with tensor data) so mutations also reach the success path.
    static func synthetic() -> [FuzzSeed] {
        let metadata: [(key: String, value: GGUFValue)] = [
            (GGUFKey.architecture, .string("llama")), ("llama.block_count", .uint32(1)),
            (GGUFKey.tokens, .array(.strings(["<s>", "</s>", "a", "b"]))),
            (GGUFKey.scores, .array(.floats([0, 0, -1, -2], type: 6))),
            ("nested", .array(.arrays([.integers([1, 2], type: 5), .strings(["x"])]))),
        ]
        let tensors: [GGUFWriter.Tensor] = [
            .init(name: "token_embd.weight", dimensions: [32, 4], type: .q8_0),
            .init(name: "output_norm.weight", dimensions: [32], type: .f32),
            .init(name: "blk.0.ffn_down.weight", dimensions: [256, 1], type: .q4_K),
        ]
        return [
            layoutSeed(GGUFWriter(version: 3, metadata: metadata, tensors: tensors), isFullHeader: false),
            layoutSeed(GGUFWriter(version: 2, metadata: metadata + [(GGUFKey.alignment, .uint32(64))], tensors: tensors),
                       isFullHeader: false),
        ]
    }

    static func layoutSeed(_ writer: GGUFWriter, isFullHeader: Bool) -> FuzzSeed {
        let (bytes, layout) = writer.build()
        // Count fields, every key / tensor-name length, and each tensor's offset field.
        var fields = [8, 16] + layout.metadataOffsets + layout.tensorInfoOffsets
        for (i, t) in writer.tensors.enumerated() {
            fields.append(layout.tensorInfoOffsets[i] + 8 + t.name.utf8.count + 4 + 8 * t.dimensions.count + 4)
        }
        return FuzzSeed(bytes: bytes, lengthFields: fields, isFullHeader: isFullHeader)
    }

    static func trimmed(_ value: GGUFValue) -> GGUFValue {
        guard case let .array(a) = value else { return value }
        return .array(trimmed(a))
    }

    static func trimmed(_ a: GGUFArray, limit: Int = 256) -> GGUFArray {
        switch a {
        case let .integers(v, t): return .integers(Array(v.prefix(limit)), type: t)
        case let .unsigned64(v): return .unsigned64(Array(v.prefix(limit)))
        case let .floats(v, t): return .floats(Array(v.prefix(limit)), type: t)
        case let .bools(v): return .bools(Array(v.prefix(limit)))
        case let .strings(v): return .strings(Array(v.prefix(limit)))
        case let .arrays(v): return .arrays(v.prefix(limit).map { trimmed($0, limit: limit) })
        }
    }
}

/// Byte-level mutations: bit flips, interesting bytes, corrupted length fields, truncation,
/// deletions, insertions and chunk copies. One to four per case.
enum Mutator {
    static let interesting64: [UInt64] = [
        0, 1, 2, 3, 4, 7, 8, 9, 12, 13, 16, 31, 32, 33, 64, 255, 256, 4096, 0x7FFF, 0xFFFF, 0x7FFF_FFFF,
        0xFFFF_FFFF, 1 << 32, 1 << 40, 1 << 56, 1 << 62, 1 << 63, UInt64.max, UInt64.max - 1, UInt64(Int64.max),
    ]
    static let interesting32: [UInt32] = Array(0 ... 13) + [24, 28, 30, 39, 41, 42, 99, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF]
    static let interesting8: [UInt8] = [0, 1, 0x7F, 0x80, 0xC0, 0xC3, 0xED, 0xF4, 0xFE, 0xFF]

    static func mutate(_ seed: FuzzSeed, using rng: inout SplitMix64) -> [UInt8] {
        var b = seed.bytes
        for _ in 0 ..< Int.random(in: 1 ... 4, using: &rng) {
            guard !b.isEmpty else { break }
            // Half the positions land near a length field, where parsers go wrong.
            let position: Int = if Bool.random(using: &rng), let f = seed.lengthFields.randomElement(using: &rng) {
                min(max(f + Int.random(in: -4 ... 12, using: &rng), 0), b.count - 1)
            } else {
                Int.random(in: 0 ..< b.count, using: &rng)
            }
            switch Int.random(in: 0 ..< 9, using: &rng) {
            case 0, 1:
                b[position] ^= 1 << UInt8.random(in: 0 ..< 8, using: &rng)
            case 2:
                b[position] = interesting8.randomElement(using: &rng)!
            case 3, 4:
                let f = seed.lengthFields.randomElement(using: &rng) ?? position
                var v = interesting64.randomElement(using: &rng)!
                // Or "exactly what is left", give or take: the off-by-one lengths.
                if Bool.random(using: &rng) { v = UInt64(bitPattern: Int64(b.count - min(f, b.count) + Int.random(in: -8 ... 8, using: &rng))) }
                write(v, at: f, into: &b)
            case 5:
                write(interesting32.randomElement(using: &rng)!, at: position, into: &b)
            case 6:
                b.removeSubrange(position...)
            case 7:
                let n = Int.random(in: 1 ... 16, using: &rng)
                if Bool.random(using: &rng) {
                    b.removeSubrange(position ..< min(position + n, b.count))
                } else {
                    b.insert(contentsOf: (0 ..< n).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }, at: position)
                }
            default:
                let n = Int.random(in: 1 ... 64, using: &rng)
                let from = Int.random(in: 0 ..< b.count, using: &rng)
                let chunk = Array(b[from ..< min(from + n, b.count)])
                let to = min(position, b.count - chunk.count)
                b.replaceSubrange(to ..< to + chunk.count, with: chunk)
            }
        }
        return b
    }

    static func write<T: FixedWidthInteger>(_ value: T, at offset: Int, into b: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            for (i, byte) in raw.enumerated() where offset + i < b.count { b[offset + i] = byte }
        }
    }
}
