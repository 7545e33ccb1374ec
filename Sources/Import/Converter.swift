import Foundation
import GGUF
import Kernels

/// What `swiftlm create` writes: the weight type, with llama.cpp's exceptions (norms, biases and
/// position / token-type embeddings stay F32; rows that do not fit the type's blocks fall back).
public enum WeightType: String, Sendable, CaseIterable {
    case f32, f16, bf16, q8_0, q4_0, q4_K

    /// Parses `--quantize` values case-insensitively (`Q4_K`, `q4_k`).
    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else { return nil }
        self = match
    }

    public var ggmlType: GGMLType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q8_0: return .q8_0
        case .q4_0: return .q4_0
        case .q4_K: return .q4_K
        }
    }

    /// `general.file_type` (llama.cpp's `llama_ftype`): ALL_F32 0, MOSTLY_F16 1, Q4_0 2, Q8_0 7,
    /// Q4_K_S 14 (every weight Q4_K, like llama-quantize --pure), BF16 32.
    public var fileType: Int {
        switch self {
        case .f32: return 0
        case .f16: return 1
        case .bf16: return 32
        case .q8_0: return 7
        case .q4_0: return 2
        case .q4_K: return 14
        }
    }

    /// The type a weight with rows of `columns` elements gets: llama-quantize falls back from Q4_K to
    /// Q5_0 when rows are not whole 256-element super-blocks, and anything to F16 when not even
    /// 32-element blocks fit.
    func type(forColumns columns: Int) -> GGMLType {
        let wanted = ggmlType
        if columns % wanted.blockSize == 0 { return wanted }
        if wanted == .q4_K, columns % 32 == 0 { return .q5_0 }
        return .f16
    }
}

/// Progress of a conversion, reported after each chunk written.
public struct ConversionProgress: Sendable {
    public var tensorIndex: Int
    public var tensorCount: Int
    public var tensorName: String
    /// Bytes of tensor data written so far and in all (the header is not counted).
    public var completed: Int64
    public var total: Int64
}

/// Settings of one conversion beyond the folder: the name in `general.name`, the weight type and
/// Modelfile overrides.
public struct ConversionOptions: Sendable {
    public var name: String?
    public var outputType: WeightType
    /// Replaces the folder's chat template (a Modelfile's TEMPLATE).
    public var chatTemplate: String?
    /// Extra `swiftlm.*` metadata (a Modelfile's SYSTEM and PARAMETER lines).
    public var extraMetadata: [(key: String, value: GGUFValue)]

    public init(name: String? = nil, outputType: WeightType = .f16, chatTemplate: String? = nil,
                extraMetadata: [(key: String, value: GGUFValue)] = []) {
        self.name = name
        self.outputType = outputType
        self.chatTemplate = chatTemplate
        self.extraMetadata = extraMetadata
    }
}

/// What a conversion produced.
public struct ConversionResult: Sendable {
    public var path: String
    public var architecture: String
    /// `general.file_type` label, e.g. `F16`, `Q4_K_S`.
    public var fileTypeName: String
    public var tensorCount: Int
    public var parameterCount: Int
    public var size: Int64
}

/// Converts a Hugging Face model folder (config.json, safetensors, tokenizer files) into a GGUF file
/// with the metadata keys and tensor names llama.cpp's convert_hf_to_gguf.py writes.
///
/// Memory stays bounded: safetensors are memory-mapped and read tensor by tensor, a chunk of rows at a
/// time (at most ``chunkElements`` floats), dropping source pages once converted, and the GGUF is written through ``GGUFStreamWriter``.
public enum HFConverter {
    /// Floats widened and quantized per step (16 MB of F32).
    static let chunkElements = 4 << 20

    /// Hugging Face `architectures` values that convert.
    public static var supportedArchitectures: [String] { Architecture.supported }

