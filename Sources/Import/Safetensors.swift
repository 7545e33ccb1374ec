import Foundation
import GGUF

/// One tensor of a safetensors file, used in place from the file's memory map.
///
/// The format (huggingface/safetensors): u64 little-endian header length N, N bytes of JSON mapping
/// each name to `{dtype, shape, data_offsets: [begin, end]}` relative to the end of the header, then
/// the raw row-major data. `shape` is outermost-first (PyTorch order), the reverse of ggml's.
struct SafetensorsTensor {
    let name: String
    let dtype: String
    /// PyTorch order: `shape.last` is the contiguous axis.
    let shape: [Int]
    let file: MappedFile
    /// Absolute offset of the data in `file`.
    let offset: Int
    let byteCount: Int

    var elementCount: Int { shape.reduce(1, *) }

    /// The ggml type the raw data already is, for the float dtypes the converter reads.
    var sourceType: GGMLType? {
        switch dtype {
        case "F32": return .f32
        case "F16": return .f16
        case "BF16": return .bf16
        default: return nil
        }
    }

    var data: UnsafeRawPointer { file.base + offset }
}

/// All tensors of a model folder: `model.safetensors`, or the shards `model.safetensors.index.json`
/// lists, or every `*.safetensors` file at the top level. Files are mapped, never read whole, so a
/// conversion touches one tensor's pages at a time.
struct SafetensorsIndex {
    /// In file order, shard by shard, so reading them in order streams through each file.
    let tensors: [SafetensorsTensor]
    let byName: [String: Int]

    subscript(name: String) -> SafetensorsTensor? { byName[name].map { tensors[$0] } }

    init(directory: String) throws(ImportError) {
        let files = try Self.shardFiles(directory)
        var tensors: [SafetensorsTensor] = []
        var byName: [String: Int] = [:]
        for path in files {
            for tensor in try Self.read(path) {
                guard byName[tensor.name] == nil else {
                    throw .badSafetensors(path: path, reason: "tensor '\(tensor.name)' also appears in another shard")
                }
                byName[tensor.name] = tensors.count
                tensors.append(tensor)
            }
        }
        self.tensors = tensors
        self.byName = byName
    }

    static func shardFiles(_ directory: String) throws(ImportError) -> [String] {
        let index = directory + "/model.safetensors.index.json"
        if let json = try JSONFile.optional(index) {
            guard let map = json["weight_map"] as? [String: String] else {
                throw .badJSON(path: index, reason: "no 'weight_map' object")
            }
            // Shard names come from the file: keep them inside the folder.
            let names = Set(map.values)
            for name in names where name.contains("/") || name.hasPrefix(".") {
                throw .badJSON(path: index, reason: "shard name '\(name)' is not a file in the folder")
            }
            return names.sorted().map { directory + "/" + $0 }
        }
        let single = directory + "/model.safetensors"
        if FileManager.default.fileExists(atPath: single) { return [single] }
        let all = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".safetensors") }.sorted()
        guard !all.isEmpty else {
            throw .missingFile(path: single, hint: "no *.safetensors weights in the folder (only safetensors are read, not PyTorch .bin files)")
        }
        return all.map { directory + "/" + $0 }
    }

    static let elementSizes = ["F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
                               "F8_E4M3": 1, "F8_E5M2": 1]

    /// Parses one file's header and checks every tensor's extent against the file.
    static func read(_ path: String) throws(ImportError) -> [SafetensorsTensor] {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw .gguf(error) }
        guard file.size >= 8 else { throw .badSafetensors(path: path, reason: "shorter than its 8-byte header length") }
        let headerLength = Int(clamping: file.base.loadUnaligned(as: UInt64.self).littleEndian)
        guard headerLength <= file.size - 8 else {
            throw .badSafetensors(path: path, reason: "header length \(headerLength) exceeds the file size \(file.size)")
        }
        let header = Data(bytes: file.base + 8, count: headerLength)
        let object: [String: Any]
        do {
            guard let o = try JSONSerialization.jsonObject(with: header) as? [String: Any] else {
                throw ImportError.badSafetensors(path: path, reason: "header is not a JSON object")
            }
            object = o
        } catch let error as ImportError {
            throw error
        } catch {
            throw .badSafetensors(path: path, reason: "header JSON: \(error.localizedDescription)")
        }
        let dataStart = 8 + headerLength
        var tensors: [SafetensorsTensor] = []
        for (name, value) in object where name != "__metadata__" {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = (info["shape"] as? [Any])?.compactMap({ JSONFile.int($0) }),
                  let range = (info["data_offsets"] as? [Any])?.compactMap({ JSONFile.int($0) }), range.count == 2 else {
                throw .badSafetensors(path: path, reason: "entry '\(name)' lacks dtype, shape or data_offsets")
            }
            guard shape.allSatisfy({ $0 >= 0 }), let size = elementSizes[dtype] else {
                throw .badSafetensors(path: path, reason: "entry '\(name)' has dtype \(dtype) or shape \(shape) that cannot be read")
            }
            let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
            guard count < Int.max / 8, range[0] >= 0, range[1] - range[0] == count * size,
                  dataStart + range[1] <= file.size else {
                throw .badSafetensors(path: path, reason: "entry '\(name)' (\(dtype) \(shape)) has data_offsets \(range) that do not fit its shape or the file")
            }
            tensors.append(SafetensorsTensor(name: name, dtype: dtype, shape: shape, file: file,
                                             offset: dataStart + range[0], byteCount: count * size))
        }
        return tensors.sorted { $0.offset < $1.offset }
    }
}
