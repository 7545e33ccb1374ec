import Foundation
import GGUF
import Kernels
import Models
import TestSupport

/// Tiny random-weight GGUF models of each architecture, built in memory with TestSupport's writer.
struct TinyModel {
    var arch: String
    var embd = 32
    var heads = 4
    var kvHeads = 2
    var headDim = 8
    var ffn = 48
    var layers = 2
    var vocab = 64
    var slidingWindow = 4
    var seed: UInt64 = 42
    /// Tensors to leave out or replace, to provoke load errors.
    var omit: Set<String> = []
    var reshape: [String: [Int]] = [:]
    /// Values to store instead of the random ones (the random draw still happens, so other tensors keep theirs).
    var values: [String: [Float]] = [:]

    /// Deterministic xorshift values in [-scale, scale].
    private struct Random {
        var state: UInt64
        mutating func next(_ scale: Float) -> Float {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    func metadata() -> [(key: String, value: GGUFValue)] {
        var m: [(key: String, value: GGUFValue)] = [
            (GGUFKey.architecture, .string(arch)),
            (GGUFKey.contextLength(arch), .uint32(2048)),
            (GGUFKey.embeddingLength(arch), .uint32(UInt32(embd))),
            (GGUFKey.blockCount(arch), .uint32(UInt32(layers))),
            (GGUFKey.feedForwardLength(arch), .uint32(UInt32(ffn))),
            (GGUFKey.headCount(arch), .uint32(UInt32(heads))),
            (GGUFKey.headCountKV(arch), .uint32(UInt32(kvHeads))),
            (GGUFKey.rmsEpsilon(arch), .float32(1e-6)),
            (GGUFKey.ropeFreqBase(arch), .float32(10000)),
        ]
        if headDim * heads != embd || arch == "gemma3" {
            m.append((GGUFKey.keyLength(arch), .uint32(UInt32(headDim))))
            m.append((GGUFKey.valueLength(arch), .uint32(UInt32(headDim))))
        }
        if arch == "gemma3" {
            m.append((GGUFKey.slidingWindow(arch), .uint32(UInt32(slidingWindow))))
            // Period 2: layer 0 local, layer 1 global, so both paths run in a 2-layer model.
            m.append((GGUFKey.slidingWindowPattern(arch), .uint32(2)))
        }
        return m
    }

    /// (name, GGUF dims) of every tensor the architecture has.
    func tensorShapes() -> [(String, [Int])] {
        let q = heads * headDim, kv = kvHeads * headDim
        var t: [(String, [Int])] = [(GGUFTensorName.tokenEmbedding, [embd, vocab]), (GGUFTensorName.outputNorm, [embd])]
        if arch == "qwen2" { t.append((GGUFTensorName.output, [embd, vocab])) } // llama / gemma3 stay tied
        for i in 0 ..< layers {
            func b(_ s: GGUFTensorName.BlockTensor, _ d: [Int]) { t.append((GGUFTensorName.block(i, s), d)) }
            b(.attnNorm, [embd]); b(.attnQ, [embd, q]); b(.attnK, [embd, kv]); b(.attnV, [embd, kv])
            b(.attnOutput, [q, embd]); b(.ffnNorm, [embd])
            b(.ffnGate, [embd, ffn]); b(.ffnUp, [embd, ffn]); b(.ffnDown, [ffn, embd])
            if arch == "qwen2" { b(.attnQBias, [q]); b(.attnKBias, [kv]); b(.attnVBias, [kv]) }
            if arch == "gemma3" {
                b(.attnQNorm, [headDim]); b(.attnKNorm, [headDim])
                b(.postAttentionNorm, [embd]); b(.postFFNNorm, [embd])
            }
        }
        return t
    }

    /// (name, GGUF dims, F32 values) of every tensor the file holds, in file order.
    func weights() -> [(name: String, dims: [Int], values: [Float])] {
        var rng = Random(state: seed)
        var out: [(name: String, dims: [Int], values: [Float])] = []
        for (name, shape) in tensorShapes() where !omit.contains(name) {
            let dims = reshape[name] ?? shape
            let count = dims.reduce(1, *)
            let isNorm = dims.count == 1 && !name.hasSuffix(".bias")
            let drawn = (0 ..< count).map { _ in isNorm ? 1 + rng.next(0.2) : rng.next(0.5) }
            out.append((name, dims, values[name] ?? drawn))
        }
        return out
    }

    func file() throws -> GGUFFile {
        var tensors: [GGUFWriter.Tensor] = []
        for (name, dims, values) in weights() {
            let bytes = values.flatMap { v -> [UInt8] in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
            tensors.append(.init(name: name, dimensions: dims, type: .f32, data: bytes))
        }
        let writer = GGUFWriter(metadata: metadata(), tensors: tensors)
        return try GGUFFile(mapping: MappedFile(copying: writer.bytes(), name: "tiny-\(arch).gguf"))
    }

    func load(pool: ThreadPool) throws -> any LanguageModel {
        try ModelRegistry.load(try file(), pool: pool)
    }
}