    /// Reads `directory`, writes `outputPath`. `progress` is called from the converting thread.
    public static func convert(directory: String, to outputPath: String, options: ConversionOptions = ConversionOptions(),
                               progress: (ConversionProgress) -> Void = { _ in }) throws(ImportError) -> ConversionResult {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .notADirectory(directory)
        }
        let config = try JSONFile(path: directory + "/config.json")
        let arch = try Architecture(config: config)
        let weights = try SafetensorsIndex(directory: directory)
        var tokenizer = try TokenizerImport(directory: directory, architecture: arch)
        if let template = options.chatTemplate {
            tokenizer.metadata.removeAll { $0.key == GGUFKey.chatTemplate }
            tokenizer.metadata.append((GGUFKey.chatTemplate, .string(template)))
        }

        // Plan every tensor before writing anything, so an unknown tensor or dtype fails fast.
        var plans: [(plan: TensorPlan, source: SafetensorsTensor, out: GGUFStreamWriter.Tensor)] = []
        for source in weights.tensors {
            guard let plan = try arch.plan(for: source.name) else { continue }
            guard source.sourceType != nil else { throw .unsupportedDType(tensor: source.name, dtype: source.dtype) }
            var dims = Array(source.shape.reversed())
            // Gemma's embedding can have rows past the tokenizer's vocabulary; llama.cpp drops them.
            if arch.name == "gemma3", plan.name == GGUFTensorName.tokenEmbedding, dims.count == 2, tokenizer.tokenCount < dims[1] {
                dims[1] = tokenizer.tokenCount
            }
            if case let .permuteHeads(heads) = plan.transform {
                let rows = source.shape.first ?? 0
                guard heads > 0, rows % (2 * heads) == 0 else {
                    throw .shapeMismatch(tensor: source.name, expected: [heads, 2, rows / max(1, 2 * heads)], actual: source.shape)
                }
            }
            let type = outputType(for: plan.name, dimensions: dims, options.outputType)
            plans.append((plan, source, GGUFStreamWriter.Tensor(name: plan.name, dimensions: dims, type: type)))
        }
        try checkRequired(plans.map(\.plan.name), arch: arch)

        let parameterCount = plans.reduce(0) { $0 + $1.out.dimensions.reduce(1, *) }
        var metadata: [(key: String, value: GGUFValue)] = [
            (GGUFKey.architecture, .string(arch.name)),
            (GGUFKey.generalType, .string("model")),
        ]
        let name = options.name ?? URL(fileURLWithPath: directory).lastPathComponent
        metadata.append((GGUFKey.name, .string(name)))
        metadata.append((GGUFKey.sizeLabel, .string(sizeLabel(parameterCount))))
        metadata += try arch.metadata(fileType: options.outputType.fileType)
        // BertModel and Qwen2Model call _try_set_pooling_type (sentence-transformers packagings).
        if arch.isEncoder || arch.name == "qwen2", let pooling = try poolingType(directory) {
            metadata.append((GGUFKey.poolingType(arch.name), .uint32(UInt32(pooling))))
        }
        metadata += tokenizer.metadata
        metadata.append((GGUFKey.quantizationVersion, .uint32(2)))
        metadata += options.extraMetadata

