import Foundation
import GGUF
import Kernels

/// The mistral3 architecture (Ministral 3 3B/8B/14B, Mistral Small 3.1/3.2 and Magistral text models).
///
/// A llama (RoPE NORMAL, SiLU-gated FFN, optional `rope_freqs`, pre-norm blocks) with Llama 4's attention
/// temperature, as llama.cpp's `src/models/mistral3.cpp` applies it: when `attention.temperature_scale` is set,
/// each query row at position p is multiplied by `1 + scale · ln(floor(p / n) + 1)` with n
/// `rope.scaling.original_context_length`, so attention sharpens slowly at long range. SwiftLM scales Q before
/// RoPE rather than after (RoPE is linear per row: the same numbers up to rounding). YaRN's
/// `yarn_log_multiplier` and non-default beta keys are refused until they are tested.
enum Mistral3 {
    static let architecture = "mistral3"

    static func load(_ gguf: GGUFFile, pool: ThreadPool) throws(ModelError) -> any LanguageModel {
        let temperature = try Temperature(MetadataReader(gguf: gguf, arch: architecture))
        return try TransformerModel.load(gguf, pool: pool, architecture: architecture, ropeNeox: false, configure: configure) {
            b, i, c throws(ModelError) in Block(llama: try Llama.block(b, layer: i, c), temperature: temperature)
        }
    }

    private static func configure(_ c: inout TransformerConfig, _ m: MetadataReader, _ b: WeightBinder) throws(ModelError) {
        let a = architecture
        c.ropeFactors = try b.optionalVector(GGUFTensorName.ropeFrequencies, count: c.rotaryDims / 2, .optional)
        if let s = try m.optionalFloat(GGUFKey.attentionScale(a)), s != 0 { c.attentionScale = s }
        if try m.float(GGUFKey.ropeScalingYarnLogMultiplier(a), default: 0) != 0 {
            throw .invalidMetadata(key: GGUFKey.ropeScalingYarnLogMultiplier(a), reason: "YaRN's log multiplier is not supported yet")
        }
        for (key, standard) in [(GGUFKey.ropeScalingYarnBetaFast(a), Float(32)), (GGUFKey.ropeScalingYarnBetaSlow(a), 1)]
            where try m.float(key, default: standard) != standard {
            throw .invalidMetadata(key: key, reason: "only the default YaRN beta (\(standard)) is supported yet")
        }
    }

    /// Llama 4's per-position query scale (llama.cpp's `llm_graph_input_attn_temp`).
    struct Temperature: Sendable {
        var scale: Float
        /// Positions per step of the logarithm (`rope.scaling.original_context_length`).
        var floor: Int

        /// nil when `attention.temperature_scale` is absent or 0.
        init?(_ m: MetadataReader) throws(ModelError) {
            let a = m.arch
            let scale = try m.float(GGUFKey.attentionTemperatureScale(a), default: 0)
            guard scale != 0 else { return nil }
            let key = GGUFKey.ropeScalingOriginalContext(a)
            let floor = try m.int(key, default: try m.int(GGUFKey.contextLength(a)))
            guard floor > 0 else { throw .invalidMetadata(key: key, reason: "must be positive for the attention temperature") }
            self.scale = scale
            self.floor = floor
        }

        /// In double where llama.cpp computes in double, so the factor matches to the last bit.
        func factor(position p: Int) -> Float {
            Float(log(Double(floorf(Float(p) / Float(floor))) + 1) * Double(scale) + 1)
        }
    }

    /// Llama's block with the query rows scaled between the projection and attention.
    struct Block: TransformerBlock {
        var llama: PreNormBlock<GatedFFN>
        var temperature: Temperature?

        func forward(_ c: BlockContext) {
            let s = c.scratch, l = llama
            l.attentionNorm(c, s.x, into: s.h)
            l.attention.project(c, s.h)
            if let temperature {
                let qDim = l.attention.wq.rows
                c.forEachRow { row, position in
                    let q = s.q + row * qDim
                    Ops.scale(q, q, by: temperature.factor(position: position), count: qDim)
                }
            }
            l.attention.attend(c, into: s.o)
            c.addResidual(s.o)
            l.ffnNorm(c, s.x, into: s.h)
            l.ffn(c, s.h, into: s.o)
            c.addResidual(s.o)
        }
    }
}
