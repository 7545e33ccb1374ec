import Foundation
import GGUF
import Testing
import TestSupport

/// The reader on the three catalog models (pulled into the store; see RealModels).
@Suite struct RealModelTests {
    struct Expected: Sendable, CustomStringConvertible {
        var name: String, arch: String, tensors: Int, vocab: Int, fileType: String, types: Set<GGMLType>
        var description: String { name }
    }

    static let models = [
        Expected(name: "smollm2:135m", arch: "llama", tensors: 272, vocab: 49152, fileType: "Q4_1", types: [.q4_1, .q8_0, .f32]),
        Expected(name: "qwen2.5-coder:0.5b", arch: "qwen2", tensors: 291, vocab: 151_936, fileType: "Q4_K_M",
                 types: [.q5_0, .q8_0, .q6_K, .q4_K, .f32]),
        Expected(name: "gemma3:270m", arch: "gemma3", tensors: 236, vocab: 262_144, fileType: "Q4_K_M",
                 types: [.q5_0, .q4_K, .q8_0, .q6_K, .f32]),
    ]

    @Test(arguments: models)
    func opensAndDescribes(model: Expected) throws {
        guard let path = try RealModels.pathOrSkip(model.name) else { return }
        let start = ContinuousClock.now
        let file = try GGUFFile(path: path)
        let elapsed = ContinuousClock.now - start
        print("GGUF open \(model.name): \(file.fileSize) bytes, \(file.metadata.count) keys, \(file.tensors.count) tensors, header \(file.dataOffset) bytes, in \(elapsed)")
        #if !DEBUG
        // Only the header is parsed (the tensor data stays mapped), so even the largest model opens
        // in tens of milliseconds; 1 s leaves room for a loaded CI machine.
        #expect(elapsed < .seconds(1), "opening \(model.name) took \(elapsed)")
        #endif
        #expect(file.version == 3)
        #expect(file.architecture == model.arch)
        #expect(file.tensors.count == model.tensors)
        #expect(file.array(GGUFKey.tokens)?.count == model.vocab)
        #expect(Set(file.tensors.map(\.type)) == model.types)
        #expect(GGUFFileType.name(file.int(GGUFKey.fileType) ?? -1) == model.fileType)
        #expect(file.alignment == 32 && file.dataOffset % 32 == 0)
        // The tensors tile the data section: the last one ends at (or just before) the end of the file.
        let end = file.tensors.map { file.dataOffset + $0.offset + $0.byteCount }.max()!
        #expect(end <= file.fileSize && file.fileSize - end < file.alignment)
        let embd = try file.requireTensor(GGUFTensorName.tokenEmbedding)
        #expect(embd.dimensions == [try file.requireInt(GGUFKey.embeddingLength(model.arch)), model.vocab])
        let summary = ModelSummary(file)
        #expect(summary.vocabSize == model.vocab && summary.fileType == model.fileType)
        #expect(summary.parameters == file.tensors.reduce(0) { $0 + $1.elementCount })
        #expect(summary.tensorTypes.values.reduce(0, +) == model.tensors)
    }

    @Test func parameterLabels() throws {
        guard let path = try RealModels.pathOrSkip("smollm2:135m") else { return }
        let s = ModelSummary(try GGUFFile(path: path))
        #expect(s.parameters == 134_515_008 && s.parameterLabel == "134.5M")
        #expect(s.tokenizer == "gpt2" && s.tokenizerPre == "smollm" && s.chatTemplate != nil)
    }
}