        let writer: GGUFStreamWriter
        do {
            writer = try GGUFStreamWriter(path: outputPath, metadata: metadata, tensors: plans.map(\.out))
        } catch {
            throw .gguf(error)
        }
        let total = Int64(plans.reduce(0) { $0 + ($1.out.byteCount ?? 0) })
        var report = ConversionProgress(tensorIndex: 0, tensorCount: plans.count, tensorName: "", completed: 0, total: total)
        let pool = ThreadPool(threads: ThreadPool.defaultThreadCount)
        for (index, entry) in plans.enumerated() {
            report.tensorIndex = index
            report.tensorName = entry.out.name
            try write(entry.plan, entry.source, as: entry.out, to: writer, pool: pool) { bytes in
                report.completed += Int64(bytes)
                progress(report)
            }
        }
        do { try writer.finish() } catch { throw .gguf(error) }
        return ConversionResult(path: outputPath, architecture: arch.name, fileTypeName: GGUFFileType.name(options.outputType.fileType),
                                tensorCount: plans.count, parameterCount: parameterCount, size: writer.bytesWritten)
    }

    /// convert_hf_to_gguf.py's rules: 1-D tensors, `*_norm.weight`, biases, position and token-type
    /// embeddings are F32; everything else takes the requested type when its rows fit the blocks.
    static func outputType(for name: String, dimensions: [Int], _ requested: WeightType) -> GGMLType {
        if dimensions.count <= 1 || name.hasSuffix("_norm.weight") || !name.hasSuffix(".weight") { return .f32 }
        if name.hasPrefix(GGUFTensorName.positionEmbeddingStem + ".") || name.hasPrefix(GGUFTensorName.tokenTypesStem + ".") {
            return .f32
        }
        return requested.type(forColumns: dimensions[0])
    }

    /// The tensors every model of the architecture needs, so a folder with missing shards fails here
    /// rather than at load time.
    static func checkRequired(_ names: [String], arch: Architecture) throws(ImportError) {
        let present = Set(names)
        var required = [GGUFTensorName.tokenEmbedding]
        let layers = arch.layerCount
        for b in 0 ..< layers {
            for t: GGUFTensorName.BlockStem in [.attnQ, .attnK, .attnV, .attnOutput, .ffnUp, .ffnDown] {
                required.append(GGUFTensorName.block(b, t, "weight"))
            }
        }
        if arch.isEncoder {
            required += [GGUFTensorName.positionEmbeddingStem + ".weight", GGUFTensorName.tokenEmbeddingNormStem + ".weight"]
        } else {
            required.append(GGUFTensorName.outputNorm)
        }
        if let missing = required.first(where: { !present.contains($0) }) { throw .missingTensor(missing) }
    }

    /// sentence-transformers' pooling module (modules.json → <path>/config.json), as llama.cpp's
    /// `_try_set_pooling_type` reads it: MEAN 1, CLS 2, LAST 3.
    static func poolingType(_ directory: String) throws(ImportError) -> Int? {
        guard let modules = FileManager.default.contents(atPath: directory + "/modules.json"),
              let list = (try? JSONSerialization.jsonObject(with: modules)) as? [[String: Any]],
              let module = list.first(where: { ($0["type"] as? String)?.hasSuffix("Pooling") == true }),
              let path = module["path"] as? String, !path.contains("..") else { return nil }
        let config = try JSONFile(path: directory + "/" + path + "/config.json")
        if config.bool("pooling_mode_mean_tokens") == true { return 1 }
        if config.bool("pooling_mode_cls_token") == true { return 2 }
        if config.bool("pooling_mode_lasttoken") == true { return 3 }
        switch config.string("pooling_mode") {
        case "mean": return 1
        case "cls": return 2
        case "lasttoken": return 3
        default: throw .unsupportedTokenizer(path: config.path, reason: "only mean, CLS and last-token pooling are supported")
        }
    }

    /// gguf-py's `size_label`: parameters rounded in K/M/B/T, e.g. `23M`.
    static func sizeLabel(_ count: Int) -> String {
        let c = Double(count)
        let (scale, suffix): (Double, String) = c > 1e12 ? (1e12, "T") : c > 1e9 ? (1e9, "B") : c > 1e6 ? (1e6, "M") : (1e3, "K")
        return "\(Int((c / scale).rounded(.toNearestOrEven)))\(suffix)"
    }

    /// Streams one tensor: chunks of output rows are gathered from the source (permuted if the plan
    /// says so), widened to F32, shifted, quantized across the pool, and written.
    static func write(_ plan: TensorPlan, _ source: SafetensorsTensor, as out: GGUFStreamWriter.Tensor,
                      to writer: GGUFStreamWriter, pool: ThreadPool, wrote: (Int) -> Void) throws(ImportError) {
        let columns = out.dimensions.first ?? 1
        let rows = out.dimensions.count <= 1 ? 1 : out.dimensions.dropFirst().reduce(1, *)
        let sourceType = source.sourceType!
        let sourceRowBytes = columns * sourceType.typeSize
        let outRowBytes = out.type.byteCount(elements: columns)!
        let rowsPerChunk = max(1, min(rows, chunkElements / max(columns, 1)))
        // Row r of the output reads source row sourceRow(r) (a 1-D bias permutes its elements).
        let elementPermute = source.shape.count == 1
        func sourceRow(_ r: Int) -> Int {
            guard case let .permuteHeads(heads) = plan.transform, !elementPermute else { return r }
            return permutedIndex(r, count: rows, heads: heads)
        }
        let floats = UnsafeMutablePointer<Float>.allocate(capacity: rowsPerChunk * columns)
        let encoded = UnsafeMutableRawPointer.allocate(byteCount: rowsPerChunk * outRowBytes, alignment: 64)
        defer { floats.deallocate(); encoded.deallocate() }
        // Planning picked a type whose blocks fit the rows, so quantizing a row cannot fail below.
        guard Quantizer.supportedTypes.contains(out.type), columns % out.type.blockSize == 0 else {
            throw .kernels(.badShape(tensor: out.name, rows: rows, cols: columns, type: out.type))
        }
        var start = 0
        while start < rows {
            let count = min(rowsPerChunk, rows - start)
            pool.parallelFor(count) { i in
                let dst = floats + i * columns
                Quantizer.widen(source.data + sourceRow(start + i) * sourceRowBytes, type: sourceType, count: columns, into: dst)
                if elementPermute, case let .permuteHeads(heads) = plan.transform {
                    // A 1-D Q/K bias: permute its elements like the rows of the weight.
                    let copy = [Float](UnsafeBufferPointer(start: dst, count: columns))
                    for e in 0 ..< columns { dst[e] = copy[permutedIndex(e, count: columns, heads: heads)] }
                }
                if plan.transform == .addOne { for e in 0 ..< columns { dst[e] += 1 } }
                _ = try? Quantizer.quantize(UnsafeBufferPointer(start: dst, count: columns), to: out.type, into: encoded + i * outRowBytes)
            }
            do { try writer.write(UnsafeRawBufferPointer(start: encoded, count: count * outRowBytes)) } catch { throw .gguf(error) }
            wrote(count * outRowBytes)
            // Rows map to themselves unless permuted within a head, so the chunk's source rows are done.
            if plan.transform == .none || plan.transform == .addOne {
                release(source, from: start * sourceRowBytes, to: (start + count) * sourceRowBytes)
            }
            start += count
        }
        release(source, from: 0, to: source.byteCount)
    }

    /// Drops converted source pages (bytes `from..<to` of the tensor) from this process: the mapping is
    /// read-only and file-backed, so the kernel rereads them if ever needed, and resident memory stays
    /// near the chunk buffers however large the model. Only whole pages inside the range are dropped.
    static func release(_ source: SafetensorsTensor, from: Int, to: Int) {
        let page = Int(getpagesize())
        let start = (source.offset + from + page - 1) / page * page
        let end = (source.offset + to) / page * page
        guard end > start else { return }
        _ = posix_madvise(UnsafeMutableRawPointer(mutating: source.file.base + start), end - start, POSIX_MADV_DONTNEED)
    }

    /// Index mapping of llama.cpp's `LlamaModel.permute` for `count` rows in `heads` heads: output row
    /// (h, i, j) with i < headDim/2, j < 2 comes from source row (h, j, i).
    static func permutedIndex(_ r: Int, count: Int, heads: Int) -> Int {
        let headDim = count / heads, half = headDim / 2
        let h = r / headDim, rem = r % headDim
        return h * headDim + (rem % 2) * half + rem / 2
    }
}
