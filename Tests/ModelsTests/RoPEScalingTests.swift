import Foundation
import Models
import Testing

/// The RoPE scaling math, pair by pair, against closed forms (the end-to-end check against llama.cpp is
/// ArchitectureFixtureTests).
struct RoPEScalingTests {
    static let d = 64
    static func unscaled(_ i: Int, base: Double = 10000) -> Double { pow(base, -2 * Double(i) / Double(d)) }

    @Test func unscaledIsTheClassicFrequencies() {
        let r = RoPEFrequencies.make(base: 10000, rotaryDims: Self.d)
        #expect(r.frequencies.count == Self.d / 2)
        #expect(r.magnitude == 1)
        for i in 0 ..< Self.d / 2 { #expect(abs(r.frequencies[i] - Self.unscaled(i)) <= 1e-15) }
    }

    @Test func linearDividesEveryFrequency() {
        let r = RoPEFrequencies.make(base: 10000, rotaryDims: Self.d, scaling: .linear(factor: 4))
        for i in 0 ..< Self.d / 2 { #expect(abs(r.frequencies[i] - Self.unscaled(i) / 4) <= 1e-15) }
        #expect(r.magnitude == 1)
    }

    @Test func factorsDividePairByPair() {
        let factors = (0 ..< Self.d / 2).map { Float(1 + $0) }
        let r = RoPEFrequencies.make(base: 10000, rotaryDims: Self.d, factors: factors, attentionFactor: 1.25)
        for i in 0 ..< Self.d / 2 { #expect(abs(r.frequencies[i] - Self.unscaled(i) / Double(1 + i)) <= 1e-15) }
        #expect(r.magnitude == 1.25)
    }

    /// Llama 3.1's reference numbers (factor 8, low 1, high 4, original 8192, base 500000, head 128): the fastest
    /// pairs keep their frequency, the slowest are divided by 8, and the blend in between is monotone.
    @Test func llama3FactorsAreTheConvertersBands() {
        let f = RoPEFrequencies.llama3Factors(base: 500_000, rotaryDims: 128, factor: 8, lowFreqFactor: 1,
                                              highFreqFactor: 4, originalContext: 8192)
        #expect(f.count == 64)
        #expect(f.first == 1)
        #expect(f.last == 8)
        // Wavelength 2π·base^(2i/d) crosses 8192/4 = 2048 and 8192 between these pairs.
        let firstBlend = f.firstIndex { $0 != 1 }!, firstFull = f.firstIndex { $0 == 8 }!
        #expect(firstBlend < firstFull)
        for i in firstBlend ..< firstFull - 1 { #expect(f[i] < f[i + 1]) }
        for i in 0 ..< 64 {
            let wavelength = 2 * Double.pi * pow(500_000, 2 * Double(i) / 128)
            if wavelength < 2048 { #expect(f[i] == 1) }
            if wavelength > 8192 { #expect(f[i] == 8) }
        }
    }

    /// YaRN: the correction range for head 64, base 10000, original context 256 is pairs [0, 13]
    /// (corr(32) = 0.84, corr(1) = 12.9); pairs before it keep the unscaled frequency, pairs after it are
    /// divided by the factor, and the magnitude is 0.1 ln(factor) + 1.
    @Test func yarnRampsBetweenTheCorrectionDims() {
        let (low, high) = RoPEFrequencies.yarnCorrectionDims(rotaryDims: Self.d, originalContext: 256, base: 10000,
                                                              betaFast: 32, betaSlow: 1)
        #expect(low == 0)
        #expect(high == 13)
        let r = RoPEFrequencies.make(base: 10000, rotaryDims: Self.d, scaling: .yarn(factor: 4, originalContext: 256))
        #expect(abs(r.frequencies[0] - Self.unscaled(0)) <= 1e-15)
        for i in 13 ..< Self.d / 2 { #expect(abs(r.frequencies[i] - Self.unscaled(i) / 4) <= 1e-12 * Self.unscaled(i)) }
        for i in 1 ..< 13 {
            let mix = 1 - Double(i) / 13
            let want = Self.unscaled(i) * (0.25 * (1 - mix) + mix)
            #expect(abs(r.frequencies[i] - want) <= 1e-6 * want)
        }
        #expect(abs(r.magnitude - (1 + 0.1 * logf(4))) < 1e-6)
        // A factor of 1 is no scaling at all.
        #expect(RoPEFrequencies.make(base: 10000, rotaryDims: Self.d, scaling: .yarn(factor: 1, originalContext: 256))
            == RoPEFrequencies.make(base: 10000, rotaryDims: Self.d))
    }
}
