import Foundation

/// The rotation one layer's RoPE applies: pair `i` of a head at position `p` turns by `p · frequencies[i]`,
/// and the rotated values are scaled by `magnitude` (YaRN's and LongRoPE's attention factor).
///
/// Every scaling scheme llama.cpp implements for these models reduces to this: in `ggml_rope_cache_init` the
/// angle of pair `i` is `p · base^(-2i/d) / ff[i]` (ff: per-pair factors from a `rope_freqs` /
/// `rope_factors_*` tensor), interpolated by `freq_scale` and, with YaRN, mixed back towards the unscaled
/// angle on the high-frequency pairs (a linear ramp between two "correction dims"). All of that is linear in
/// `p`, so it is folded into one frequency per pair, computed once at load.
package struct RoPEFrequencies: Sendable, Equatable {
    /// Radians per position for each rotated pair, `[rotaryDims / 2]`; Double so long positions keep precision.
    package var frequencies: [Double]
    /// Multiplies cos and sin (1 unless YaRN or an attention factor applies).
    package var magnitude: Float

    package init(frequencies: [Double], magnitude: Float) {
        self.frequencies = frequencies
        self.magnitude = magnitude
    }
}

/// How `<arch>.rope.scaling.*` (and the factor tensors) stretch RoPE past the trained context.
package enum RoPEScaling: Sendable, Equatable {
    case none
    /// Positions divided by `factor` (llama.cpp `freq_scale = 1 / factor`).
    case linear(factor: Float)
    /// YaRN (arXiv 2309.00071): interpolate low frequencies by `1 / factor`, keep high ones, and scale the
    /// magnitude by `0.1 ln(factor) + 1`. `originalContext` is `rope.scaling.original_context_length`.
    case yarn(factor: Float, originalContext: Int, betaFast: Float = 32, betaSlow: Float = 1)

    /// The scale llama.cpp applies to positions (`freq_scale`).
    package var frequencyScale: Float {
        switch self {
        case .none: return 1
        case let .linear(factor), let .yarn(factor, _, _, _): return factor > 0 ? 1 / factor : 1
        }
    }
}

extension RoPEFrequencies {
    /// Frequencies for `rotaryDims` rotated dims at `base`, optionally divided pair by pair by `factors`
    /// (llama3's `rope_freqs.weight`, LongRoPE's short or long factors), under `scaling`, with the extra
    /// attention factor `attentionFactor` (`rope.scaling.attn_factor`, LongRoPE's magnitude).
    ///
    /// Conventions follow llama.cpp (`ggml_rope_yarn_corr_dims`, `rope_yarn`, `llama_context` for YaRN's
    /// `attn_factor`): the ramp runs over pair indices between `floor(corr(betaFast))` and
    /// `ceil(corr(betaSlow))`, where `corr(b) = d · ln(ctx / (2π b)) / (2 ln base)`.
    package static func make(base: Float, rotaryDims: Int, factors: [Float]? = nil, scaling: RoPEScaling = .none,
                     attentionFactor: Float = 1) -> RoPEFrequencies {
        let half = rotaryDims / 2
        let freqScale = scaling.frequencyScale
        var ramp = [Float](repeating: 0, count: half)  // 1 = keep the unscaled (extrapolated) angle
        var magnitude = attentionFactor
        if case let .yarn(factor, original, betaFast, betaSlow) = scaling, factor > 1 {
            let (low, high) = yarnCorrectionDims(rotaryDims: rotaryDims, originalContext: original, base: base,
                                                 betaFast: betaFast, betaSlow: betaSlow)
            for i in 0 ..< half {
                let y = (Float(i) - low) / max(0.001, high - low)
                ramp[i] = 1 - min(1, max(0, y))
            }
            // llama.cpp sets attn_factor = mscale / (1 + 0.1 ln factor) and rope_yarn multiplies it back by
            // (1 + 0.1 ln(1 / freq_scale)): the net magnitude is YaRN's mscale, 0.1 ln(factor) + 1.
            let mscale = 0.1 * logf(factor) + 1
            magnitude *= mscale / (1 + 0.1 * logf(factor)) * (1 + 0.1 * logf(1 / freqScale))
        }
        var freqs = [Double](repeating: 0, count: half)
        for i in 0 ..< half {
            let extrapolated = pow(Double(base), -2 * Double(i) / Double(rotaryDims)) / Double(factors?[i] ?? 1)
            let mix = Double(ramp[i])
            freqs[i] = extrapolated * (Double(freqScale) * (1 - mix) + mix)
        }
        return RoPEFrequencies(frequencies: freqs, magnitude: magnitude)
    }

    /// YaRN's correction range in pair indices: `[floor(corr(betaFast)), ceil(corr(betaSlow))]`, clamped
    /// to `[0, rotaryDims - 1]` (llama.cpp `ggml_rope_yarn_corr_dims`, in float as it computes them).
    package static func yarnCorrectionDims(rotaryDims: Int, originalContext: Int, base: Float, betaFast: Float,
                                   betaSlow: Float) -> (low: Float, high: Float) {
        func corr(_ rotations: Float) -> Float {
            Float(rotaryDims) * logf(Float(originalContext) / (rotations * 2 * Float.pi)) / (2 * logf(base))
        }
        return (max(0, floorf(corr(betaFast))), min(Float(rotaryDims - 1), ceilf(corr(betaSlow))))
    }

    /// Llama 3.1's per-pair divisors, as llama.cpp's converter writes them into `rope_freqs.weight`: pairs with
    /// a wavelength shorter than `originalContext / highFreqFactor` keep theirs, longer than
    /// `originalContext / lowFreqFactor` are divided by `factor`, and a smooth blend in between.
    package static func llama3Factors(base: Float, rotaryDims: Int, factor: Float, lowFreqFactor: Float,
                              highFreqFactor: Float, originalContext: Int) -> [Float] {
        let old = Double(originalContext)
        return (0 ..< rotaryDims / 2).map { i in
            let wavelength = 2 * Double.pi * pow(Double(base), 2 * Double(i) / Double(rotaryDims))
            if wavelength < old / Double(highFreqFactor) { return 1 }
            if wavelength > old / Double(lowFreqFactor) { return factor }
            let smooth = (old / wavelength - Double(lowFreqFactor)) / Double(highFreqFactor - lowFreqFactor)
            return Float(1 / ((1 - smooth) / Double(factor) + smooth))
        }
    }
}
